"""Key judgement files: the shipped schema and series, and one error per kind of bad input."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest

from safepassage import settings
from safepassage.domain.errors import InvalidInput
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.intelligence import check_files, schema_text
from tests.judgement_samples import line_of, write_judgement

SCHEMA_FILE = settings.PROJECT_ROOT / "intelligence" / "schema" / "key-judgement.schema.json"


@pytest.fixture(scope="module")
def config():
    return load_campaign_config()


def problems_of(paths: list[Path], config) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        check_files(paths, config)
    return [str(problem) for problem in caught.value.problems]


def test_shipped_schema_is_the_generated_one():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "intelligence/schema/key-judgement.schema.json is stale: run "
        "`safepassage intel schema --write intelligence/schema/key-judgement.schema.json`"
    )
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert {"id", "valid_from", "valid_until", "analyst", "confidence", "sources", "countries"} <= set(
        schema["required"]
    )


def test_shipped_2022_series_is_valid_and_covers_the_campaign(config):
    loaded = check_files([settings.PROJECT_ROOT / "intelligence"], config)
    judgements = sorted((item.judgement for item in loaded), key=lambda j: j.valid_from)
    assert judgements[0].valid_from == dt.date(2022, 3, 25)
    assert judgements[-1].valid_until == dt.date(2022, 10, 31)
    for earlier, later in itertools.pairwise(judgements):
        assert later.valid_from == earlier.valid_until + dt.timedelta(days=1), "gap or overlap in the series"
    assert {j.valid_from.month for j in judgements} == set(range(3, 11)), "at least one per month"
    march = judgements[0]
    names = {h.name for a in march.countries.values() for h in a.hotspots}
    assert {"Medyka border crossing", "Palanca border crossing", "Záhony border crossing"} <= names
    assert "Berlin Hauptbahnhof" in names and "Warszawa Zachodnia station" in names
    autumn_themes = {t.value for a in judgements[-2].countries.values() for t in a.risk_themes}
    assert "return_journeys" in autumn_themes


def test_a_valid_sample_passes(tmp_path, config):
    assert [item.judgement.id for item in check_files([write_judgement(tmp_path)], config)] == [
        "kj-2022-03-25-test"
    ]


def test_unknown_country_names_file_line_and_field(tmp_path, config):
    path = write_judgement(tmp_path, replace=(("  MD:", "  BY:"),))
    problems = problems_of([path], config)
    assert problems == [f"{path}:{line_of(path, '  BY:')}: countries.BY: " + problems[0].split(": ", 2)[2]]
    assert "unknown country 'BY'" in problems[0]


def test_hotspot_outside_its_country(tmp_path, config):
    # latitude and longitude swapped: the classic mistake
    path = write_judgement(
        tmp_path, replace=(("lat: 49.8036", "lat: 22.9428"), ("lon: 22.9428", "lon: 49.8036"))
    )
    (problem,) = problems_of([path], config)
    assert problem.startswith(f"{path}:{line_of(path, 'lat: 22.9428')}: countries.PL.hotspots[0].lat: ")
    assert "outside PL" in problem


@pytest.mark.parametrize("radius", ["0.5", "120"])
def test_radius_outside_platform_bounds(tmp_path, config, radius):
    path = write_judgement(tmp_path, replace=(("radius_km: 10", f"radius_km: {radius}"),))
    (problem,) = problems_of([path], config)
    assert problem.startswith(f"{path}:{line_of(path, 'radius_km')}: countries.PL.hotspots[0].radius_km: ")
    assert "1-80 km" in problem


def test_overlapping_validity_windows_between_judgements(tmp_path, config):
    first = write_judgement(tmp_path, "a.yaml")
    second = write_judgement(tmp_path, "b.yaml", start=dt.date(2022, 4, 10), end=dt.date(2022, 5, 10))
    (problem,) = problems_of([first, second], config)
    assert problem.startswith(f"{second}:{line_of(second, 'valid_from')}: valid_from: ")
    assert "overlaps kj-2022-03-25-test" in problem


def test_missing_sources(tmp_path, config):
    path = write_judgement(
        tmp_path,
        replace=(
            (
                "sources:\n  - id: unhcr-portal\n    title: UNHCR Operational Data Portal\n"
                "    url: https://data.unhcr.org/en/situations/ukraine\n",
                "sources: []\n",
            ),
        ),
    )
    problems = problems_of([path], config)
    assert problems == [
        f"{path}:{line_of(path, 'sources: []')}: sources: "
        "missing source: a judgement cites at least one public source (title + url)"
    ]


def test_figure_citing_a_source_that_is_not_listed(tmp_path, config):
    path = write_judgement(tmp_path, replace=(("      source: unhcr-portal", "      source: iom-dtm"),))
    (problem,) = problems_of([path], config)
    assert problem.startswith(
        f"{path}:{line_of(path, 'source: iom-dtm')}: countries.PL.people_on_the_move.source: missing source"
    )


def test_figure_without_source_unless_illustrative(tmp_path, config):
    path = write_judgement(tmp_path, replace=(("      source: unhcr-portal\n", ""),))
    (problem,) = problems_of([path], config)
    assert problem.startswith(
        f"{path}:{line_of(path, 'people_on_the_move')}: countries.PL.people_on_the_move: "
    )
    assert "needs a `source`" in problem


def test_analyst_is_a_team_not_a_person(tmp_path, config):
    path = write_judgement(tmp_path, replace=(("analyst: Test intelligence team", "analyst: Jane Doe"),))
    (problem,) = problems_of([path], config)
    assert problem.startswith(f"{path}:{line_of(path, 'analyst')}: analyst: ")


def test_unknown_language_and_yaml_syntax(tmp_path, config):
    bad_language = write_judgement(
        tmp_path, "lang.yaml", replace=(("languages: [uk, ru]", "languages: [uk, be]"),)
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: kj-2022-03-25-x\ntitle: [unclosed\n", encoding="utf-8")
    problems = problems_of([bad_language, broken], config)
    assert any(
        p.startswith(
            f"{bad_language}:{line_of(bad_language, 'languages: [uk, be]')}: countries.PL.languages[1]: "
        )
        for p in problems
    ), problems
    assert any(p.startswith(f"{broken}:") and "not valid YAML" in p for p in problems), problems
