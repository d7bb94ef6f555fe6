"""The 2022 replay end to end: `make demo` from empty databases to the written report, through its
own real Airflow (scheduler, dag-processor, triggerer, api-server), timed by stage; and the time
from each published judgement to the updated ads on both platforms.

Aims (issue 15): the replay ≤ 3 minutes; publish → updated ads ≤ 5 s. Both are wall-clock figures
of a real scheduler on this machine, so each carries the load average it was measured under.
Run: `.venv/bin/python -m bench replay_2022` (or `make bench`); it replaces data/demo/.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench._results import figure, record

STAGES = {  # figure → the demo steps it adds up (a step lasts from the previous step's end to its own)
    "replay_stage_airflow_start_s": ("Airflow",),
    "replay_stage_judgements_s": ("targeting", "budgets", "push"),  # "<day> targeting", …
    "replay_stage_backfill_pull_s": ("DAG pull_performance",),
    "replay_stage_report_s": ("DAG impact_report", "2022 impact report"),
}
WHY_REPLAY = (
    "every step is a real DAG run: each task is a fresh process that parses its DAG file, and the "
    "scheduler, dag-processor, triggerer and api-server share the two cores; the 7-month pull "
    "simulates every ad's delivery day by day in the emulators"
)
WHY_LATENCY = (
    "three DAG runs in a row (targeting, budgets, push), each woken by the previous one's asset "
    "event, and the push waits for the demo's reviewer, who answers a review only after 3 s (an "
    "instant answer races Airflow 3.3.2's executor; see orchestration/demo.py)"
)


def main() -> None:
    from safepassage_dev.demo import run_demo

    started = time.monotonic()
    report = run_demo(say=lambda _line: None)
    total = time.monotonic() - started
    ends = list(report.step_finished_after.items())
    lasted = {step: end - (ends[i - 1][1] if i else 0.0) for i, (step, end) in enumerate(ends)}

    def stage(parts: tuple[str, ...]) -> float:
        return sum(s for step, s in lasted.items() if step in parts or step.split(" ")[-1] in parts)

    figures: list[dict[str, Any]] = [
        figure(
            "replay_2022_end_to_end_s",
            round(total, 1),
            "s",
            aim="≤ 180 s",
            meets_aim=total <= 180,
            **({"why": WHY_REPLAY} if total > 180 else {}),
        ),
        *(figure(name, round(stage(parts), 1), "s") for name, parts in STAGES.items()),
    ]
    took = report.publish_to_ads_seconds
    if took:
        figures += [
            figure(
                "publish_to_updated_ads_median_s",
                round(statistics.median(took), 1),
                "s",
                aim="≤ 5 s",
                meets_aim=statistics.median(took) <= 5,
                **({"why": WHY_LATENCY} if statistics.median(took) > 5 else {}),
                judgements=len(took),
            ),
            figure("publish_to_updated_ads_min_s", round(min(took), 1), "s"),
            figure("publish_to_updated_ads_max_s", round(max(took), 1), "s"),
        ]
    path = record("replay_2022", figures)
    for entry in figures:
        print(
            f"  {entry['figure']}: {entry['value']} {entry['unit']}"
            + (f" (aim {entry['aim']})" if "aim" in entry else "")
        )
    print(f"  written to {path}")


if __name__ == "__main__":
    main()
