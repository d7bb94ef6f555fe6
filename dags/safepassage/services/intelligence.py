"""Key judgements: read and validate files, keep them in the judgement store, derive targeting.

The store (warehouse table `key_judgement`) is what `refresh_targeting` reads. Publishing writes
there first and only then sends an event, so an event lost on the way costs nothing but time:
the daily run, or the next event, reads the same store.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from safepassage.adapters.files import SourceDocument, load_document
from safepassage.domain.campaign import CampaignConfig
from safepassage.domain.errors import InvalidInput, Problem, field_path
from safepassage.domain.intelligence import (
    KeyJudgement,
    check_against_config,
    in_force,
    overlapping_windows,
)
from safepassage.domain.targeting import (
    StoredSnapshot,
    Targeting,
    derive_targeting,
    diff_targeting,
    judgement_hash,
    render_diff,
    stable_hash,
)
from safepassage.services.ports import Warehouse

JUDGEMENT_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass
class LoadedJudgement:
    judgement: KeyJudgement
    document: SourceDocument | None  # None when it came from the store

    @property
    def name(self) -> str:
        return self.document.name if self.document else f"judgement store: {self.judgement.id}"

    def problem(self, loc: Sequence[str | int], message: str) -> Problem:
        if self.document is not None:
            return self.document.problem(loc, message)
        return Problem(file=self.name, field=field_path(loc), message=message)


def judgement_schema() -> dict[str, Any]:
    """The published JSON Schema (intelligence/schema/key-judgement.schema.json is this, dumped)."""
    return KeyJudgement.model_json_schema()


def schema_text() -> str:
    return json.dumps(judgement_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given; directories become their judgement files (not the schema/ folder)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix in JUDGEMENT_SUFFIXES))
        else:
            found.append(path)
    return found


def parse_file(path: Path, display_name: str = "") -> LoadedJudgement:
    document = load_document(path, display_name=display_name or str(path))
    if not isinstance(document.data, dict):
        raise InvalidInput(
            [document.problem((), "a key judgement is a mapping (id, issued, countries, ...)")]
        )
    try:
        judgement = KeyJudgement.model_validate(document.data)
    except ValidationError as error:
        raise InvalidInput(document.problems_from(error)) from None
    return LoadedJudgement(judgement, document)


def validate(loaded: Sequence[LoadedJudgement], config: CampaignConfig) -> list[Problem]:
    """Every rule across the given judgements: config, geography, radii, sources, overlaps, ids."""
    problems: list[Problem] = []
    for item in loaded:
        problems.extend(
            item.problem(finding.loc, finding.message)
            for finding in check_against_config(item.judgement, config)
        )
    by_identity = {id(item.judgement): item for item in loaded}
    seen: dict[str, LoadedJudgement] = {}
    for item in loaded:
        earlier = seen.get(item.judgement.id)
        if earlier is not None and earlier.judgement != item.judgement:
            problems.append(item.problem(("id",), f"id {item.judgement.id!r} is also used by {earlier.name}"))
        seen[item.judgement.id] = item
    for overlap in overlapping_windows(item.judgement for item in loaded):
        later = by_identity[id(overlap.later)]
        first = overlap.earlier
        problems.append(
            later.problem(
                ("valid_from",),
                f"validity {overlap.later.valid_from}..{overlap.later.valid_until} overlaps {first.id} "
                f"({first.valid_from}..{first.valid_until}, {by_identity[id(first)].name}); "
                "only one judgement may be in force on a day: end the earlier one or start this one later",
            )
        )
    return problems


def check_files(
    paths: Iterable[Path], config: CampaignConfig, store: Sequence[KeyJudgement] = ()
) -> list[LoadedJudgement]:
    """Parse and validate files (together with what is already in the store); raise on any problem."""
    paths = list(paths)
    problems: list[Problem] = []
    loaded: list[LoadedJudgement] = []
    for path in expand_paths(paths):
        try:
            loaded.append(parse_file(path))
        except InvalidInput as error:
            problems.extend(error.problems)
    if not loaded and not problems:
        problems.append(
            Problem(file=", ".join(map(str, paths)) or "(none)", field="", message="no judgement files")
        )
    new_ids = {item.judgement.id for item in loaded}
    kept = [LoadedJudgement(j, None) for j in store if j.id not in new_ids]
    problems.extend(validate([*loaded, *kept], config))
    if problems:
        raise InvalidInput(problems)
    return loaded


# --- the judgement store -----------------------------------------------------------------------


def stored_judgements(warehouse: Warehouse) -> list[KeyJudgement]:
    """Everything in the store, oldest validity first. A record that no longer parses is a problem."""
    problems: list[Problem] = []
    judgements: list[KeyJudgement] = []
    for record in warehouse.targeting.judgement_records():
        try:
            judgements.append(KeyJudgement.model_validate(record.document))
        except ValidationError as error:
            problems.extend(
                Problem(
                    file=f"judgement store: {record.id} (from {record.source_name or 'unknown'})",
                    field=field_path(item["loc"]),
                    message=item["msg"],
                )
                for item in error.errors(include_url=False)
            )
    if problems:
        raise InvalidInput(problems)
    return judgements


def publish(loaded: Sequence[LoadedJudgement], warehouse: Warehouse) -> list[str]:
    """Put validated judgements into the store (a new version of an id replaces the old one)."""
    rows = [
        {
            "id": item.judgement.id,
            "content_hash": judgement_hash(item.judgement),
            "issued": item.judgement.issued,
            "valid_from": item.judgement.valid_from,
            "valid_until": item.judgement.valid_until,
            "document": item.judgement.model_dump(mode="json"),
            "source_name": item.name[:500],
        }
        for item in loaded
    ]
    warehouse.targeting.upsert_judgements(rows)
    return [item.judgement.id for item in loaded]


# --- targeting snapshots -----------------------------------------------------------------------


@dataclass
class RefreshResult:
    as_of: dt.date
    judgement_id: str | None
    stored: bool
    snapshot_id: int | None
    content_hash: str
    targeting: Targeting
    diff: dict[str, Any] = field(default_factory=dict)
    table: str = ""

    def summary(self) -> str:
        source = self.judgement_id or "no judgement in force (baseline everywhere)"
        if not self.stored:
            return f"Targeting as of {self.as_of} from {source}: unchanged, nothing stored."
        return f"Targeting as of {self.as_of} from {source}: stored snapshot {self.snapshot_id}."


def refresh_targeting(config: CampaignConfig, warehouse: Warehouse, on: dt.date) -> RefreshResult:
    """Validate the store, derive the targeting for `on`, store it if it differs from the latest.

    Raises InvalidInput (nothing written) when any stored judgement breaks a rule.
    """
    judgements = stored_judgements(warehouse)
    problems = validate([LoadedJudgement(j, None) for j in judgements], config)
    if problems:
        raise InvalidInput(problems)
    current = in_force(judgements, on)
    targeting = derive_targeting(config, current, on)
    content = targeting.content_hash()
    document = targeting.as_json()
    shown: dict[str, Any] = {}

    def next_snapshot(latest: StoredSnapshot | None) -> dict[str, Any] | None:
        diff = diff_targeting(latest.targeting if latest else None, document)
        shown.update(diff=diff, table=render_diff(diff))
        if latest is not None and _content_of(latest.targeting) == content:
            return None
        # Chained with the previous snapshot so that returning to an earlier targeting (A → B → A) is
        # stored again as the newest, while a re-run with unchanged inputs stores nothing.
        diff["table"] = shown["table"]
        return {
            "judgement_id": targeting.judgement_id or "baseline",
            "judgement_hash": targeting.judgement_hash or content,
            "content_hash": stable_hash([content, latest.content_hash if latest else None]),
            "valid_from": on,  # in effect from the day it was derived for (what "latest" orders by)
            "targeting": document,
            "diff_from_previous": diff,
        }

    snapshot_id, stored = warehouse.targeting.store_snapshot(on, next_snapshot)
    return RefreshResult(
        on, targeting.judgement_id, stored, snapshot_id, content, targeting, shown["diff"], shown["table"]
    )


def _content_of(document: dict[str, Any]) -> str:
    """`Targeting.content_hash()` of a stored document, without re-validating old snapshots."""
    return stable_hash({key: value for key, value in document.items() if key != "as_of"})


def latest_targeting(warehouse: Warehouse, on: dt.date | None = None) -> dict[str, Any] | None:
    """The targeting document in effect (latest effective date, then newest; on `on` if given)."""
    return warehouse.targeting.latest_targeting_document(on)
