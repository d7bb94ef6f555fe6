"""The bad-input corpus: every malformed file in bad_inputs/ goes through the entry point its user
runs, and must come back as a clear error naming the file, the line and the field, with no
traceback, nothing stored and not a byte of the project changed.

`bad_inputs/manifest.yaml` says, for each corpus file, which project file it stands in for and
where the error must point. Entry points, by the replaced file's folder:

- `config/…`                → `safepassage config check`
- `intelligence/outcomes/…` → `load_outcomes`, the impact_report DAG's loading step (with the
                              shipped outcomes file beside it: all or nothing)
- `intelligence/…`          → `safepassage intel publish --via none` (the judgement store stays empty)
- `creatives/…`             → `safepassage creatives check`
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from safepassage import settings
from safepassage.adapters.warehouse import Warehouse
from safepassage.cli import main
from safepassage.domain.errors import InvalidInput
from safepassage.services import campaign_config

CORPUS = Path(__file__).parent / "bad_inputs"
MANIFEST: dict[str, dict[str, Any]] = yaml.safe_load((CORPUS / "manifest.yaml").read_text("utf-8"))


@dataclass
class Outcome:
    code: int
    output: str


def test_every_corpus_file_has_an_expectation_and_every_expectation_a_file() -> None:
    files = {path.name for path in CORPUS.iterdir() if path.name != "manifest.yaml"}
    assert files == set(MANIFEST)


@pytest.fixture(scope="module")
def migrated_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated SQLite warehouse, copied for each case (migrating takes seconds)."""
    path = tmp_path_factory.mktemp("warehouse") / "w.db"
    Warehouse(f"sqlite:///{path}").migrate()
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_warehouse: Path) -> Iterator[Path]:
    """A copy of the project's inputs, with every setting pointing at it and a fresh warehouse."""
    (tmp_path / "warehouse").mkdir()
    shutil.copy(migrated_warehouse, tmp_path / "warehouse" / "w.db")
    root = tmp_path / "project"
    for folder in ("config", "intelligence"):
        shutil.copytree(settings.PROJECT_ROOT / folder, root / folder)
    monkeypatch.setenv("SAFEPASSAGE_CONFIG_DIR", str(root / "config"))
    monkeypatch.setenv("SAFEPASSAGE_INTELLIGENCE_DIR", str(root / "intelligence"))
    monkeypatch.setenv("SAFEPASSAGE_CREATIVES_DIR", str(root / "creatives"))
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'warehouse' / 'w.db'}")
    monkeypatch.chdir(root)
    campaign_config.clear_cache()
    yield root
    campaign_config.clear_cache()


def fingerprint(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def row_counts(warehouse: Warehouse) -> dict[str, int]:
    with warehouse.engine.connect() as connection:
        return {
            table: connection.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one()
            for table in sa.inspect(connection).get_table_names()
            if table != "alembic_version"
        }


def place(root: Path, case: str, target: str, pad_to: int | None) -> None:
    path = root / target
    if target.startswith("creatives/") and not (root / "creatives").exists():
        shutil.copytree(settings.PROJECT_ROOT / "creatives", root / "creatives")
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (CORPUS / case).read_bytes()
    if pad_to:  # huge payloads are made here, not kept in the repository
        data += b"# padding\n" * (pad_to // 10 + 1)
    path.write_bytes(data)


def run_cli(*argv: str) -> Outcome:
    """`safepassage ARGV` in this process. Its own buffers, not capsys: a log handler the first
    migration sets up keeps the stream it was given, and pytest closes capsys's after each test."""
    campaign_config.clear_cache()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return Outcome(code, out.getvalue() + err.getvalue())


def feed(root: Path, target: str) -> tuple[Outcome, Warehouse]:
    warehouse = Warehouse()
    if target.startswith("config/"):
        return run_cli("config", "check"), warehouse
    if target.startswith("creatives/"):
        return run_cli("creatives", "check"), warehouse
    if target.startswith("intelligence/outcomes/"):
        from safepassage.services.outcomes import load_outcomes, outcome_files

        try:
            loaded = load_outcomes(warehouse, campaign_config.load_campaign_config(), outcome_files())
        except InvalidInput as error:
            return Outcome(2, str(error)), warehouse
        return Outcome(0, f"{loaded} rows loaded"), warehouse
    return run_cli("intel", "publish", "--via", "none", target), warehouse


def expected_problem(case: str) -> tuple[str, str]:
    """What the problem line must start with (file:line: field: ) and the words it must contain."""
    expected = MANIFEST[case]
    target, field = expected["replaces"], expected.get("field", "")
    location = f"{target}:{expected['line']}: " if expected.get("line") else f"{target}: "
    return (f"{location}{field}: " if field else location), expected["says"]


def assert_refused(case: str, outcome: Outcome) -> None:
    wanted, words = expected_problem(case)
    assert outcome.code != 0, outcome.output
    problem = next((line for line in outcome.output.splitlines() if wanted in line), None)
    assert problem is not None, f"no line containing {wanted!r} in:\n{outcome.output[:3000]}"
    assert words in problem, problem
    assert "Traceback" not in outcome.output


CREATIVES = sorted(
    case for case, expected in MANIFEST.items() if expected["replaces"].startswith("creatives/")
)
ONE_AT_A_TIME = sorted(set(MANIFEST) - set(CREATIVES))


@pytest.mark.parametrize("case", ONE_AT_A_TIME)
def test_bad_input_is_refused_naming_file_line_and_field(case: str, project: Path) -> None:
    expected = MANIFEST[case]
    place(project, case, expected["replaces"], expected.get("pad_to"))
    before = fingerprint(project)

    outcome, warehouse = feed(project, expected["replaces"])

    assert_refused(case, outcome)
    assert fingerprint(project) == before, "a bad input changed or added a file"
    assert not any(row_counts(warehouse).values()), "a bad input left rows in the warehouse"


def test_bad_templates_and_catalogues_are_each_refused_by_one_creatives_check(project: Path) -> None:
    """All at once (each replaces a different file): rendering every ad takes seconds, and one
    broken file must not hide another's problem."""
    targets = [MANIFEST[case]["replaces"] for case in CREATIVES]
    assert len(set(targets)) == len(targets), "two creatives cases replace the same file"
    for case in CREATIVES:
        place(project, case, MANIFEST[case]["replaces"], None)
    before = fingerprint(project)

    outcome, warehouse = feed(project, targets[0])

    for case in CREATIVES:
        assert_refused(case, outcome)
    assert fingerprint(project) == before, "a bad input changed or added a file"
    assert not any(row_counts(warehouse).values()), "a bad input left rows in the warehouse"
