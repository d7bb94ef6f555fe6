"""Reads what the readiness rules need from Airflow's own metadata DB: pools, which SafePassage DAGs are
paused, which DAGs make and wait for each asset, task instances the scheduler has not queued, and
whether the platform Connections resolve. Only where that DB is reachable: the `safepassage` CLI
(like the `airflow` CLI) and the API server (the dashboard's alerts), never a task.
"""

from __future__ import annotations

import os
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from safepassage.domain.readiness import DeploymentState, WaitingTask

TAG = "safepassage"  # every SafePassage DAG carries it; other DAGs in the deployment are not ours to judge


def read_state(
    session: Session, needed_pools: frozenset[str], needed_connections: tuple[str, ...]
) -> DeploymentState:
    from airflow.models.asset import AssetModel, DagScheduleAssetReference, TaskOutletAssetReference
    from airflow.models.dag import DagModel, DagTag
    from airflow.models.pool import Pool
    from airflow.models.taskinstance import TaskInstance

    ours = select(DagTag.dag_id).where(DagTag.name == TAG)
    paused = {
        dag_id: bool(is_paused)
        for dag_id, is_paused in session.execute(
            select(DagModel.dag_id, DagModel.is_paused).where(
                DagModel.is_stale.is_(False), DagModel.dag_id.in_(ours)
            )
        )
    }
    producers: dict[str, set[str]] = defaultdict(set)
    for name, dag_id in session.execute(
        select(AssetModel.name, TaskOutletAssetReference.dag_id).join(
            TaskOutletAssetReference, TaskOutletAssetReference.asset_id == AssetModel.id
        )
    ):
        producers[name].add(dag_id)
    consumers: dict[str, set[str]] = defaultdict(set)
    for name, dag_id in session.execute(
        select(AssetModel.name, DagScheduleAssetReference.dag_id).join(
            DagScheduleAssetReference, DagScheduleAssetReference.asset_id == AssetModel.id
        )
    ):
        if dag_id in paused:
            consumers[name].add(dag_id)
    waiting = tuple(
        WaitingTask(dag_id, task_id, pool)
        for dag_id, task_id, pool in session.execute(
            select(TaskInstance.dag_id, TaskInstance.task_id, TaskInstance.pool).where(
                TaskInstance.state == "scheduled", TaskInstance.dag_id.in_(ours)
            )
        )
    )
    return DeploymentState(
        pools=frozenset(session.scalars(select(Pool.pool))),
        needed_pools=needed_pools,
        paused=paused,
        producers={name: frozenset(dags) for name, dags in producers.items()},
        consumers={name: frozenset(dags) for name, dags in consumers.items()},
        waiting=waiting,
        missing_connections=tuple(c for c in needed_connections if not connection_exists(c)),
    )


def connection_exists(conn_id: str) -> bool:
    """Through every place Airflow looks (environment, secrets backend, metadata DB); the Connection
    itself is never kept or shown."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    if os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}"):
        return True
    try:
        Connection.get_connection_from_secrets(conn_id)
    except AirflowNotFoundException:
        return False
    return True
