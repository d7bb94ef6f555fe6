"""The project's one client factory, fed from the emulators descriptor the way DAGs are."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.session import FacebookSession

from safepassage.adapters.platform_clients import google_ads_client, meta_api
from safepassage.orchestration.connections import google_ads_settings, meta_settings
from tests.adapters.google_ads_builders import campaign_tree, search


def test_clients_from_the_descriptor_environment_reach_both_emulators(emulators, emulators_descriptor_env):
    hook_before = sys.excepthook
    google_settings, facebook_settings = google_ads_settings(), meta_settings()

    google = google_ads_client(google_settings)
    customer_id = google_settings.customer_ids[0]
    google.get_service("GoogleAdsService").mutate(
        customer_id=customer_id, mutate_operations=campaign_tree(google, customer_id, "PL ru")
    )
    assert [r.campaign.name for r in search(google, customer_id, "SELECT campaign.name FROM campaign")] == [
        "PL ru"
    ]

    meta_api(facebook_settings)
    account = AdAccount(facebook_settings.ad_account_ids[0])
    account.create_campaign(
        params={
            "name": "PL ru",
            "objective": "OUTCOME_AWARENESS",
            "special_ad_categories": [],
            "status": "PAUSED",
        }
    )
    assert [c["name"] for c in account.get_campaigns(fields=["name"])] == ["PL ru"]

    assert emulators.meta.url == FacebookSession.GRAPH
    assert sys.excepthook is hook_before  # crash_log=False: no crash reports to graph.facebook.com
    entries = emulators.log.entries()
    assert {e.platform for e in entries} == {"google_ads", "meta"}
    logged = " ".join(f"{e.target} {e.detail} {e.extra}" for e in entries)
    assert facebook_settings.access_token not in logged and facebook_settings.app_secret not in logged
    assert google_settings.client_config["developer_token"] not in logged


def test_meta_requests_time_out_on_a_silent_server_and_the_error_carries_no_token():
    """A Graph server that accepts the connection and never answers: the call fails (the SDK's
    default would wait forever), and the error the kill switch sees has no credentials in it."""
    import dataclasses
    import socket

    import pytest

    from safepassage.adapters.meta_kill_switch import MetaAdAccount
    from safepassage.adapters.platform_clients import MetaSettings
    from safepassage.adapters.redaction import PlatformError

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        settings = MetaSettings(
            app_id="42",
            app_secret="app-secret-never-shown",
            access_token="token-never-shown",
            graph_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
        )
        api = meta_api(dataclasses.replace(settings, timeout=(1.0, 0.5)))
        with pytest.raises(PlatformError, match="ReadTimeout") as failure:
            MetaAdAccount(api, "act_1").pause_country("PL")
    assert "token-never-shown" not in str(failure.value) and failure.value.__cause__ is None
    assert failure.value.__suppress_context__, "the SDK's exception (with the URL) is not chained"
    assert meta_api(settings)._session.timeout == (10.0, 120.0)


def test_project_client_factory_drives_the_shared_emulators(emulators: Any, meta_api: Any) -> None:
    """The project's own factory (descriptor -> settings -> FacebookAdsApi) against the shared emulators,
    with the loopback guard on: a campaign goes in, a week of simulated delivery comes out."""
    account_id = emulators.descriptor["meta"]["ad_account_ids"][0]
    ad_account = AdAccount(account_id, api=meta_api)
    campaign = ad_account.create_campaign(
        params={"name": "factory", "objective": "OUTCOME_AWARENESS", "special_ad_categories": []}
    )
    ad_set = ad_account.create_ad_set(
        params={
            "name": "UA",
            "campaign_id": campaign["id"],
            "daily_budget": 2000,
            "targeting": {"geo_locations": {"countries": ["UA"]}, "locales": [52]},
        }
    )
    creative = ad_account.create_ad_creative(
        params={
            "name": "c",
            "object_story_spec": {"page_id": "1", "link_data": {"link": "https://la-strada.org.ua/"}},
        }
    )
    ad_account.create_ad(
        params={"name": "a", "adset_id": ad_set["id"], "creative": {"creative_id": creative["id"]}}
    )
    emulators.clock.advance(dt.timedelta(days=7))
    rows = list(ad_account.get_insights(fields=["spend", "impressions"], params={"date_preset": "last_7d"}))
    assert int(rows[0]["impressions"]) > 0
    assert 0 < float(rows[0]["spend"]) <= 7 * 20.00
    assert emulators.log.entries(platform="meta", target_contains=f"/{account_id}/campaigns")
