"""Faults, restarts and the loopback guard, seen through the official google-ads SDK."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from google.ads.googleads.errors import GoogleAdsException
from google.api_core import exceptions as api_exceptions

from ad_emulators.faults import FaultPlan
from safepassage.adapters.platform_clients import google_ads_client as build_client
from safepassage.orchestration.connections import google_ads_settings_from_descriptor
from tests.adapters.google_ads_builders import campaign_tree, error_codes, search
from tests.emulator_fixtures import NonLoopbackConnection

MUTATE = "/google.ads.googleads.v26.services.GoogleAdsService/Mutate"
FAILURE_KEY = "google.ads.googleads.v26.errors.googleadsfailure-bin"


def plan(kind, *, match="*GoogleAdsService/Mutate", nth=(1,), **params):
    rule = {"platform": "google_ads", "match": match, "kind": kind, "nth": list(nth), "params": params}
    return FaultPlan.from_dict({"faults": [rule]})


def mutate_tree(client, customer_id, name="PL uk", **options):
    return client.get_service("GoogleAdsService").mutate(
        customer_id=customer_id, mutate_operations=campaign_tree(client, customer_id, name, **options)
    )


def campaign_names(client, customer_id):
    return [r.campaign.name for r in search(client, customer_id, "SELECT campaign.name FROM campaign")]


def failure_from_trailers(error, client):
    """RESOURCE_EXHAUSTED and INTERNAL are not wrapped by the SDK: the failure is in the trailers."""
    trailers = dict(error.response.trailing_metadata())
    return type(client.get_type("GoogleAdsFailure")).deserialize(trailers[FAILURE_KEY])


def test_resource_exhausted_carries_quota_error_and_retry_delay(emulators, google_ads_client):
    customer_id = emulators.customer_ids[0]
    emulators.faults = plan("resource_exhausted", retry_delay_seconds=30)

    with pytest.raises(api_exceptions.ResourceExhausted) as raised:
        mutate_tree(google_ads_client, customer_id)

    failure = failure_from_trailers(raised.value, google_ads_client)
    assert error_codes(failure) == [("quota_error", "RESOURCE_TEMPORARILY_EXHAUSTED")]
    assert failure.errors[0].details.quota_error_details.retry_delay.seconds == 30
    assert campaign_names(google_ads_client, customer_id) == []
    mutate_tree(google_ads_client, customer_id)  # the retry goes through
    assert campaign_names(google_ads_client, customer_id) == ["PL uk"]
    logged = emulators.log.entries(platform="google_ads", target_contains="GoogleAdsService/Mutate")
    assert [(e.outcome, e.fault, e.status) for e in logged] == [
        ("fault", "resource_exhausted", "RESOURCE_EXHAUSTED"),
        ("ok", None, "OK"),
    ]


def test_transient_error_is_a_google_ads_exception(emulators, google_ads_client):
    emulators.faults = plan("transient", match="*GoogleAdsService/Search*")
    with pytest.raises(GoogleAdsException) as raised:
        search(google_ads_client, emulators.customer_ids[0], "SELECT campaign.id FROM campaign")
    assert error_codes(raised.value.failure) == [("internal_error", "TRANSIENT_ERROR")]
    assert raised.value.error.code().name == "UNAVAILABLE"


def test_internal_and_unavailable_surface_as_api_core_exceptions(emulators, google_ads_client):
    customer_id = emulators.customer_ids[0]
    emulators.faults = plan("internal")
    with pytest.raises(api_exceptions.InternalServerError) as internal:
        mutate_tree(google_ads_client, customer_id)
    assert error_codes(failure_from_trailers(internal.value, google_ads_client)) == [
        ("internal_error", "INTERNAL_ERROR")
    ]
    emulators.faults = plan("unavailable")
    with pytest.raises(api_exceptions.ServiceUnavailable):
        mutate_tree(google_ads_client, customer_id)
    assert campaign_names(google_ads_client, customer_id) == []


def test_response_lost_after_commit_leaves_the_write_committed(emulators, google_ads_client):
    customer_id = emulators.customer_ids[0]
    emulators.faults = plan("response_lost_after_commit")

    with pytest.raises(api_exceptions.ServiceUnavailable):
        mutate_tree(google_ads_client, customer_id, "MD ro")

    assert campaign_names(google_ads_client, customer_id) == ["MD ro"]
    with pytest.raises(GoogleAdsException) as retried:  # a blind retry collides with what was committed
        mutate_tree(google_ads_client, customer_id, "MD ro")
    assert ("campaign_budget_error", "DUPLICATE_NAME") in error_codes(retried.value.failure)


def test_partial_failure_fault_fails_the_chosen_operations(emulators, google_ads_client):
    customer_id = emulators.customer_ids[0]
    emulators.faults = plan("partial_failure", match="*LabelService/MutateLabels", operation_indices=[1])
    operations = []
    for name in ("first", "second", "third"):
        label_operation = google_ads_client.get_type("LabelOperation")
        label_operation.create.name = name
        operations.append(label_operation)

    response = google_ads_client.get_service("LabelService").mutate_labels(
        request={"customer_id": customer_id, "operations": operations, "partial_failure": True}
    )

    assert [bool(r.resource_name) for r in response.results] == [True, False, True]
    failure = type(google_ads_client.get_type("GoogleAdsFailure")).deserialize(
        response.partial_failure_error.details[0].value
    )
    assert error_codes(failure) == [("database_error", "CONCURRENT_MODIFICATION")]
    assert failure.errors[0].location.field_path_elements[0].index == 1


def test_state_survives_a_restart(tmp_path, start_emulators, loopback_only):
    first = start_emulators(tmp_path / "state")
    first.clock.set(dt.datetime(2022, 3, 25, 9, tzinfo=dt.UTC))
    client = build_client(google_ads_settings_from_descriptor(first.descriptor))
    customer_id = first.customer_ids[0]
    mutate_tree(client, customer_id, "AT uk")
    first.clock.set(dt.datetime(2022, 4, 2, tzinfo=dt.UTC))
    before = search(
        client,
        customer_id,
        "SELECT metrics.impressions FROM customer WHERE segments.date BETWEEN '2022-03-25' AND '2022-04-01'",
    )
    first.stop()

    second = start_emulators(tmp_path / "state")
    client = build_client(google_ads_settings_from_descriptor(second.descriptor))
    assert second.clock.now() == dt.datetime(2022, 4, 2, tzinfo=dt.UTC)
    assert campaign_names(client, customer_id) == ["AT uk"]
    after = search(
        client,
        customer_id,
        "SELECT metrics.impressions FROM customer WHERE segments.date BETWEEN '2022-03-25' AND '2022-04-01'",
    )
    assert after[0].metrics.impressions == before[0].metrics.impressions > 0
    with pytest.raises(GoogleAdsException) as duplicate:
        mutate_tree(client, customer_id, "AT uk", budget_label="another budget")
    assert error_codes(duplicate.value.failure)[0] == ("campaign_error", "DUPLICATE_CAMPAIGN_NAME")
    second.stop()


def test_loopback_guard_refuses_leaks(emulators, loopback_only):
    with pytest.raises(NonLoopbackConnection):
        socket.create_connection(("graph.facebook.com", 443), timeout=1)
    with pytest.raises(NonLoopbackConnection):
        socket.socket().connect(("203.0.113.7", 443))
    settings = google_ads_settings_from_descriptor(emulators.descriptor)
    live = build_client(
        settings.__class__(
            client_config={**settings.client_config, "endpoint": "googleads.googleapis.com:443"},
        )
    )
    with pytest.raises(NonLoopbackConnection):
        live.get_service("GoogleAdsService")
    assert len(loopback_only.attempts) == 3
    loopback_only.attempts.clear()  # provoked on purpose; any other leak fails the test at teardown


def test_requests_without_valid_credentials_are_refused(emulators, google_ads_client):
    settings = google_ads_settings_from_descriptor(emulators.descriptor)
    wrong_token = build_client(
        settings.__class__(
            client_config={**settings.client_config, "developer_token": "not-the-token"},
            ca_cert=settings.ca_cert,
        )
    )
    with pytest.raises(GoogleAdsException) as raised:
        search(wrong_token, emulators.customer_ids[0], "SELECT campaign.id FROM campaign")
    assert error_codes(raised.value.failure) == [("authentication_error", "DEVELOPER_TOKEN_INVALID")]
    with pytest.raises(GoogleAdsException) as foreign:
        search(google_ads_client, "1234567890", "SELECT campaign.id FROM campaign")
    assert error_codes(foreign.value.failure) == [("authorization_error", "USER_PERMISSION_DENIED")]


def test_methods_the_sandbox_does_not_emulate_are_refused_and_logged(emulators, google_ads_client):
    suggest = google_ads_client.get_service("GeoTargetConstantService")
    with pytest.raises(api_exceptions.MethodNotImplemented):
        suggest.suggest_geo_target_constants(request={"locale": "en", "country_code": "PL"})
    (entry,) = emulators.log.entries(platform="google_ads", target_contains="SuggestGeoTargetConstants")
    assert (entry.outcome, entry.status) == ("error", "UNIMPLEMENTED")
