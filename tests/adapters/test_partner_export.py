"""The partner export on the hand-built warehouse: aggregates by country and month only, no small
cell published or recoverable, and a data dictionary beside the file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from safepassage.adapters.warehouse import Warehouse
from safepassage.cli import main
from safepassage.domain.impact import recoverable, table_equations
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.outcomes import load_outcomes
from safepassage.services.partner_export import COLUMNS, export_for_partners
from tests.impact_warehouse import PERIOD, build


@pytest.fixture
def hand_built(warehouse: Warehouse, tmp_path: Path) -> Warehouse:
    load_outcomes(warehouse, load_campaign_config(), [build(warehouse, tmp_path / "outcomes")])
    return warehouse


def _records(path: Path) -> dict[tuple[str, str, str], str]:
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == COLUMNS  # nothing but country, month and the figures
    return {(r["country"], r["month"], r["metric"]): r["value"] for r in rows}


def test_export_by_country_and_month_with_small_cells_withheld(hand_built: Warehouse, tmp_path: Path) -> None:
    written = export_for_partners(hand_built, PERIOD, tmp_path / "partners.csv", "csv", threshold=10)
    values = _records(written.path)
    # clicks (P1..P5): PL April 50+10, PL May 60+40, UA April none, UA May 30 — nothing small
    assert values[("PL", "2022-04", "clicks")] == "60"
    assert values[("PL", "2022-05", "clicks")] == "100"
    assert values[("UA", "2022-04", "clicks")] == "0"
    assert values[("ALL", "ALL", "clicks")] == "190"
    # app-download clicks: PL April 2, PL May 3, UA May 1 (and every total, all under 10): withheld;
    # UA April's 0 is published
    for cell in (("PL", "2022-04"), ("PL", "2022-05"), ("UA", "2022-05"), ("PL", "ALL"), ("ALL", "ALL")):
        assert values[(*cell, "app_download_clicks")] == "", cell
    assert values[("UA", "2022-04", "app_download_clicks")] == "0"
    # people signposted to safety (partner-reported): PL April 7, PL May 3, UA May 4 and every total
    # but the grand total 14 are withheld — UA April's 0 too, else UA's 4 would be 14 - 10 (PL)
    outcomes = {k[:2]: v for k, v in values.items() if k[2] == "people_signposted_to_safety"}
    assert outcomes == {cell: "" for cell in outcomes if cell != ("ALL", "ALL")} | {("ALL", "ALL"): "14"}
    # signposting clicks: PL April 24, PL May 36, UA May 10 (not below 10): published, nothing small
    assert values[("UA", "2022-05", "signposting_clicks")] == "10"
    published = [int(v) for v in values.values() if v != ""]
    assert not [v for v in published if 0 < v < 10]
    assert written.withheld > 0
    dictionary = written.dictionary.read_text(encoding="utf-8")
    assert written.dictionary == tmp_path / "partners.dictionary.md"
    for text in (
        "people_signposted_to_safety",
        "partner-reported",
        "Counts from 1 to 9 are withheld",
        "`country`",
    ):
        assert text in dictionary


def test_no_withheld_cell_follows_from_the_totals(hand_built: Warehouse, tmp_path: Path) -> None:
    written = export_for_partners(hand_built, PERIOD, tmp_path / "partners.json", "json", threshold=25)
    document = json.loads(written.path.read_text(encoding="utf-8"))
    assert document["small_cell_threshold"] == 25
    by_metric: dict[str, set[tuple[str, str]]] = {}
    for record in document["records"]:
        assert set(record) == set(COLUMNS)
        if record["value"] is None:
            by_metric.setdefault(record["metric"], set()).add((record["country"], record["month"]))
        else:
            assert not 0 < record["value"] < 25
    # signposting clicks at 25: PL April 24 is small; it must not be 60 - 36 away
    assert ("PL", "2022-04") in by_metric["signposting_clicks"]
    for withheld in by_metric.values():
        assert recoverable(withheld, table_equations(["PL", "UA"], ["2022-04", "2022-05"])) == set()


def test_export_command(hand_built: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", hand_built.url)
    out = tmp_path / "x" / "partners.json"
    assert main(["export", "--from", "2022-04-01", "--to", "2022-05-31", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["records"] and (tmp_path / "x" / "partners.dictionary.md").exists()
