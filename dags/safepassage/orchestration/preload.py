"""Import, once, what SafePassage's tasks import, in the process that forks them.

On Linux the LocalExecutor forks its workers from the scheduler, and each worker forks one process per
task (the Celery worker does the same from its main process). A module imported before those forks is
already loaded in every task: the Google Ads SDK alone costs about 2 s a task otherwise, paid by the
plan and the apply of every push. `plugins/airflow_local_settings.py` calls `preload()` when Airflow
starts such a process; nothing here creates a client, a connection or a thread (gRPC and SQLAlchemy
are only imported, never used, before the fork).
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Sequence

PRELOAD_ENV = "SAFEPASSAGE_PRELOAD_TASK_MODULES"  # "0" turns it off (e.g. to measure without it)

TASK_MODULES = (
    # what every task process loads: Airflow's task runner and the DAG files' own imports
    "airflow.sdk.execution_time.task_runner",
    "airflow.providers.standard.operators.empty",
    "airflow.providers.standard.operators.hitl",
    "pendulum",
    # the SDKs and the warehouse, the heaviest by far
    "safepassage.adapters.google_ads",
    "safepassage.adapters.google_ads_performance",
    "safepassage.adapters.meta_push",
    "safepassage.adapters.meta_insights",
    "safepassage.adapters.meta_kill_switch",
    "safepassage.adapters.platform_clients",
    "safepassage.adapters.warehouse",
    # the task bodies of the judgement → targeting → budgets → push chain and the pulls
    "safepassage.orchestration.connections",
    "safepassage.orchestration.push_accounts",
    "safepassage.orchestration.pull_performance_dag",
    "safepassage.orchestration.retries",
    "safepassage.orchestration.run_day",
    "safepassage.services.budgets",
    "safepassage.services.campaign_config",
    "safepassage.services.intelligence",
    "safepassage.services.performance",
    "safepassage.services.push",
    "safepassage.services.push_google",
    "safepassage.services.push_meta",
    "safepassage.services.push_review",
    "safepassage.services.push_settings",
)

# `airflow scheduler` (LocalExecutor) and `airflow celery worker` fork the task processes
FORKING_COMMANDS = (("scheduler",), ("celery", "worker"))

log = logging.getLogger(__name__)


def forks_tasks(argv: Sequence[str]) -> bool:
    """Whether this Airflow command line starts a process that forks task processes."""
    words = [word for word in argv[1:] if not word.startswith("-")]
    return any(tuple(words[: len(command)]) == command for command in FORKING_COMMANDS)


def preload(modules: Sequence[str] = TASK_MODULES) -> float:
    """Import `modules`; the seconds it took. A module that fails to import is left to the task that
    needs it, which then reports the error where ops staff look for it (the task log)."""
    started = time.perf_counter()
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as error:  # the task that imports it fails visibly, in its own log
            log.warning("SafePassage could not preload %s: %s", name, error)
    return time.perf_counter() - started


def preload_if_forking(argv: Sequence[str]) -> float | None:
    """Preload when `argv` is a process that forks tasks (and PRELOAD_ENV is not "0")."""
    if os.environ.get(PRELOAD_ENV, "1") == "0" or not forks_tasks(argv):
        return None
    return preload()
