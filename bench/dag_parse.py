"""DAG parse time: what each dags/*.py adds over a bare `import airflow.sdk` (aim ≤ 50 ms each).

Each file is executed the way the DAG processor does (as a module, dags/ on sys.path) in a fresh
interpreter that has already imported airflow.sdk, so the figure is the file's own cost: its
imports beyond the SDK and its DAG construction. CPU time is the figure (five helpers share two
cores; wall time is kept beside it); the median of RUNS fresh processes per file. The modules a
file pulls in beyond the SDK are listed, so a miss says where the time goes.
Run: `.venv/bin/python -m bench dag_parse` (or `make bench`)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench._results import figure, record

DAGS_DIR = Path(__file__).resolve().parent.parent / "dags"
RUNS = int(os.environ.get("BENCH_DAG_PARSE_RUNS", "5"))
AIM_MS = 50
PROBE = """
import importlib.util, json, sys, time
sys.path.insert(0, sys.argv[1])
import airflow.sdk
before = set(sys.modules)
cpu, wall = time.process_time(), time.perf_counter()
spec = importlib.util.spec_from_file_location("dag_under_test", sys.argv[2])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
added = sorted({m.split(".")[0] if not m.startswith(("airflow.", "safepassage.")) else m
                for m in set(sys.modules) - before})
print(json.dumps({"cpu_ms": cpu * 1000, "wall_ms": wall * 1000, "added": added}))
"""


def measure(path: Path) -> dict[str, Any]:
    runs = []
    for _ in range(RUNS):
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(DAGS_DIR), str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    row = {
        "cpu_ms": round(statistics.median(r["cpu_ms"] for r in runs), 1),
        "wall_ms": round(statistics.median(r["wall_ms"] for r in runs), 1),
        "added_modules": runs[-1]["added"],
    }
    print(f"{path.stem}: {row['cpu_ms']} ms CPU, {row['wall_ms']} ms wall", flush=True)
    return row


MINIMAL_DAG = """
from airflow.sdk import dag, task


@dag(schedule=None)
def minimal() -> None:
    @task
    def only() -> None:
        pass

    only()


minimal()
"""


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp) / "minimal_reference_dag.py"
        minimal.write_text(MINIMAL_DAG, encoding="utf-8")
        reference = measure(minimal)
    figures = {path.stem: measure(path) for path in sorted(DAGS_DIR.glob("*.py"))}
    floor_note = (
        f"a minimal one-task DAG file costs {reference['cpu_ms']} ms CPU here: the SDK's lazily "
        "imported @dag/@task machinery (providers.standard, timetables, serialization) that every "
        "file pays in the DAG processor's fresh process; figures above that floor are the file's own"
    )
    path = record(
        "dag_parse",
        [
            figure(
                "dag_parse_ms_minimal_reference_dag",
                reference["cpu_ms"],
                "ms CPU over import airflow.sdk",
                wall_ms=reference["wall_ms"],
                runs=RUNS,
                what="one @dag with one @task and nothing else: the floor every DAG file pays",
            ),
            *(
                figure(
                    f"dag_parse_ms_{name}",
                    row["cpu_ms"],
                    "ms CPU over import airflow.sdk",
                    aim=f"≤ {AIM_MS} ms",
                    meets_aim=row["cpu_ms"] <= AIM_MS,
                    above_minimal_dag_ms=round(row["cpu_ms"] - reference["cpu_ms"], 1),
                    **({} if row["cpu_ms"] <= AIM_MS else {"why": floor_note}),
                    wall_ms=row["wall_ms"],
                    runs=RUNS,
                    modules_added=len(row["added_modules"]),
                    third_party_modules_added=[m for m in row["added_modules"] if "." not in m],
                )
                for name, row in figures.items()
            ),
        ],
    )
    print(f"{'DAG file':24} {'CPU ms':>7} {'wall ms':>8}  (median of {RUNS}; aim ≤ {AIM_MS} ms CPU)")
    print(f"{'(minimal one-task DAG)':24} {reference['cpu_ms']:>7} {reference['wall_ms']:>8}")
    for name, row in figures.items():
        print(f"{name:24} {row['cpu_ms']:>7} {row['wall_ms']:>8}")
    print(f"saved to {path}")
    return figures


if __name__ == "__main__":
    main()
