"""A small valid key judgement, as YAML text, that tests break one field at a time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

VALID_JUDGEMENT = """\
id: kj-{start}-test
title: Test judgement for the border
issued: {start}
valid_from: {start}
valid_until: {end}
analyst: Test intelligence team
confidence: high
summary: A judgement written for the tests.
sources:
  - id: unhcr-portal
    title: UNHCR Operational Data Portal
    url: https://data.unhcr.org/en/situations/ukraine
countries:
  PL:
    risk_level: very_high
    people_on_the_move:
      value: 2000000
      basis: estimate
      source: unhcr-portal
      note: border crossings
    hotspots:
      - name: Medyka border crossing
        kind: border_crossing
        lat: 49.8036
        lon: 22.9428
        radius_km: 10
    languages: [uk, ru]
    risk_themes: [transport_offers]
  MD:
    risk_level: high
    people_on_the_move:
      value: 90000
      basis: illustrative
    languages: [ru, uk]
    risk_themes: [transport_offers]
"""


def judgement_text(start: dt.date = dt.date(2022, 3, 25), end: dt.date = dt.date(2022, 4, 21)) -> str:
    return VALID_JUDGEMENT.format(start=start.isoformat(), end=end.isoformat())


def write_judgement(
    folder: Path,
    name: str = "judgement.yaml",
    start: dt.date = dt.date(2022, 3, 25),
    end: dt.date = dt.date(2022, 4, 21),
    replace: tuple[tuple[str, str], ...] = (),
) -> Path:
    text = judgement_text(start, end)
    for old, new in replace:
        assert old in text, f"test setup: {old!r} not in the sample"
        text = text.replace(old, new, 1)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, fragment: str) -> int:
    """1-based line of the first line containing `fragment`."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in {path}")
