"""Idempotency: every DAG's run, re-run three times and then each of its tasks cleared and re-run alone,
leaves the warehouse byte-identical and the emulators without one object more, on SQLite and PostgreSQL.
`make test` re-runs each DAG's run once, on both databases; `make proof` the whole form above.

The chain runs for real, in the order the assets wake it: reference data, targeting, creatives,
budgets, the first push (approved by a person), a performance pull, the impact report and a kill
switch. Each DAG's first run is `dag.test()`; its re-runs clear task instances of that same run (same
run id, conf and logical date), as the UI's *Clear* does, and run them with the very task runner
`dag.test()` uses. Parsing the DAG folder once per DAG instead of once per re-run keeps this in
`make test`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from safepassage import settings
from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse.checksum import table_rows, warehouse_checksum
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.intelligence import check_files, publish
from tests.emulator_fixtures import emulator_objects
from tests.local_reviewer import LocalReviewer


@dataclass(frozen=True)
class Depth:
    reruns: int  # whole-run re-runs of each DAG's first run
    each_task: bool  # then each task cleared and re-run alone


ONE_RERUN = Depth(reruns=1, each_task=False)  # make test
FULL = Depth(reruns=3, each_task=True)  # make proof
# When the pull last observed a campaign and fetched a reach figure: wall-clock observation stamps
# that every pull refreshes by design (not the data it loads). Nothing else is left out.
OBSERVATION_STAMPS = {
    "dim_campaign": ("last_seen_at",),
    "fact_period_reach": ("retrieved_at",),
}


@pytest.fixture(scope="module")
def dagbag(airflow_db: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(settings.PROJECT_ROOT / "dags"))
    assert not bag.import_errors
    return bag


@dataclass(frozen=True)
class Step:
    dag_id: str
    conf: dict[str, Any] = field(default_factory=dict)
    before: Callable[[Any, Warehouse], None] = lambda _sandbox, _warehouse: None


def publish_judgements(_sandbox: Any, warehouse: Warehouse) -> None:
    publish(check_files([settings.PROJECT_ROOT / "intelligence"], load_campaign_config()), warehouse)


def a_week_later(emulators: Any, _warehouse: Warehouse) -> None:
    emulators.clock.set(dt.datetime(2022, 4, 1, 8, tzinfo=dt.UTC))


CHAIN = (
    Step("sync_reference_data"),
    Step("refresh_targeting", {"as_of": "2022-03-28"}, publish_judgements),
    Step("render_creatives"),
    Step("allocate_budgets", {"as_of": "2022-03-28"}),
    Step("push_campaigns"),
    Step("pull_performance", {"from": "2022-03-25", "to": "2022-03-31"}, a_week_later),
    Step("impact_report", {"from": "2022-03-25", "to": "2022-03-31"}),
    Step("kill_switch", {"country": "MD", "action": "pause", "reason": "Partner reports a scam wave"}),
)


@pytest.fixture
def reviewer() -> Iterator[LocalReviewer]:
    """Approves every plan review that opens during the test, as a person in the UI would."""
    approving = LocalReviewer("Approve", "checked", user="reviewer-anna", timeout_seconds=3600)
    approving.start()
    yield approving
    approving.stop()


def states(run: Any) -> dict[str, str]:
    return {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in run.get_task_instances()}


def clear_and_run(dag: Any, run_id: str, task_ids: set[str] | None = None) -> tuple[str, dict[str, str]]:
    """Clear the run's task instances (all, or those of `task_ids`, downstream left alone) and run
    them to the end as `dag.test()` does; the run's final state and its task states."""
    from airflow.models.dagbag import DBDagBag
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import clear_task_instances
    from airflow.sdk.definitions.dag import _run_task
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(
            select(DagRun).where(DagRun.dag_id == dag.dag_id, DagRun.run_id == run_id)
        ).one()
        cleared = [
            ti for ti in run.get_task_instances(session=session) if task_ids is None or ti.task_id in task_ids
        ]
        assert cleared, f"{dag.dag_id} {run_id} has no task instance of {task_ids}"
        clear_task_instances(cleared, session, dag_run_state=DagRunState.RUNNING)
    with create_session() as session:
        run = session.scalars(
            select(DagRun).where(DagRun.dag_id == dag.dag_id, DagRun.run_id == run_id)
        ).one()
        run.dag = DBDagBag().get_dag_for_run(run, session=session)
        while run.state == DagRunState.RUNNING:
            session.expire_all()
            schedulable, _ = run.update_state(session=session)
            for ti in schedulable:
                if ti.state != TaskInstanceState.UP_FOR_RESCHEDULE:
                    ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
            session.commit()
            scheduled = [
                ti
                for ti in run.get_task_instances(session=session)
                if ti.state == TaskInstanceState.SCHEDULED
            ]
            for ti in scheduled:
                _run_task(ti=ti, task=dag.task_dict[ti.task_id], run_triggerer=True)
            if not scheduled:
                time.sleep(0.5)  # a review waits for the reviewer thread
        return str(run.state), {
            f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in run.get_task_instances(session=session)
        }


def row_changes(before: list[str], after: list[str]) -> list[str]:
    """What a table lost and gained, briefly: changed columns of rows with the same id, else whole rows."""
    gone, new = sorted(set(before) - set(after)), sorted(set(after) - set(before))
    old_by_id = {json.loads(line).get("id"): json.loads(line) for line in gone}
    found = []
    for line in new:
        row = json.loads(line)
        old = old_by_id.pop(row.get("id"), None) if row.get("id") is not None else None
        if old is None:
            found.append(f"new row {line[:300]}")
        else:
            diff = {k: (str(old.get(k))[:150], str(v)[:150]) for k, v in row.items() if old.get(k) != v}
            found.append(f"row id {row['id']} changed {diff}")
    found += [f"gone row {json.dumps(old)[:300]}" for old in old_by_id.values()]
    return found[:5]


def unchanged(
    before: dict[str, list[str]],
    warehouse: Warehouse,
    objects: dict[str, list[str]],
    emulators: Any,
    what: str,
) -> None:
    after = table_rows(warehouse, OBSERVATION_STAMPS)
    changed = {
        table: row_changes(rows, after[table]) for table, rows in before.items() if rows != after[table]
    }
    assert not changed, f"{what} changed the warehouse: {changed}"
    now = emulator_objects(emulators)
    extra = {kind: sorted(set(now.get(kind, [])) - set(names))[:5] for kind, names in now.items()}
    assert now == objects, f"{what} changed the emulators; new objects: {extra}"


@pytest.mark.slow
@pytest.mark.parametrize(
    "depth",
    [
        pytest.param(ONE_RERUN, id="one-rerun"),
        pytest.param(FULL, id="three-reruns-and-each-task", marks=pytest.mark.proof),
    ],
)
def test_every_dag_run_and_every_task_rerun_leaves_warehouse_and_sandbox_unchanged(
    depth: Depth,
    dagbag: Any,
    warehouse_url: str,
    emulators: Any,
    emulators_descriptor_env: Path,
    reviewer: LocalReviewer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.utils.state import DagRunState

    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("SAFEPASSAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AIRFLOW__CORE__HOSTNAME_CALLABLE", "tests.push_support.loopback_hostname")
    warehouse = Warehouse(warehouse_url)
    warehouse.migrate()
    logical_date = dt.datetime.now(dt.UTC).replace(microsecond=0)
    checksums = {}
    for step in CHAIN:
        step.before(emulators, warehouse)
        dag = dagbag.dags[step.dag_id]
        first = dag.test(logical_date=logical_date, run_after=logical_date, run_conf=step.conf)
        assert first.state == DagRunState.SUCCESS, (step.dag_id, states(first))
        before, objects = table_rows(warehouse, OBSERVATION_STAMPS), emulator_objects(emulators)
        checksums[step.dag_id] = warehouse_checksum(warehouse, OBSERVATION_STAMPS)
        for attempt in range(1, depth.reruns + 1):
            state, tasks = clear_and_run(dag, first.run_id)
            assert state == DagRunState.SUCCESS, (step.dag_id, attempt, tasks)
            unchanged(before, warehouse, objects, emulators, f"{step.dag_id} re-run {attempt}")
        # A one-task DAG's task re-run is its run re-run, done above.
        for task_id in dag.task_ids if depth.each_task and len(dag.task_ids) > 1 else ():
            state, tasks = clear_and_run(dag, first.run_id, {task_id})
            assert state == DagRunState.SUCCESS, (step.dag_id, task_id, tasks)
            unchanged(before, warehouse, objects, emulators, f"{step.dag_id} task {task_id} re-run")
        assert warehouse_checksum(warehouse, OBSERVATION_STAMPS) == checksums[step.dag_id]
    assert reviewer.answered.is_set(), "the first push waited for a person"
    assert emulator_objects(emulators)["meta/campaign"], "the chain pushed campaigns"
    assert len(set(checksums.values())) == len(CHAIN), "every DAG wrote to the warehouse"
    warehouse.dispose()
