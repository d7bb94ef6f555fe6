"""Bench only: the floor for "publish → updated ads". One task, woken by the same key-judgements
event as refresh_targeting, doing nothing: how soon this Airflow on this machine can start any task
after a judgement is published. bench/replay_2022.py puts it beside the project's DAGs."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from safepassage.orchestration.assets import KEY_JUDGEMENTS


@dag(schedule=[KEY_JUDGEMENTS], start_date=pendulum.datetime(2022, 3, 25, tz="UTC"), catchup=False)
def bench_floor() -> None:
    @task
    def woken() -> None:
        """Nothing: its start is the floor."""

    woken()


bench_floor()
