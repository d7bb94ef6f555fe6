"""Bench only (never in the product's plugins folder): where each task's seconds go.

A sampling profiler (what py-spy does, from inside the process): from Airflow's "running" listener to
its "success" listener, the task's stack is sampled every 5 ms of wall time and each sample filed
under the first phase, in PHASES order, that some frame of the stack belongs to. Each task
process writes `<dag>__<task>__<map>__<run>.json` into $SAFEPASSAGE_TASK_PROFILES with the seconds
per phase and the wall-clock times its body began and ended, so bench/replay_2022.py can add the
time before the body (fork, DAG file parse, the runner's start-up calls) and after it."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

PROFILES_ENV = "SAFEPASSAGE_TASK_PROFILES"
INTERVAL_S = 0.005
SAMPLE_SIGNAL = signal.SIGPROF  # Airflow uses SIGALRM (execution_timeout), not this

# phase → (path fragment, function name or "*"), first match in this order wins
PHASES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("imports", (("importlib._bootstrap", "_find_and_load"),)),
    (
        "platform calls",
        (("/grpc/", "*"), ("/google/ads/", "*"), ("/facebook_business/", "*"), ("/requests/", "*")),
    ),
    ("Airflow API calls", (("airflow/sdk/execution_time/comms.py", "*"), ("/httpx/", "*"))),
    (
        "warehouse open and migration check",
        (
            ("adapters/warehouse/engine.py", "__init__"),
            ("adapters/warehouse/engine.py", "migrate"),
            ("/alembic/", "*"),
            ("adapters/warehouse/engine.py", "current_revision"),
        ),
    ),
    ("warehouse reads and writes", (("/sqlalchemy/", "*"), ("adapters/warehouse/", "*"))),
    (
        "reading config and judgements",
        (
            ("services/campaign_config.py", "*"),
            ("services/push_settings.py", "*"),
            ("adapters/files.py", "*"),
            ("/yaml/", "*"),
            ("services/intelligence.py", "stored_judgements"),
            ("services/performance.py", "load_performance_settings"),
            ("orchestration/pools.py", "*"),
        ),
    ),
    ("the work itself", (("safepassage/", "*"),)),
)
OTHER = "Airflow task runner"


def phase_of(frames: list[tuple[str, str]]) -> str:
    for phase, matchers in PHASES:
        for filename, function in frames:
            if any(part in filename and (name == "*" or name == function) for part, name in matchers):
                return phase
    return OTHER


class _Sampler(threading.Thread):
    """Every INTERVAL_S of wall time, signals the task's (main) thread; the handler, running in that
    thread, files the seconds since the previous sample under its own stack. Walking another
    thread's frames from here instead (sys._current_frames) crashes CPython 3.11 now and then; a
    handler reading its own stack cannot. A sample delayed by a blocking call (a socket read) carries
    the whole wait, and the stack it sees on return is the one that waited."""

    def __init__(self, target: int) -> None:
        super().__init__(daemon=True, name="safepassage-bench-sampler")
        self.target, self.stopped = target, threading.Event()
        self.stacks = Counter[tuple[Any, ...]]()
        self.last = time.perf_counter()
        self.previous = signal.signal(SAMPLE_SIGNAL, self._sample)
        signal.siginterrupt(SAMPLE_SIGNAL, False)  # restart interrupted system calls (SA_RESTART)

    def _sample(self, _signum: int, frame: Any) -> None:
        now = time.perf_counter()
        codes = []
        while frame is not None:
            codes.append(frame.f_code)
            frame = frame.f_back
        self.stacks[tuple(codes)] += now - self.last
        self.last = now

    def run(self) -> None:
        while not self.stopped.wait(INTERVAL_S):
            signal.pthread_kill(self.target, SAMPLE_SIGNAL)

    def finish(self) -> Counter[str]:
        self.stopped.set()
        self.join()
        signal.signal(SAMPLE_SIGNAL, self.previous)
        counts = Counter[str]()
        for codes, seconds in self.stacks.items():
            counts[phase_of([(code.co_filename, code.co_name) for code in reversed(codes)])] += seconds
        return counts


_running: dict[str, Any] = {}


def _name(task_instance: Any) -> str:
    run = "".join(c if c.isalnum() else "-" for c in str(task_instance.run_id))
    return f"{task_instance.dag_id}__{task_instance.task_id}__{task_instance.map_index}__{run}"


class TaskProfiler:
    @hookimpl
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
        if not os.environ.get(PROFILES_ENV):
            return
        sampler = _Sampler(threading.get_ident())
        _running.update(sampler=sampler, began=time.time())
        sampler.start()

    @hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        sampler = _running.pop("sampler", None)
        if sampler is None:
            return
        counts = sampler.finish()
        ended, began = time.time(), _running.pop("began")
        total = sum(counts.values()) or 1
        record = {
            "dag_id": task_instance.dag_id,
            "task_id": task_instance.task_id,
            "map_index": task_instance.map_index,
            "run_id": task_instance.run_id,
            "body_began": began,
            "body_ended": ended,
            # scaled to the body's wall time (the time before the first sample and after the last)
            "phases_s": {phase: (ended - began) * n / total for phase, n in counts.items()},
        }
        folder = Path(os.environ[PROFILES_ENV])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{_name(task_instance)}.json").write_text(json.dumps(record))


class TaskProfilerPlugin(AirflowPlugin):
    name = "safepassage_bench_task_profiler"
    listeners: ClassVar[list[Any]] = [TaskProfiler()]
