"""Partner-reported outcomes: read `intelligence/outcomes/*.yaml`, validate, load into the warehouse.

Bad input stops before anything is stored, with file, line and field (as for key judgements).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from safepassage import settings
from safepassage.adapters.files import load_document
from safepassage.domain.campaign import CampaignConfig
from safepassage.domain.errors import InvalidInput, Problem
from safepassage.domain.outcomes import PartnerOutcomeReport, check_outcomes
from safepassage.services.ports import Warehouse

OUTCOMES_FOLDER = "outcomes"
SCHEMA_FILE = "schema/partner-outcomes.schema.json"


def outcome_files(directory: Path | None = None) -> list[Path]:
    folder = Path(directory or settings.intelligence_dir() / OUTCOMES_FOLDER)
    return sorted(p for p in folder.glob("*.y*ml") if p.is_file()) if folder.is_dir() else []


def schema_text() -> str:
    """The published JSON Schema (intelligence/schema/partner-outcomes.schema.json is this, dumped)."""
    schema = PartnerOutcomeReport.model_json_schema()
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def _display(path: Path) -> str:
    try:
        return f"intelligence/{path.resolve().relative_to(settings.intelligence_dir().resolve()).as_posix()}"
    except ValueError:
        return str(path)


def read_outcomes(path: Path, config: CampaignConfig) -> PartnerOutcomeReport:
    document = load_document(path, display_name=_display(path))
    try:
        report = PartnerOutcomeReport.model_validate(document.data)
    except ValidationError as error:
        raise InvalidInput(document.problems_from(error)) from None
    problems = [document.problem(loc, message) for loc, message in check_outcomes(report, config)]
    if problems:
        raise InvalidInput(problems)
    return report


def load_outcomes(warehouse: Warehouse, config: CampaignConfig, paths: Iterable[Path] | None = None) -> int:
    """Validate every file first (all problems at once), then replace each file's rows. Returns rows."""
    paths = list(outcome_files() if paths is None else paths)
    problems: list[Problem] = []
    reports: list[tuple[Path, PartnerOutcomeReport]] = []
    for path in paths:
        try:
            reports.append((path, read_outcomes(path, config)))
        except InvalidInput as error:
            problems.extend(error.problems)
    if problems:
        raise InvalidInput(problems)
    loaded = 0
    for path, report in reports:
        rows: list[dict[str, Any]] = [
            {
                "organisation_id": item.organisation,
                "country_code": item.country,
                "month": item.month_start,
                "people_signposted_to_safety": item.people_signposted_to_safety,
                "basis": report.basis.value,
            }
            for item in report.outcomes
        ]
        loaded += warehouse.impact.replace_outcomes(_display(path), rows)
    return loaded
