"""A small hand-built warehouse whose impact figures are worked out by hand in the tests.

Period under test: 2022-04-01 – 2022-05-31. Two accounts (Google Ads, Meta), all in EUR.

performance rows (date, platform, country, language, device, placement: impressions, clicks,
signposting clicks, app-download clicks, cost in cents)
  P1 04-10 google PL uk mobile  search    1000  50  20  2  5000   ad G-PL
  P2 04-10 google PL uk desktop search     200  10   4  0  1000   ad G-PL
  P3 05-03 google UA ru mobile  search     500  30  10  1  3000   ad G-UA
  P4 05-03 meta   PL uk mobile  facebook  2000  60  26  3  4000   ad M-PL
  P5 05-04 meta   PL uk mobile  instagram  800  40  10  0  2000   ad M-PL
  P6 06-01 google PL uk mobile  search    9999 999 999 99 99999   outside the period
signposting rows (organisation: clicks)
  P1 la-strada-poland 15, stop-the-traffik 5 · P2 la-strada-poland 4 · P3 la-strada-ukraine 10
  P4 la-strada-poland 20, homo-faber 6 · P5 homo-faber 10 · P6 la-strada-poland 999
period reach (window 04-01 – 05-31): google ALL 1500 (and a campaign-level 1400 that the account
figure supersedes), meta ALL 2500; google PL 1000, google UA 600, meta PL 2500.
Daily reach windows (04-10 google ALL 900, 05-03 meta ALL 1800) exist to be ignored.
partner outcomes: la-strada-poland PL 2022-04: 7 · homo-faber PL 2022-05: 3 ·
la-strada-ukraine UA 2022-05: 4 · la-strada-poland PL 2022-06: 5 (outside the period)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.domain.impact import Period

PERIOD = Period(dt.date(2022, 4, 1), dt.date(2022, 5, 31))

OUTCOMES_YAML = """\
title: Hand-built partner outcomes
collected_by: partnerships team
basis: reported
outcomes:
  - {organisation: la-strada-poland, country: PL, month: 2022-04, people_signposted_to_safety: 7}
  - {organisation: homo-faber, country: PL, month: 2022-05, people_signposted_to_safety: 3}
  - {organisation: la-strada-ukraine, country: UA, month: 2022-05, people_signposted_to_safety: 4}
  - {organisation: la-strada-poland, country: PL, month: 2022-06, people_signposted_to_safety: 5}
"""


def build(warehouse: Warehouse, outcomes_dir: Path) -> Path:
    """Fill the warehouse (reference data already synced); return the outcomes file written."""
    with warehouse.session() as session:
        google = m.Account(platform_code="google_ads", external_id="1234567890", currency="EUR")
        meta = m.Account(platform_code="meta", external_id="act_42", currency="EUR")
        session.add_all([google, meta])
        session.flush()
        ads: dict[str, dict[str, Any]] = {}
        for key, account, country, language, theme in (
            ("G-PL", google, "PL", "uk", "job_offers"),
            ("G-UA", google, "UA", "ru", "border_travel_safety"),
            ("M-PL", meta, "PL", "uk", "job_offers"),
        ):
            campaign = m.Campaign(
                account_id=account.id, external_id=f"c-{key}", name=key, country_code=country, theme=theme
            )
            session.add(campaign)
            session.flush()
            group = m.AdGroup(
                campaign_id=campaign.id, external_id=f"g-{key}", name=key, language_code=language
            )
            session.add(group)
            session.flush()
            ad = m.Ad(ad_group_id=group.id, external_id=f"a-{key}")
            session.add(ad)
            session.flush()
            ads[key] = {
                "platform_code": account.platform_code,
                "account_id": account.id,
                "campaign_id": campaign.id,
                "ad_group_id": group.id,
                "ad_id": ad.id,
                "country_code": country,
                "language_code": language,
            }
        lsp, hf, stt = "la-strada-poland", "homo-faber", "stop-the-traffik"
        performance = [
            ("G-PL", "2022-04-10", "mobile", "search", (1000, 50, 20, 2, 5000), {lsp: 15, stt: 5}),
            ("G-PL", "2022-04-10", "desktop", "search", (200, 10, 4, 0, 1000), {lsp: 4}),
            ("G-UA", "2022-05-03", "mobile", "search", (500, 30, 10, 1, 3000), {"la-strada-ukraine": 10}),
            ("M-PL", "2022-05-03", "mobile", "facebook", (2000, 60, 26, 3, 4000), {lsp: 20, hf: 6}),
            ("M-PL", "2022-05-04", "mobile", "instagram", (800, 40, 10, 0, 2000), {hf: 10}),
            ("G-PL", "2022-06-01", "mobile", "search", (9999, 999, 999, 99, 99999), {lsp: 999}),
        ]  # fmt: skip
        for ad, day, device, placement, metrics, signposts in performance:
            grain = {**ads[ad], "date": dt.date.fromisoformat(day), "device": device, "placement": placement}
            impressions, clicks, signposting, app, cost = metrics
            session.add(
                m.DailyPerformance(
                    **grain,
                    impressions=impressions,
                    clicks=clicks,
                    signposting_clicks=signposting,
                    app_download_clicks=app,
                    cost_minor=cost,
                )
            )
            for organisation, count in signposts.items():
                session.add(m.DailySignposting(**grain, organisation_id=organisation, clicks=count))
        window = {"window_start": PERIOD.start, "window_end": PERIOD.end}
        reach = [
            (google, "account", "1234567890", "ALL", window, 1500),
            (google, "campaign", "c-G-PL", "ALL", window, 1400),
            (meta, "account", "act_42", "ALL", window, 2500),
            (google, "account", "1234567890", "PL", window, 1000),
            (google, "account", "1234567890", "UA", window, 600),
            (meta, "account", "act_42", "PL", window, 2500),
            (google, "account", "1234567890", "ALL", _day("2022-04-10"), 900),
            (meta, "account", "act_42", "ALL", _day("2022-05-03"), 1800),
        ]
        for account, scope, scope_id, country, dates, people in reach:
            session.add(
                m.PeriodReach(
                    platform_code=account.platform_code,
                    account_id=account.id,
                    scope_level=scope,
                    scope_external_id=scope_id,
                    country_code=country,
                    reach=people,
                    impressions=people * 2,
                    **dates,
                )
            )
    outcomes_dir.mkdir(parents=True, exist_ok=True)
    path = outcomes_dir / "hand-built.yaml"
    path.write_text(OUTCOMES_YAML, encoding="utf-8")
    return path


def _day(text: str) -> dict[str, dt.date]:
    day = dt.date.fromisoformat(text)
    return {"window_start": day, "window_end": day}


# --- a simulated 2022 campaign, for the 2022 report, the screenshots and the brief comparison -----

REPLAY_MONTHS = [dt.date(2022, month, 1) for month in range(3, 11)]
DEVICE_SHARE = {"mobile": 0.92, "tablet": 0.02, "desktop": 0.06}
PLACEMENTS = {"google_ads": {"search": 1.0}, "meta": {"facebook": 0.62, "instagram": 0.33, "messenger": 0.05}}


def fill_simulated_2022(warehouse: Warehouse, seed: int = 2022) -> None:
    """Deterministic simulated delivery for all 19 countries, March – October 2022 (one row per
    month × ad × device × placement), reach for the whole window, the 2022 judgements published
    with their targeting snapshots, and reviewed push plans. Every figure is made up."""
    import random

    from safepassage import settings
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.intelligence import check_files, publish, refresh_targeting

    rng = random.Random(seed)
    config = load_campaign_config()
    themes = ["border_travel_safety", "job_offers", "accommodation_offers", "transport_offers", "get_the_app"]
    window = {"window_start": dt.date(2022, 3, 25), "window_end": dt.date(2022, 10, 31)}
    with warehouse.session() as session:
        accounts = {
            "google_ads": m.Account(platform_code="google_ads", external_id="1234567890", currency="EUR"),
            "meta": m.Account(platform_code="meta", external_id="act_2022", currency="EUR"),
        }
        session.add_all(accounts.values())
        session.flush()
        reach_total = {"google_ads": 0, "meta": 0}
        app_budget = 93
        for index, country in enumerate(config.countries):
            size = {"origin": 3.0, "neighbour": 2.2, "transit": 1.0, "destination": 0.7}[
                country.role
            ] * rng.uniform(0.6, 1.3)
            organisations = [org.id for org in config.organisations if country.code in org.countries]
            for platform, account in accounts.items():
                campaign = m.Campaign(
                    account_id=account.id,
                    external_id=f"{platform}-{country.code}",
                    name=f"SP {country.code}",
                    country_code=country.code,
                    theme=themes[index % len(themes)]
                    if platform == "google_ads"
                    else themes[(index + 1) % len(themes)],
                )
                session.add(campaign)
                session.flush()
                country_reach = int(size * (150_000 if platform == "meta" else 110_000))
                reach_total[platform] += country_reach
                session.add(
                    m.PeriodReach(
                        platform_code=platform, account_id=account.id, scope_level="account",
                        scope_external_id=account.external_id, country_code=country.code,
                        reach=country_reach, impressions=country_reach * 6, **window,
                    )
                )  # fmt: skip
                for language in country.languages:
                    group = m.AdGroup(
                        campaign_id=campaign.id, external_id=f"{campaign.external_id}-{language}",
                        name=language, language_code=language,
                    )  # fmt: skip
                    session.add(group)
                    session.flush()
                    ad = m.Ad(ad_group_id=group.id, external_id=f"{group.external_id}-ad")
                    session.add(ad)
                    session.flush()
                    language_share = 1.0 / (1 + country.languages.index(language))
                    for month in REPLAY_MONTHS:
                        season = 1.6 if month.month in (3, 4) else 1.0 if month.month < 8 else 0.7
                        for device, device_share in DEVICE_SHARE.items():
                            for placement, placement_share in PLACEMENTS[platform].items():
                                impressions = int(
                                    size * language_share * season * device_share * placement_share
                                    * rng.uniform(40_000, 60_000)
                                )  # fmt: skip
                                clicks = int(impressions * rng.uniform(0.006, 0.011))
                                signposting = int(clicks * rng.uniform(0.25, 0.4))
                                app = 0
                                if app_budget and device == "mobile" and rng.random() < 0.12:
                                    app = min(app_budget, rng.randint(1, 2))
                                    app_budget -= app
                                grain = {
                                    "date": month if month.month > 3 else dt.date(2022, 3, 25),
                                    "platform_code": platform,
                                    "account_id": account.id,
                                    "campaign_id": campaign.id,
                                    "ad_group_id": group.id,
                                    "ad_id": ad.id,
                                    "country_code": country.code,
                                    "language_code": language,
                                    "device": device,
                                    "placement": placement,
                                }
                                session.add(
                                    m.DailyPerformance(
                                        **grain, impressions=impressions, clicks=clicks,
                                        signposting_clicks=signposting, app_download_clicks=app,
                                        cost_minor=int(impressions * rng.uniform(0.25, 0.45)),
                                    )
                                )  # fmt: skip
                                split = _split(signposting, len(organisations), rng)
                                for organisation, count in zip(organisations, split, strict=True):
                                    if count:
                                        session.add(
                                            m.DailySignposting(
                                                **grain, organisation_id=organisation, clicks=count
                                            )
                                        )
        for platform, account in accounts.items():
            people = int(reach_total[platform] * 0.82)  # some people were reached in two countries
            session.add(
                m.PeriodReach(
                    platform_code=platform, account_id=account.id, scope_level="account",
                    scope_external_id=account.external_id, country_code="ALL", reach=people,
                    impressions=people * 6, **window,
                )
            )  # fmt: skip
    publish(check_files([settings.intelligence_dir()], config), warehouse)
    from safepassage.services.intelligence import stored_judgements

    reviewers = ["Campaign manager (Europe desk)", "Ops lead"]
    for number, judgement in enumerate(stored_judgements(warehouse)):
        refreshed = refresh_targeting(config, warehouse, judgement.valid_from)
        # the store's clock is seconds (SQLite): date the records as the replayed day, in order
        made = dt.datetime.combine(judgement.valid_from, dt.time(6), tzinfo=dt.UTC)
        with warehouse.session() as session:
            snapshot = session.get(m.TargetingSnapshot, refreshed.snapshot_id)
            assert snapshot is not None
            snapshot.created_at = made
            needs_review = number % 3 != 1
            session.add(
                m.PushPlan(
                    platform_code="google_ads",
                    account_external_id="1234567890",
                    status="applied",
                    summary={"counts": {"update": 12 + number, "create": 3 if number == 0 else 0}},
                    operations=[],
                    approval_reasons=[{"message": "a country's daily budget moves by more than 20%"}]
                    if needs_review
                    else [],
                    decided_by=reviewers[number % 2] if needs_review else None,
                    decision_note="checked against the judgement" if needs_review else None,
                    decided_at=made + dt.timedelta(hours=3) if needs_review else None,
                    created_at=made + dt.timedelta(hours=1),
                )
            )


def _split(total: int, parts: int, rng: Any) -> list[int]:
    weights = [rng.random() + (1.5 if i == 0 else 0.2) for i in range(parts)]
    shares = [int(total * w / sum(weights)) for w in weights]
    shares[0] += total - sum(shares)
    return shares
