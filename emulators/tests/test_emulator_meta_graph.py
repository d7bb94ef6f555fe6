"""The official facebook-business SDK, unchanged, against the Meta Graph emulator."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adreportrun import AdReportRun
from facebook_business.adobjects.adset import AdSet
from facebook_business.api import FacebookAdsApi
from facebook_business.exceptions import FacebookRequestError

from ad_emulators.clock import EmulatorClock
from ad_emulators.faults import FaultPlan, RequestLog
from ad_emulators.meta.server import MetaCredentials, MetaGraphServer, configure_sdk

START = dt.datetime(2022, 3, 25, 9, 0, tzinfo=dt.UTC)
EU_DSA = {"dsa_beneficiary": "STOP THE TRAFFIK", "dsa_payor": "STOP THE TRAFFIK"}


@pytest.fixture
def clock() -> EmulatorClock:
    return EmulatorClock(START)


@pytest.fixture
def make_server(clock: EmulatorClock, loopback_only: Any) -> Iterator[Any]:
    started: list[MetaGraphServer] = []

    def make(faults: dict[str, Any] | None = None, state_dir: Path | None = None) -> MetaGraphServer:
        server = MetaGraphServer(
            state_dir,
            clock=clock,
            faults=FaultPlan.from_dict(faults) if faults else None,
            log=RequestLog(),
            credentials=MetaCredentials("app-1", "secret-1", "token-1"),
            ad_account_ids=("act_4242",),
        ).start()
        started.append(server)
        configure_sdk(server.url, server.credentials)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server: Any) -> MetaGraphServer:
    return make_server()


def account() -> AdAccount:
    return AdAccount("act_4242")


def new_campaign(name: str = "Ukraine response 2022", **extra: Any) -> Any:
    params = {"name": name, "objective": "OUTCOME_AWARENESS", "special_ad_categories": [], "status": "ACTIVE"}
    return account().create_campaign(params={**params, **extra})


def new_ad_set(campaign_id: str, targeting: dict[str, Any] | None = None, **extra: Any) -> Any:
    params = {
        "name": "PL uk/ru",
        "campaign_id": campaign_id,
        "daily_budget": 5000,
        "billing_event": "IMPRESSIONS",
        "optimization_goal": "REACH",
        "targeting": targeting
        or {"geo_locations": {"countries": ["PL"]}, "locales": [52, 17], "age_min": 18},
        **EU_DSA,
    }
    return account().create_ad_set(params={**params, **extra})


def new_ad(ad_set_id: str, link: str = "https://strada.org.pl/?utm_content=la-strada-poland") -> Any:
    creative = account().create_ad_creative(
        params={
            "name": "Safe work offers",
            "object_story_spec": {
                "page_id": "1001",
                "link_data": {
                    "link": link,
                    "message": "Пропозиція роботи? Перевірте, перш ніж їхати.",
                    "name": "Check before you travel",
                    "description": "Free, confidential help",
                    "call_to_action": {"type": "LEARN_MORE", "value": {"link": link}},
                },
            },
        }
    )
    return account().create_ad(
        params={
            "name": "ad",
            "adset_id": ad_set_id,
            "creative": {"creative_id": creative["id"]},
            "status": "ACTIVE",
        }
    )


def test_campaign_tree_created_and_read_back_across_pages(server: MetaGraphServer) -> None:
    campaign = new_campaign()
    ad_set = new_ad_set(campaign["id"])
    ad = new_ad(ad_set["id"])
    for index in range(30):
        new_campaign(f"extra {index}")

    read = list(
        account().get_campaigns(fields=["name", "objective", "effective_status"], params={"limit": 10})
    )

    assert len(read) == 31
    assert {row["name"] for row in read} >= {"Ukraine response 2022", "extra 29"}
    assert len(server.log.entries(method="GET", target_contains="/act_4242/campaigns")) == 4  # 10+10+10+1
    fetched = AdSet(ad_set["id"]).api_get(
        fields=["targeting", "daily_budget", "campaign_id", "effective_status"]
    )
    assert fetched["targeting"]["geo_locations"]["countries"] == ["PL"]
    assert fetched["daily_budget"] == "5000"
    assert fetched["effective_status"] == "ACTIVE"
    ads = list(AdSet(ad_set["id"]).get_ads(fields=["name", "creative", "effective_status"]))
    assert [row["id"] for row in ads] == [ad["id"]]
    assert ads[0]["creative"]["id"]


def test_update_pause_and_delete_show_in_effective_status(server: MetaGraphServer) -> None:
    campaign = new_campaign()
    ad_set = new_ad_set(campaign["id"])
    ad = new_ad(ad_set["id"])
    campaign.api_update(params={"status": "PAUSED"})
    assert account().get_ads(fields=["effective_status"])[0]["effective_status"] == "CAMPAIGN_PAUSED"
    ad.api_delete()
    assert list(account().get_ads(fields=["name"])) == []
    deleted = account().get_ads(fields=["effective_status"], params={"effective_status": ["DELETED"]})
    assert [row["id"] for row in deleted] == [ad["id"]]


def test_edge_filtering_and_unknown_fields(server: MetaGraphServer) -> None:
    first, second = new_campaign("first"), new_campaign("second")
    new_ad_set(first["id"], name="PL in first")
    new_ad_set(second["id"], name="PL in second")
    by_campaign = account().get_ad_sets(
        fields=["name"],
        params={"filtering": [{"field": "campaign.id", "operator": "IN", "value": [second["id"]]}]},
    )
    assert [row["name"] for row in by_campaign] == ["PL in second"]
    by_name = account().get_campaigns(
        fields=["name"], params={"filtering": [{"field": "name", "operator": "CONTAIN", "value": "fir"}]}
    )
    assert [row["name"] for row in by_name] == ["first"]
    with pytest.raises(FacebookRequestError) as raised, pytest.warns(UserWarning, match="no_such_field"):
        account().get_campaigns(fields=["name", "no_such_field"])
    assert "nonexisting field (no_such_field)" in raised.value.api_error_message()


def test_batch_of_51_is_refused(server: MetaGraphServer) -> None:
    batch = FacebookAdsApi.get_default_api().new_batch()
    for index in range(51):
        account().create_campaign(
            params={"name": f"c{index}", "objective": "OUTCOME_AWARENESS", "special_ad_categories": []},
            batch=batch,
        )
    with pytest.raises(FacebookRequestError) as raised:
        batch.execute()
    assert raised.value.api_error_code() == 100
    assert "Maximum batch size is 50" in raised.value.api_error_message()
    assert list(account().get_campaigns()) == []


def test_batch_of_50_answers_each_item_and_one_fails(server: MetaGraphServer) -> None:
    batch = FacebookAdsApi.get_default_api().new_batch()
    successes: list[str] = []
    failures: list[FacebookRequestError] = []
    for index in range(50):
        params: dict[str, Any] = {"name": f"c{index}", "objective": "OUTCOME_AWARENESS"}
        if index != 17:
            params["special_ad_categories"] = []
        account().create_campaign(
            params=params,
            batch=batch,
            success=lambda response: successes.append(response.json()["id"]),
            failure=lambda response: failures.append(response.error()),
        )
    assert batch.execute() is None  # no item to retry

    assert len(successes) == 49
    assert len(failures) == 1
    assert failures[0].api_error_code() == 100
    assert "special_ad_categories" in failures[0].api_error_message()
    assert len(list(account().get_campaigns(params={"limit": 100}))) == 49


def _delivering_account(clock: EmulatorClock) -> None:
    campaign = new_campaign()
    pl = new_ad_set(campaign["id"])
    new_ad(pl["id"])
    ua = new_ad_set(
        campaign["id"],
        targeting={"geo_locations": {"countries": ["UA"]}, "locales": [52]},
        name="UA uk",
        daily_budget=3000,
    )
    new_ad(ua["id"], link="https://www.stopthetraffik.org/stop-app/?utm_content=stop-the-traffik")
    clock.set(dt.datetime(2022, 5, 1, tzinfo=dt.UTC))


def test_async_insights_polled_to_completion_with_country_and_device_breakdowns(
    server: MetaGraphServer, clock: EmulatorClock
) -> None:
    _delivering_account(clock)
    run = account().get_insights(
        fields=["ad_id", "impressions", "reach", "clicks", "spend", "actions"],
        params={
            "level": "ad",
            "time_range": {"since": "2022-03-25", "until": "2022-04-30"},
            "breakdowns": ["country", "device_platform"],
            "action_breakdowns": ["action_type"],
        },
        is_async=True,
    )
    statuses = []
    for _ in range(100):
        run = run.api_get()
        statuses.append(run[AdReportRun.Field.async_status])
        if statuses[-1] == "Job Completed":
            break
    # the job completes once its rows exist: on a loaded machine "Job Running" may repeat
    assert list(dict.fromkeys(statuses)) == ["Job Not Started", "Job Started", "Job Running", "Job Completed"]
    assert run[AdReportRun.Field.async_percent_completion] == 100

    rows = list(run.get_result(params={"limit": 2}))
    assert {row["country"] for row in rows} == {"PL", "UA"}
    assert {row["device_platform"] for row in rows} == {"mobile_app", "desktop"}
    impressions = {row["device_platform"]: 0 for row in rows}
    for row in rows:
        impressions[row["device_platform"]] += int(row["impressions"])
        assert 0 < int(row["reach"]) <= int(row["impressions"])
        assert row["actions"][0]["action_type"] == "link_click"
    assert 0.85 < impressions["mobile_app"] / sum(impressions.values()) < 0.97
    ua_spend = sum(float(row["spend"]) for row in rows if row["country"] == "UA")
    assert 0 < ua_spend <= 30.00 * 37  # 30 EUR/day from 25 March 09:00 to 30 April


def test_sync_daily_insights_never_exceed_the_daily_budget(
    server: MetaGraphServer, clock: EmulatorClock
) -> None:
    _delivering_account(clock)
    rows = list(
        account().get_insights(
            fields=["adset_id", "spend", "impressions", "reach"],
            params={
                "level": "adset",
                "time_range": {"since": "2022-03-20", "until": "2022-04-30"},
                "time_increment": 1,
            },
        )
    )
    assert min(row["date_start"] for row in rows) == "2022-03-25"  # nothing before the ad sets existed
    assert all(row["date_start"] == row["date_stop"] for row in rows)
    assert max(float(row["spend"]) for row in rows) <= 50.00
    by_publisher = list(
        account().get_insights(
            fields=["impressions"],
            params={
                "time_range": {"since": "2022-04-01", "until": "2022-04-30"},
                "breakdowns": ["publisher_platform"],
            },
        )
    )
    impressions = {row["publisher_platform"]: int(row["impressions"]) for row in by_publisher}
    assert set(impressions) == {"facebook", "instagram", "audience_network", "messenger"}
    assert impressions["facebook"] > impressions["instagram"] > impressions["messenger"]


@pytest.mark.parametrize(
    ("kind", "code", "subcode"),
    [
        ("app_rate_limit", 4, 1504022),
        ("user_rate_limit", 17, 2446079),
        ("account_rate_limit", 613, 1487742),
        ("ads_management_rate_limit", 80004, 2446079),
    ],
)
def test_throttling_faults_surface_as_sdk_errors_with_usage_headers(
    make_server: Any, kind: str, code: int, subcode: int
) -> None:
    server = make_server(
        {
            "faults": [
                {
                    "platform": "meta",
                    "match": "POST /act_*/campaigns",
                    "kind": kind,
                    "nth": [2],
                    "params": {"estimated_time_to_regain_access": 7},
                }
            ]
        }
    )
    new_campaign("first")
    with pytest.raises(FacebookRequestError) as raised:
        new_campaign("second")
    error = raised.value
    assert (error.api_error_code(), error.api_error_subcode()) == (code, subcode)
    assert error.api_transient_error() is True
    usage = json.loads(error.http_headers()["X-Business-Use-Case-Usage"])
    assert usage["4242"][0]["estimated_time_to_regain_access"] == 7
    assert json.loads(error.http_headers()["X-App-Usage"])["call_count"] == 100
    assert json.loads(error.http_headers()["X-Ad-Account-Usage"])["acc_id_util_pct"] == 100
    new_campaign("third")
    assert [entry.fault for entry in server.log.entries(target_contains="/campaigns")] == [None, kind, None]


def test_batch_item_whose_reply_is_lost_is_null_and_committed(make_server: Any) -> None:
    make_server(
        {
            "faults": [
                {
                    "platform": "meta",
                    "match": "POST /act_*/campaigns",
                    "kind": "response_lost_after_commit",
                    "nth": [3],
                },
                {"platform": "meta", "match": "POST /act_*/campaigns", "kind": "user_rate_limit", "nth": [4]},
            ]
        }
    )
    batch = FacebookAdsApi.get_default_api().new_batch()
    failures: list[FacebookRequestError] = []
    for index in range(5):
        account().create_campaign(
            params={"name": f"c{index}", "objective": "OUTCOME_AWARENESS", "special_ad_categories": []},
            batch=batch,
            failure=lambda response: failures.append(response.error()),
        )
    retry = batch.execute()
    assert retry is not None and len(retry) == 1  # the SDK hands back the null item to retry
    assert [error.api_error_code() for error in failures] == [17]
    assert sorted(row["name"] for row in account().get_campaigns(fields=["name"])) == ["c0", "c1", "c2", "c4"]


def test_delivery_follows_the_ad_set_history(server: MetaGraphServer, clock: EmulatorClock) -> None:
    campaign = new_campaign()
    ad_set = AdSet(new_ad_set(campaign["id"])["id"])
    new_ad(ad_set["id"])
    clock.set(dt.datetime(2022, 4, 10, 12, tzinfo=dt.UTC))
    ad_set.api_update(params={"targeting": {"geo_locations": {"countries": ["UA"]}, "locales": [52]}})
    clock.set(dt.datetime(2022, 4, 20, tzinfo=dt.UTC))
    ad_set.api_update(params={"status": "PAUSED"})
    clock.set(dt.datetime(2022, 5, 1, tzinfo=dt.UTC))

    rows = list(
        account().get_insights(
            fields=["impressions"],
            params={
                "level": "account",
                "time_range": {"since": "2022-03-25", "until": "2022-04-30"},
                "time_increment": 1,
                "breakdowns": ["country"],
                "limit": 200,
            },
        )
    )
    countries_on: dict[str, set[str]] = {}
    for row in rows:
        countries_on.setdefault(row["date_start"], set()).add(row["country"])
    assert countries_on["2022-04-01"] == {"PL"}
    assert countries_on["2022-04-10"] == {"PL", "UA"}  # changed at noon
    assert countries_on["2022-04-15"] == {"UA"}
    assert max(countries_on) == "2022-04-19"  # paused from 20 April


def test_server_error_fault_is_a_transient_5xx(make_server: Any) -> None:
    make_server({"faults": [{"platform": "meta", "match": "GET /act_*", "kind": "server_error", "nth": [1]}]})
    with pytest.raises(FacebookRequestError) as raised:
        account().api_get(fields=["name"])
    assert raised.value.http_status() == 500
    assert raised.value.api_error_code() == 2
    assert raised.value.api_transient_error() is True
    assert account().api_get(fields=["name"])["name"]


def test_every_reply_carries_usage_headers(server: MetaGraphServer) -> None:
    response = requests.get(
        f"{server.url}/v26.0/act_4242",
        params={"access_token": "token-1", "appsecret_proof": server.credentials.appsecret_proof()},
        timeout=5,
    )
    assert response.status_code == 200
    for header in ("X-Business-Use-Case-Usage", "X-App-Usage", "X-Ad-Account-Usage"):
        assert header in response.headers
    assert response.headers["X-SafePassage-Sandbox"] == "simulated"


def test_a_reset_starts_a_new_hour_of_usage(loopback_only: Any) -> None:
    """The calls counted against the hourly quota go with a reset: one test's calls never throttle the
    next test's pushes on a shared emulator."""
    server = MetaGraphServer(
        None,
        log=RequestLog(),
        credentials=MetaCredentials("app-1", "secret-1", "token-1"),
        ad_account_ids=("act_4242",),
        hourly_call_quota=4,
    ).start()
    try:
        configure_sdk(server.url, server.credentials)

        def usage() -> int:
            response = requests.get(
                f"{server.url}/v26.0/act_4242",
                params={"access_token": "token-1", "appsecret_proof": server.credentials.appsecret_proof()},
                timeout=5,
            )
            return int(json.loads(response.headers["X-App-Usage"])["call_count"])

        assert [usage() for _ in range(3)] == [25, 50, 75]
        server.reset()
        assert usage() == 25
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("kind", "final_status"), [("async_report_stall", "Job Running"), ("async_report_fail", "Job Failed")]
)
def test_stalled_and_failed_async_reports_are_visible(
    make_server: Any, clock: EmulatorClock, kind: str, final_status: str
) -> None:
    make_server({"faults": [{"platform": "meta", "match": "POST /act_*/insights", "kind": kind, "nth": [1]}]})
    _delivering_account(clock)
    run = account().get_insights(fields=["impressions"], params={"level": "ad"}, is_async=True)
    for _ in range(8):
        run = run.api_get()
    assert run[AdReportRun.Field.async_status] == final_status
    assert run[AdReportRun.Field.async_percent_completion] < 100
    with pytest.raises(FacebookRequestError):
        list(run.get_result())
    retried = account().get_insights(fields=["impressions"], params={"level": "ad"}, is_async=True)
    for _ in range(4):
        retried = retried.api_get()
    assert retried[AdReportRun.Field.async_status] == "Job Completed"


def test_response_lost_after_commit_leaves_the_write_committed(make_server: Any) -> None:
    server = make_server(
        {
            "faults": [
                {
                    "platform": "meta",
                    "match": "POST /act_*/campaigns",
                    "kind": "response_lost_after_commit",
                    "nth": [1],
                }
            ]
        }
    )
    with pytest.raises(requests.exceptions.ConnectionError):
        new_campaign("lost reply")
    assert [row["name"] for row in account().get_campaigns(fields=["name"])] == ["lost reply"]
    assert server.log.entries(fault="response_lost_after_commit")[0].target == "POST /act_4242/campaigns"


def test_ad_set_budget_changes_at_most_four_times_an_hour(
    server: MetaGraphServer, clock: EmulatorClock
) -> None:
    ad_set = AdSet(new_ad_set(new_campaign()["id"])["id"])  # the SDK returns create_ad_set as a bare object
    for budget in (6000, 7000, 8000, 9000):
        clock.advance(dt.timedelta(minutes=5))
        ad_set.api_update(params={"daily_budget": budget})
    clock.advance(dt.timedelta(minutes=5))
    with pytest.raises(FacebookRequestError) as raised:
        ad_set.api_update(params={"daily_budget": 10000})
    assert raised.value.api_error_code() == 17
    ad_set.api_update(params={"name": "renamed, budget unchanged"})  # other edits still pass
    clock.advance(dt.timedelta(minutes=41))  # the first change is now more than an hour old
    ad_set.api_update(params={"daily_budget": 10000})
    assert AdSet(ad_set["id"]).api_get(fields=["daily_budget"])["daily_budget"] == "10000"


@pytest.mark.parametrize(
    ("targeting", "blamed"),
    [
        ({"geo_locations": {"countries": ["PL"]}, "age_min": 12}, "age_min"),
        ({"geo_locations": {"countries": ["PL"]}, "age_max": 70}, "age_max"),
        ({"geo_locations": {"countries": ["Poland"]}}, "geo_locations"),
        ({"geo_locations": {}}, "geo_locations"),
        ({"geo_locations": {"countries": ["PL"]}, "locales": ["uk"]}, "locales"),
        ({"geo_locations": {"countries": ["PL"]}, "publisher_platforms": ["tiktok"]}, "publisher_platforms"),
        ({"geo_locations": {"countries": ["PL"]}, "device_platforms": ["tablet"]}, "device_platforms"),
        (
            {
                "geo_locations": {
                    "custom_locations": [
                        {"latitude": 50.0, "longitude": 23.9, "radius": 300, "distance_unit": "kilometer"}
                    ]
                }
            },
            "geo_locations",
        ),
        (
            {"geo_locations": {"cities": [{"key": "Lviv", "radius": 20, "distance_unit": "mile"}]}},
            "geo_locations",
        ),
    ],
)
def test_targeting_validation_errors_name_the_field(
    server: MetaGraphServer, targeting: dict[str, Any], blamed: str
) -> None:
    campaign = new_campaign()
    with pytest.raises(FacebookRequestError) as raised:
        new_ad_set(campaign["id"], targeting=targeting)
    assert raised.value.api_error_code() == 100
    assert raised.value.api_blame_field_specs()[0][:2] == ["targeting", blamed]


def test_valid_local_targeting_is_accepted(server: MetaGraphServer) -> None:
    targeting = {
        "geo_locations": {
            "cities": [{"key": "2430536", "radius": 25, "distance_unit": "mile", "country": "PL"}],
            "custom_locations": [
                {"latitude": 50.09, "longitude": 23.0, "radius": 10, "distance_unit": "kilometer"}
            ],
        },
        "locales": [52],
        "age_min": 18,
        "age_max": 65,
        "publisher_platforms": ["facebook", "instagram"],
        "device_platforms": ["mobile"],
    }
    assert new_ad_set(new_campaign()["id"], targeting=targeting)["id"]


def test_eu_targeting_needs_dsa_beneficiary_and_payor(server: MetaGraphServer) -> None:
    campaign = new_campaign()
    with pytest.raises(FacebookRequestError) as raised:
        new_ad_set(campaign["id"], dsa_beneficiary="", dsa_payor="")
    assert raised.value.api_blame_field_specs() == [["dsa_beneficiary"]]
    outside_eu = {"geo_locations": {"countries": ["UA"]}, "locales": [52]}
    assert new_ad_set(campaign["id"], targeting=outside_eu, dsa_beneficiary="", dsa_payor="")["id"]


def test_campaign_without_special_ad_categories_is_refused(server: MetaGraphServer) -> None:
    with pytest.raises(FacebookRequestError) as raised:
        account().create_campaign(params={"name": "no categories", "objective": "OUTCOME_AWARENESS"})
    assert raised.value.api_error_code() == 100
    assert "special_ad_categories" in raised.value.api_error_message()


def test_wrong_token_and_wrong_appsecret_proof_are_refused(server: MetaGraphServer) -> None:
    FacebookAdsApi.init("app-1", "secret-1", "not-the-token", crash_log=False)
    with pytest.raises(FacebookRequestError) as raised:
        account().api_get(fields=["name"])
    assert (raised.value.api_error_code(), raised.value.api_error_type()) == (190, "OAuthException")
    configure_sdk(server.url, MetaCredentials("app-1", "wrong-secret", "token-1"))
    with pytest.raises(FacebookRequestError) as raised:
        account().api_get(fields=["name"])
    assert raised.value.api_error_code() == 100
    assert "appsecret_proof" in raised.value.api_error_message()


def test_state_survives_a_restart(make_server: Any, tmp_path: Path) -> None:
    first = make_server(state_dir=tmp_path)
    campaign = new_campaign("persisted")
    first.stop()
    make_server(state_dir=tmp_path)
    assert account().get_campaigns(fields=["name", "created_time"])[0]["id"] == campaign["id"]
    assert account().get_campaigns(fields=["created_time"])[0]["created_time"] == "2022-03-25T09:00:00+0000"


def test_a_batch_writes_the_state_file_once_and_before_it_answers(
    make_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each write dumps the whole store: 50 writes in a batch are saved once, at the batch's end, and
    a restart from the file still sees every item the batch answered."""
    first = make_server(state_dir=tmp_path)
    written: list[int] = []
    original = type(first.store)._write
    monkeypatch.setattr(type(first.store), "_write", lambda store: (written.append(1), original(store)))
    batch = FacebookAdsApi.get_default_api().new_batch()
    for index in range(20):
        account().create_campaign(
            params={"name": f"c{index}", "objective": "OUTCOME_AWARENESS", "special_ad_categories": []},
            batch=batch,
        )
    assert batch.execute() is None
    assert len(written) == 1
    new_campaign("alone")  # a single write still saves at once
    assert len(written) == 2
    first.stop()
    make_server(state_dir=tmp_path)
    assert len(list(account().get_campaigns(params={"limit": 100}))) == 21


def test_control_endpoint_sets_the_simulated_clock(server: MetaGraphServer, clock: EmulatorClock) -> None:
    reply = requests.post(
        f"{server.url}/_sandbox/clock", data={"now": "2022-06-01T00:00:00+00:00"}, timeout=5
    )
    assert reply.json() == {"now": "2022-06-01T00:00:00+00:00", "simulated": True}
    assert clock.today() == dt.date(2022, 6, 1)
    new_campaign("June")
    logged = requests.get(f"{server.url}/_sandbox/requests", timeout=5).json()["data"]
    assert logged[-1]["target"] == "POST /act_4242/campaigns"
    assert logged[-1]["simulated_at"] == "2022-06-01T00:00:00+00:00"


def test_reset_forgets_entities(server: MetaGraphServer) -> None:
    new_campaign()
    server.reset()
    assert list(account().get_campaigns()) == []


def test_a_client_that_hangs_up_before_the_answer_leaves_no_traceback(
    server: MetaGraphServer, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SDK call that times out under load closes its socket; the emulator must not print a
    traceback over the demo's screen (it did, in a backfill) and must go on answering."""
    import socket
    import struct
    import threading

    client_gone = threading.Event()
    answer = server.handle

    def after_the_client_left(*args: Any) -> Any:
        client_gone.wait(5)
        time.sleep(0.2)  # the reset reaches the server's socket
        return answer(*args)

    monkeypatch.setattr(server, "handle", after_the_client_left)
    client = socket.create_connection(("127.0.0.1", server.port))
    client.sendall(b"GET /v26.0/act_4242?fields=name HTTP/1.1\r\nHost: sandbox\r\n\r\n")
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()  # reset, as a timed-out client does
    client_gone.set()
    time.sleep(0.5)
    monkeypatch.setattr(server, "handle", answer)

    assert account().api_get(fields=["name"])["id"] == "act_4242"
    assert "Traceback" not in capfd.readouterr().err


def test_a_report_run_computes_in_the_background_without_holding_up_other_calls(
    server: MetaGraphServer, clock: EmulatorClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Months of delivery take minutes to simulate on a loaded machine. Computed inside the GET of
    the results, under the store's lock, every other call of both accounts waited behind it and
    timed out (a 2022 backfill failed so). As on Graph, the job computes while the client polls."""
    import threading

    from ad_emulators.meta import insights

    _delivering_account(clock)
    computing, finish = threading.Event(), threading.Event()
    simulate = insights.compute

    def slow_compute(*args: Any, **kwargs: Any) -> Any:
        computing.set()
        finish.wait(30)
        return simulate(*args, **kwargs)

    monkeypatch.setattr(insights, "compute", slow_compute)
    run = account().get_insights(
        fields=["ad_id", "impressions"],
        params={"level": "ad", "time_range": {"since": "2022-03-25", "until": "2022-04-30"}},
        is_async=True,
    )
    assert computing.wait(10), "the report run did not start computing when it was created"
    for _ in range(server.polls_to_complete + 2):
        run = run.api_get()
    assert run[AdReportRun.Field.async_status] == "Job Running"
    assert account().api_get(fields=["name"])["id"] == "act_4242"  # not held up by the job

    finish.set()
    for _ in range(100):
        run = run.api_get()
        if run[AdReportRun.Field.async_status] == "Job Completed":
            break
        time.sleep(0.05)
    assert run[AdReportRun.Field.async_status] == "Job Completed"
    assert sum(int(row["impressions"]) for row in run.get_result()) > 0
