"""Impact KPIs on the hand-built warehouse (tests/impact_warehouse.py), on SQLite and PostgreSQL.

Every expected number is worked out by hand from the table in that module's docstring.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from safepassage.adapters.warehouse import Warehouse
from safepassage.domain.errors import InvalidInput
from safepassage.domain.impact import Slice
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.impact import compute_impact
from safepassage.services.outcomes import load_outcomes
from tests.impact_warehouse import PERIOD, build


@pytest.fixture
def hand_built(warehouse: Warehouse, tmp_path: Path) -> Warehouse:
    outcomes = build(warehouse, tmp_path / "outcomes")
    assert load_outcomes(warehouse, load_campaign_config(), [outcomes]) == 4
    return warehouse


def test_whole_campaign_figures(hand_built: Warehouse) -> None:
    figures = compute_impact(hand_built, PERIOD, simulated=True)
    # P1..P5 (P6 is in June): impressions 1000+200+500+2000+800, clicks 50+10+30+60+40, ...
    assert figures.traffic.impressions == 4500
    assert figures.traffic.clicks == 190
    assert figures.traffic.signposting_clicks == 20 + 4 + 10 + 26 + 10 == 70
    assert figures.traffic.app_download_clicks == 2 + 0 + 1 + 3 + 0 == 6
    assert dict(figures.traffic.cost_minor) == {"EUR": 15000}
    # 150.00 EUR / 70 signposting clicks = 2.142857... -> 2.14
    assert figures.cost_per_signposting_click == {"EUR": Decimal("2.14")}
    # every click but P2's 10 desktop clicks is mobile: 180 / 190
    assert figures.mobile_share == Fraction(180, 190)
    assert figures.countries == ["PL", "UA"]
    assert figures.languages == ["ru", "uk"]
    # signposting clicks per organisation: la-strada-poland 15+4+20, homo-faber 6+10, ...
    assert figures.signposting_by_organisation == {
        "la-strada-poland": 39,
        "homo-faber": 16,
        "la-strada-ukraine": 10,
        "stop-the-traffik": 5,
    }
    assert len(figures.organisations) == 4


def test_people_reached_is_the_window_reach_as_a_range_across_platforms(hand_built: Warehouse) -> None:
    figures = compute_impact(hand_built, PERIOD, simulated=True)
    # Google 1500 and Meta 2500 may be the same people: at least 2500, at most 1500 + 2500.
    # Not 1500+1400 (the campaign figure is inside the account's), not the daily 900+1800.
    assert (figures.reach.low, figures.reach.high) == (2500, 4000)
    assert not figures.reach.exact
    assert figures.reach.text() == "2,500 – 4,000"
    assert {p: (r.low, r.high) for p, r in figures.reach_by_platform.items()} == {
        "google_ads": (1500, 1500),
        "meta": (2500, 2500),
    }
    assert figures.headline()["people_reached"] == "2,500 – 4,000"
    # per country: PL google 1000 and meta 2500 -> 2500..3500; UA google only -> 600 exactly
    assert {c: (r.low, r.high) for c, r in figures.reach_by_country.items()} == {
        "PL": (2500, 3500),
        "UA": (600, 600),
    }


def test_reach_per_slice(hand_built: Warehouse) -> None:
    poland = compute_impact(hand_built, PERIOD, Slice.of(countries="PL"), simulated=True)
    assert (poland.reach.low, poland.reach.high) == (2500, 3500)  # google PL 1000, meta PL 2500
    google = compute_impact(hand_built, PERIOD, Slice.of(platforms="google_ads"), simulated=True)
    assert google.reach.exact and google.reach.low == 1500
    both = compute_impact(
        hand_built, PERIOD, Slice.of(countries="PL,UA", platforms="google_ads"), simulated=True
    )
    # a person may have crossed from UA to PL: 1000 .. 1600
    assert (both.reach.low, both.reach.high) == (1000, 1600)
    by_language = compute_impact(hand_built, PERIOD, Slice.of(languages="uk"), simulated=True)
    assert by_language.reach.low is None and "not for this slice" in by_language.reach.note
    # a window nobody reported reach for: no figure, and the note names the windows there are
    april = compute_impact(
        hand_built, type(PERIOD)(dt.date(2022, 4, 1), dt.date(2022, 4, 30)), simulated=True
    )
    assert april.reach.low is None and "2022-04-01 – 2022-05-31" in april.reach.note


def test_slices_of_traffic(hand_built: Warehouse) -> None:
    meta = compute_impact(hand_built, PERIOD, Slice.of(platforms="meta"), simulated=True)
    assert (meta.traffic.impressions, meta.traffic.clicks, meta.traffic.signposting_clicks) == (2800, 100, 36)
    instagram = compute_impact(hand_built, PERIOD, Slice.of(placements="instagram"), simulated=True)
    assert instagram.traffic.clicks == 40 and instagram.signposting_by_organisation == {"homo-faber": 10}
    theme = compute_impact(hand_built, PERIOD, Slice.of(themes="border_travel_safety"), simulated=True)
    assert theme.traffic.impressions == 500 and theme.countries == ["UA"]
    # organisation slice: its signposting clicks, and the traffic of the ads that sent people to it (P4, P5)
    homo_faber = compute_impact(hand_built, PERIOD, Slice.of(organisations="homo-faber"), simulated=True)
    assert homo_faber.signposting_by_organisation == {"homo-faber": 16}
    assert homo_faber.traffic.impressions == 2800
    assert homo_faber.people_signposted_to_safety == 3


def test_breakdowns(hand_built: Warehouse) -> None:
    figures = compute_impact(hand_built, PERIOD, simulated=True)
    assert {k: v.clicks for k, v in figures.breakdowns["country"].items()} == {"PL": 160, "UA": 30}
    assert {k: v.clicks for k, v in figures.breakdowns["placement"].items()} == {
        "search": 90,
        "facebook": 60,
        "instagram": 40,
    }
    assert figures.clicks_by_device == {"mobile": 180, "desktop": 10}
    assert {month: t.impressions for month, t in figures.by_month.items()} == {
        dt.date(2022, 4, 1): 1200,
        dt.date(2022, 5, 1): 3300,
    }


def test_people_signposted_to_safety_is_partner_reported(hand_built: Warehouse) -> None:
    figures = compute_impact(hand_built, PERIOD, simulated=True)
    assert figures.people_signposted_to_safety == 7 + 3 + 4  # June's 5 is outside the period
    assert figures.outcomes_by_organisation == {
        "la-strada-poland": 7,
        "homo-faber": 3,
        "la-strada-ukraine": 4,
    }
    assert figures.outcomes_by_country == {"PL": 10, "UA": 4}
    assert figures.outcomes_basis == ("reported",)
    assert (
        compute_impact(
            hand_built, PERIOD, Slice.of(countries="UA"), simulated=True
        ).people_signposted_to_safety
        == 4
    )
    # partners count per organisation, country and month; a language or platform slice has no such figure
    assert (
        compute_impact(
            hand_built, PERIOD, Slice.of(languages="uk"), simulated=True
        ).people_signposted_to_safety
        is None
    )


def test_reloading_outcomes_replaces_the_file_s_rows(hand_built: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "outcomes" / "hand-built.yaml"
    path.write_text(
        path.read_text().replace("people_signposted_to_safety: 7", "people_signposted_to_safety: 8")
    )
    load_outcomes(hand_built, load_campaign_config(), [path])
    assert compute_impact(hand_built, PERIOD, simulated=True).people_signposted_to_safety == 15


def test_reloading_outcomes_writes_only_the_cells_that_changed(hand_built: Warehouse, tmp_path: Path) -> None:
    """An unchanged reload (every impact_report run reloads) leaves the rows as they were, ids and
    `loaded_at` included; a changed figure is stamped anew, a cell dropped from the file is gone."""
    from sqlalchemy import select

    from safepassage.adapters.warehouse.models import PartnerOutcome

    def held() -> dict[tuple[str, str, int], tuple[int, int, dt.datetime]]:
        with hand_built.session() as session:
            return {
                (o.organisation_id, o.country_code, o.month.month): (
                    o.id,
                    o.people_signposted_to_safety,
                    o.loaded_at,
                )
                for o in session.scalars(select(PartnerOutcome))
            }

    path = tmp_path / "outcomes" / "hand-built.yaml"
    before = held()
    load_outcomes(hand_built, load_campaign_config(), [path])
    assert held() == before

    text = path.read_text()
    path.write_text(text.replace("people_signposted_to_safety: 7", "people_signposted_to_safety: 8"))
    load_outcomes(hand_built, load_campaign_config(), [path])
    after = held()
    changed = {cell for cell in before if after.get(cell) != before[cell]}
    assert changed == {("la-strada-poland", "PL", 4)}
    assert after[("la-strada-poland", "PL", 4)][1] == 8
    assert after[("la-strada-poland", "PL", 4)][2] > before[("la-strada-poland", "PL", 4)][2]
    assert after[("la-strada-poland", "PL", 4)][0] == before[("la-strada-poland", "PL", 4)][0]

    path.write_text("\n".join(line for line in path.read_text().splitlines() if "homo-faber" not in line))
    load_outcomes(hand_built, load_campaign_config(), [path])
    assert set(held()) == set(after) - {("homo-faber", "PL", 5)}


def test_bad_outcome_file_names_file_line_and_field(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "title: Broken outcomes\ncollected_by: partnerships team\nbasis: reported\noutcomes:\n"
        "  - {organisation: la-strada-poland, country: PL, month: 2022-04, people_signposted_to_safety: 7}\n"
        "  - {organisation: kok, country: PL, month: 2022-13, people_signposted_to_safety: -1}\n"
        "  - {organisation: no-such-org, country: PL, month: 2022-05, people_signposted_to_safety: 1}\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as caught:
        load_outcomes(warehouse, load_campaign_config(), [path])
    text = str(caught.value)
    assert f"{path}:6: outcomes[1].month" in text
    assert f"{path}:6: outcomes[1].people_signposted_to_safety" in text
    # config checks run only once the file has the right shape; fix the shape and they show
    path.write_text(text := path.read_text().replace("2022-13", "2022-05").replace("-1}", "1}"))
    with pytest.raises(InvalidInput) as caught:
        load_outcomes(warehouse, load_campaign_config(), [path])
    assert f"{path}:6: outcomes[1].country: kok does not serve PL" in str(caught.value)
    assert f"{path}:7: outcomes[2].organisation: unknown organisation 'no-such-org'" in str(caught.value)
