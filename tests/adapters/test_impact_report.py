"""The impact report (HTML + PDF) and the `safepassage report` command on the hand-built warehouse."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from safepassage.adapters.warehouse import Warehouse
from safepassage.cli import main
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.impact import compute_impact
from safepassage.services.impact_report import write_report
from safepassage.services.outcomes import load_outcomes
from safepassage.services.reference_data import sync_reference_data
from tests.impact_warehouse import PERIOD, build


@pytest.fixture
def hand_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Warehouse]:
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", url)
    monkeypatch.setenv("SAFEPASSAGE_INTELLIGENCE_DIR", str(tmp_path))  # outcomes/ is the hand-built file
    store = Warehouse(url)
    store.migrate()
    sync_reference_data(load_campaign_config(), store)
    load_outcomes(store, load_campaign_config(), [build(store, tmp_path / "outcomes")])
    yield store
    store.dispose()


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_report_html_and_pdf_carry_the_same_figures(hand_built: Warehouse, tmp_path: Path) -> None:
    figures = compute_impact(hand_built, PERIOD, simulated=True)
    written = write_report(figures, load_campaign_config(), tmp_path / "out")
    page = written.html.read_text(encoding="utf-8")
    assert "<script" not in page and "http" not in page.split("</style>")[0]  # self-contained
    assert page.count("<svg") == 2  # the per-country and the monthly chart, inlined
    for text in (
        "2,500 – 4,000",
        "Poland",
        "Ukraine",
        "95%",
        "La Strada Foundation",
        "2.14 EUR",
        "150.00 EUR",
    ):
        assert text in page, text
    assert page.count(">simulated<") >= 10  # every platform figure is labelled
    assert "partner-reported" in page
    # no comparison unless one is given: the product knows no campaign's published figures
    assert "over 4 million" not in page and "Beside the" not in page and written.compared_with == ""
    pdf = _pdf_text(written.pdf)
    assert len(PdfReader(written.pdf).pages) >= 2
    for text in (
        "SafePassage impact report",
        "Headline figures",
        "people reached",
        "2,500",
        "4,000",
        "Poland",
    ):
        assert text in pdf, text
    assert written.headline == {
        "people_reached": "2,500 – 4,000",
        "countries": 2,
        "languages": 2,
        "organisations": 4,
        "mobile_share": "95%",
        "app_download_clicks": 6,
        "people_signposted_to_safety": 14,
    }


def test_real_platform_figures_carry_no_simulated_label(hand_built: Warehouse, tmp_path: Path) -> None:
    figures = compute_impact(hand_built, PERIOD, simulated=False)
    page = write_report(figures, load_campaign_config(), tmp_path / "out").html.read_text(encoding="utf-8")
    assert ">simulated<" not in page


def test_report_command(hand_built: Warehouse, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    code = main(
        ["report", "--from", "2022-04-01", "--to", "2022-05-31", "--out", str(out), "--country", "PL"]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "impact-report-2022-04-01-2022-05-31.pdf" in printed
    assert "2,500 – 3,500" in printed  # people reached in Poland: Google 1000, Meta 2500
    assert (out / "impact-report-2022-04-01-2022-05-31.html").exists()
    assert main(["report", "--from", "2022-05-31", "--to", "2022-04-01", "--out", str(out)]) == 2


def test_2022_report_sets_its_figures_beside_the_brief(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safepassage_dev.brief_2022 import write_2022_report
    from tests.impact_warehouse import fill_simulated_2022

    store = Warehouse(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    store.migrate()
    sync_reference_data(load_campaign_config(), store)
    fill_simulated_2022(store)
    written = write_2022_report(store, tmp_path / "out")  # with the shipped intelligence/outcomes/ file
    store.dispose()
    comparison = {label: (brief, ours) for label, brief, ours in written.rows}
    assert comparison["countries"] == ("19", "19")
    assert comparison["languages"] == ("9", "9")
    assert comparison["app-download clicks"] == ("93", "93")
    assert comparison["people signposted to safety"] == ("nearly 100", "97")  # the illustrative partner file
    assert "–" in comparison["people reached"][1]  # a range across the platforms
    page = written.html.read_text(encoding="utf-8")
    assert "Beside the 2022 impact report" in page and "illustrative" in page
    # the intelligence timeline: every 2022 judgement, the targeting it changed and who approved the push
    assert page.count("kj-2022-") >= 8
    assert "Campaign manager (Europe desk)" in page and "no review needed" in page
    assert "Beside the 2022 impact report" in _pdf_text(written.pdf)
    assert "people signposted to safety" in written.summary()


def test_a_pdf_leaves_no_info_lines_of_weasyprint_or_fonttools_in_the_task_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Thousands of layout and font-subsetting lines per report would bury what ops staff look for."""
    from safepassage.services.impact_report import write_pdf

    with caplog.at_level(logging.INFO):
        write_pdf("<html><body><h1>Impact</h1><p>Signposted: 97</p></body></html>", tmp_path / "r.pdf")
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    noisy = [
        r.name
        for r in caplog.records
        if r.name.startswith(("weasyprint", "fontTools")) and r.levelno < logging.WARNING
    ]
    assert noisy == []
