"""The scheduler (LocalExecutor) and the Celery worker import the tasks' modules once, before they fork
a process per task; the preload must name real modules and leave the process fork-safe."""

from __future__ import annotations

import subprocess
import sys

import pytest

from safepassage.orchestration.preload import TASK_MODULES, forks_tasks


@pytest.mark.parametrize(
    ("argv", "forks"),
    [
        (["airflow", "scheduler"], True),
        (["airflow", "scheduler", "--skip-serve-logs"], True),
        (["airflow", "celery", "worker", "--concurrency", "2"], True),
        (["airflow", "dag-processor"], False),
        (["airflow", "triggerer"], False),
        (["airflow", "api-server"], False),
        (["airflow", "celery", "flower"], False),
        (["airflow", "tasks", "test", "push_campaigns", "scheduler"], False),
        (["airflow"], False),
    ],
)
def test_only_the_processes_that_fork_tasks_preload(argv: list[str], forks: bool) -> None:
    assert forks_tasks(argv) is forks


def test_the_preload_imports_every_module_and_starts_no_thread() -> None:
    """In a fresh interpreter, as the scheduler would: every module named exists (a typo would only
    log a warning in production), and no thread is left running, so forking afterwards is safe (a
    gRPC channel or a pool thread created before a fork would be copied half-alive into each task)."""
    code = (
        "import logging, threading, sys\n"
        "logging.basicConfig(level=logging.WARNING)\n"
        "from safepassage.orchestration.preload import TASK_MODULES, preload\n"
        "preload()\n"
        "missing = [m for m in TASK_MODULES if m not in sys.modules]\n"
        "print(missing, threading.active_count())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "could not preload" not in done.stderr, done.stderr
    assert done.stdout.strip() == "[] 1", done.stdout
    assert len(TASK_MODULES) == len(set(TASK_MODULES))
