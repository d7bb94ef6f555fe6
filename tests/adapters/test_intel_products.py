"""Intelligence products from the 2022 judgements and the hand-built warehouse: rendered in the
creatives' emulators from editable templates, escaped, translated, and failing with file and line."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from safepassage import settings
from safepassage.adapters.warehouse import Warehouse
from safepassage.domain.errors import InvalidInput
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.impact import compute_impact
from safepassage.services.intel_products import (
    judgements_in,
    load_products,
    note_context,
    products_dir,
    render_product,
    sectors_at_risk,
    write_products,
)
from safepassage.services.intelligence import check_files, publish
from safepassage.services.outcomes import load_outcomes
from safepassage.services.reference_data import sync_reference_data
from tests.impact_warehouse import PERIOD, build


@pytest.fixture
def hand_built(tmp_path: Path) -> Iterator[Warehouse]:
    store = Warehouse(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    store.migrate()
    config = load_campaign_config()
    sync_reference_data(config, store)
    load_outcomes(store, config, [build(store, tmp_path / "outcomes")])
    publish(check_files([settings.intelligence_dir()], config), store)
    yield store
    store.dispose()


@pytest.mark.slow
def test_products_for_april_and_may_2022(hand_built: Warehouse, tmp_path: Path) -> None:
    judgements = judgements_in(hand_built, PERIOD)
    assert [j.id for j in judgements] == [
        "kj-2022-03-25-border-crossings",
        "kj-2022-04-22-onward-movement",
        "kj-2022-05-20-job-offers",
    ]
    # kj-2022-05-20 sees sectors at risk in PL, DE, CZ and IT
    assert ("PL", "logistics and warehousing") in sectors_at_risk(judgements)
    written = write_products(hand_built, PERIOD, tmp_path / "products")
    names = {path.name for path in written.files}
    assert {"key-judgements-en.pdf", "briefing-pl-logistics-and-warehousing-en.pdf"} <= names
    assert "briefing-pl-logistics-and-warehousing-pl.html" in names  # products.yaml: PL notes also in Polish
    assert (
        "briefing-it-domestic-care-work-en.html" in names
        and "briefing-it-domestic-care-work-it.html" not in names
    )
    polish = (tmp_path / "products" / "briefing-pl-logistics-and-warehousing-pl.html").read_text(
        encoding="utf-8"
    )
    assert "Notatka informacyjna: logistics and warehousing – Poland" in polish
    assert "Warszawa (city)" in polish and "La Strada Foundation" in polish
    assert "2,500 – 3,500" in polish  # people reached in Poland (Google 1000, Meta 2500)
    summary = PdfReader(tmp_path / "products" / "key-judgements-en.pdf")
    text = "\n".join(page.extract_text() for page in summary.pages)
    assert "Key judgements: 2022-04-01 – 2022-05-31" in text and "job and accommodation offers" in text


def test_small_counts_leave_only_as_fewer_than(hand_built: Warehouse) -> None:
    judgements = [j for j in judgements_in(hand_built, PERIOD) if j.id == "kj-2022-05-20-job-offers"]
    figures = compute_impact(hand_built, PERIOD, simulated=True)
    context = note_context("PL", "cleaning", judgements, figures, load_campaign_config(), threshold=50)
    # Poland: 60 signposting clicks and 7 + 3 people signposted to safety
    assert context["note"]["campaign"]["signposting_clicks"] == "60"
    assert context["note"]["campaign"]["people_signposted_to_safety"] == "< 50"


def test_values_are_escaped_and_templates_are_sandboxed(tmp_path: Path) -> None:
    library = load_products()
    note = {
        "country": {"code": "PL", "name": "Poland"},
        "sector": "<script>alert(1)</script>",
        "period": "2022",
        "judgements": [],
        "campaign": {
            "reach": "1",
            "signposting_clicks": "1",
            "people_signposted_to_safety": "1",
            "simulated": True,
        },
        "organisations": [{"name": "A & B", "url": "https://example.org/", "helpline": ""}],
    }
    body = render_product(library, "briefing_note.j2", "en", {"note": note})
    assert "<script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "A &amp; B" in body

    root = tmp_path / "products"
    shutil.copytree(products_dir(), root)
    template = root / "templates" / "briefing_note.j2"
    lines = template.read_text(encoding="utf-8").splitlines()
    lines[18] = "{{ ''.__class__.__mro__ }}"
    template.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        render_product(load_products(root), "briefing_note.j2", "en", {"note": note})
    assert "products/templates/briefing_note.j2:19" in str(caught.value)

    lines[18] = '<p>{{ _("A sentence nobody translated yet") }}</p>'
    template.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        render_product(load_products(root), "briefing_note.j2", "pl", {"note": note})
    assert "products/templates/briefing_note.j2:19" in str(caught.value)
    assert "no pl translation of «A sentence nobody translated yet»" in str(caught.value)
