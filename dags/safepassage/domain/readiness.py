"""Is this deployment ready to run the chain? Rules over a snapshot of Airflow's state, each naming what
would otherwise make a task wait silently (a missing pool, a missing Connection, a paused DAG the
chain needs) and how to fix it. Pure: the snapshot is read elsewhere (adapters.airflow_metadata).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Level = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class WaitingTask:
    """A task instance in state "scheduled" (the scheduler has not queued it yet) and its pool."""

    dag_id: str
    task_id: str
    pool: str


@dataclass(frozen=True)
class DeploymentState:
    pools: frozenset[str]
    needed_pools: frozenset[str]  # the pools SafePassage's platform tasks run in
    paused: dict[str, bool]  # every DAG Airflow knows (not stale) → paused?
    # asset name → the DAGs whose tasks produce it, and the DAGs scheduled on it
    producers: dict[str, frozenset[str]] = field(default_factory=dict)
    consumers: dict[str, frozenset[str]] = field(default_factory=dict)
    waiting: tuple[WaitingTask, ...] = ()
    missing_connections: tuple[str, ...] = ()  # Connections the platform tasks need and cannot find


@dataclass(frozen=True)
class Finding:
    level: Level
    rule: str
    text: str  # one line; says what waits, why, and what to do


def missing_pools(state: DeploymentState) -> list[Finding]:
    return [
        Finding(
            "error",
            "missing_pools",
            f"Pool {pool} does not exist: every task that calls the platform would wait in "
            "'scheduled' forever. Run `safepassage init` (it creates the pools from config/pools.yaml).",
        )
        for pool in sorted(state.needed_pools - state.pools)
    ]


def tasks_waiting_on_missing_pool(state: DeploymentState) -> list[Finding]:
    stuck: dict[str, list[str]] = {}
    for task in state.waiting:
        if task.pool not in state.pools:
            stuck.setdefault(task.pool, []).append(f"{task.dag_id}.{task.task_id}")
    return [
        Finding(
            "error",
            "tasks_waiting_on_missing_pool",
            f"{len(tasks)} task(s) wait for pool {pool}, which does not exist "
            f"({', '.join(sorted(set(tasks))[:5])}): run `safepassage init`.",
        )
        for pool, tasks in sorted(stuck.items())
    ]


def missing_connections(state: DeploymentState) -> list[Finding]:
    return [
        Finding(
            "error",
            "missing_connections",
            f"Connection {conn_id} is missing: the push, pull and kill switch tasks for its platform "
            "fail. Add it (docs/operations.md), or point SAFEPASSAGE_EMULATORS_DESCRIPTOR at the emulators.",
        )
        for conn_id in state.missing_connections
    ]


def paused_upstream(state: DeploymentState) -> list[Finding]:
    """A DAG switched on that waits for an asset only paused DAGs make would never run."""
    findings = []
    for asset, consumers in sorted(state.consumers.items()):
        makers = state.producers.get(asset, frozenset())
        waiting = sorted(dag for dag in consumers if state.paused.get(dag) is False)
        if not makers or not waiting or any(state.paused.get(dag) is False for dag in makers):
            continue  # made outside Airflow (a published judgement), nobody waits, or a maker runs
        findings.append(
            Finding(
                "warning",
                "paused_upstream",
                f"{', '.join(waiting)} is on but waits for '{asset}', which only "
                f"{', '.join(sorted(makers))} makes, and that is paused: switch it on.",
            )
        )
    return findings


def all_paused(state: DeploymentState) -> list[Finding]:
    if not state.paused or any(paused is False for paused in state.paused.values()):
        return []
    return [
        Finding(
            "info",
            "all_paused",
            f"All {len(state.paused)} DAGs are paused, as new DAGs start: switch on sync_reference_data, "
            "render_creatives, refresh_targeting, allocate_budgets and push_campaigns to run the chain "
            "(README, ops staff).",
        )
    ]


RULES: tuple[Callable[[DeploymentState], list[Finding]], ...] = (
    missing_pools,
    tasks_waiting_on_missing_pool,
    missing_connections,
    paused_upstream,
    all_paused,
)


def check(state: DeploymentState) -> list[Finding]:
    return [finding for rule in RULES for finding in rule(state)]
