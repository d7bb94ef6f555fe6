"""Every DAG in dags/ loads through Airflow's own DagBag and follows the project's conventions."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from safepassage import settings

DAGS_DIR = settings.PROJECT_ROOT / "dags"
DAG_FILES = sorted(DAGS_DIR.glob("*.py"))
AD_SDK_MODULES = ("google.ads", "facebook_business", "grpc")
FORBIDDEN_TOP_LEVEL_IMPORTS = (
    *AD_SDK_MODULES,
    "sqlalchemy",
    "safepassage.adapters",
    "safepassage.services",
    "redis",
    "requests",
    "psycopg",
)


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_dag_files_exist() -> None:
    assert DAG_FILES, "no DAG files found"


def test_no_import_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert len(dagbag.dags) == len(DAG_FILES), "one DAG per file"


def test_every_dag_is_documented_owned_tagged_and_retried(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags and "safepassage" in dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md.strip()) > 80, f"{dag_id}: doc_md should explain the DAG"
        assert dag.owner and dag.owner != "airflow", f"{dag_id}: set an owner"
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id}: no retries"
            assert task.execution_timeout is not None, f"{dag_id}.{task.task_id}: no execution_timeout"
        if dag.start_date is not None:
            assert dag.start_date.tzinfo is not None, dag_id


def test_switching_a_dag_on_never_runs_it_at_once(dagbag) -> None:  # type: ignore[no-untyped-def]
    """A time schedule's first run is its next time: unpausing (or a fresh Airflow) starts nothing."""
    import datetime as dt

    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    now = dt.datetime.now(dt.UTC)
    for dag_id, dag in dagbag.dags.items():
        restriction = TimeRestriction(earliest=dag.start_date, latest=None, catchup=dag.catchup)
        timetable = coerce_to_core_timetable(dag.timetable)  # what the scheduler evaluates
        first = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
        assert first is None or first.run_after > now, f"{dag_id} would run at once: {first}"


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_only_wire(path: Path) -> None:
    """No SDK, database or service import at module level: those belong inside tasks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert not name.startswith(FORBIDDEN_TOP_LEVEL_IMPORTS), (
                f"{path.name}: top-level import of {name}"
            )


PARSE_PROBE = """
import json, socket, sys
opened = []
def refuse(self, address, *args, **kwargs):
    opened.append(repr(address))
    raise OSError("DAG parsing must not open connections")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dags": sorted(bag.dags),
    "sdk_modules": sorted(m for m in sys.modules if m.startswith(tuple(sys.argv[2].split(",")))),
    "connections": opened,
}))
"""


def test_parsing_imports_no_ad_sdk_and_opens_no_connection() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PARSE_PROBE, str(DAGS_DIR), ",".join(AD_SDK_MODULES)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}
    assert report["dags"], "no DAGs parsed"
    assert report["sdk_modules"] == [], f"parsing imported {report['sdk_modules']}"
    assert report["connections"] == []


# Modules too slow to import at parse time (DESIGN.md: no heavy import at DAG top level); each
# costs tens to hundreds of ms per parse. refresh_targeting once pulled in redis and OpenTelemetry
# through the messaging providers (~250 ms). Times are `make bench` figures (bench/dag_parse.py);
# this only checks which modules a DAG file adds over a bare `import airflow.sdk`.
HEAVY_MODULES = (
    *FORBIDDEN_TOP_LEVEL_IMPORTS,
    "airflow.providers.common.messaging",
    "airflow.providers.redis",
    "opentelemetry.sdk",
    "jinja2",
    "pandas",
    "numpy",
    "altair",
    "matplotlib",
    "weasyprint",
    "babel",
    "yaml",
)
HEAVY_PROBE = """
import importlib.util, json, sys
sys.path.insert(0, sys.argv[1])
heavy = tuple(sys.argv[2].split(","))
import airflow.sdk
seen = set(sys.modules)
added = {}
for index, path in enumerate(sys.argv[3:]):
    spec = importlib.util.spec_from_file_location(f"dag_file_{index}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    new = set(sys.modules) - seen
    added[path] = sorted(m for m in new if any(m == h or m.startswith(h + ".") for h in heavy))
    seen |= new
print(json.dumps(added))
"""


def test_parsing_a_dag_file_imports_nothing_heavy_beyond_the_sdk() -> None:
    result = subprocess.run(
        [sys.executable, "-c", HEAVY_PROBE, str(DAGS_DIR), ",".join(HEAVY_MODULES), *map(str, DAG_FILES)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    added = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(added) == {str(path) for path in DAG_FILES}
    assert {Path(path).name: modules for path, modules in added.items() if modules} == {}
