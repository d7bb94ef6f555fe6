"""
### Kill switch

Stops everything in **one country** on every platform at once — for ops staff, from the
*Trigger* form: choose the country, `pause` or `resume`, and say why. Who (the Airflow user who
triggered the run) and why are kept in the warehouse (`country_pause`).

* **pause**: with no approval step (pausing only lowers spend), every campaign and ad set in
  SafePassage's Google Ads and Meta accounts that reaches the country is paused at once, whoever
  made it; one shared with other countries is paused too and named in the log. From the moment it
  is recorded, no push can switch anything on in the country, not even a plan approved earlier.
  If any platform could not be paused (or the pause could not be recorded) the run **fails**,
  naming the platform and the reason: run it again.
* **resume**: clears the record. The country serves again with the next `push_campaigns` run,
  which goes through the usual plan and approval; what SafePassage does not manage stays paused.

The same switch from a terminal: `safepassage pause --country PL --reason "…"`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from safepassage.orchestration.defaults import DEFAULT_ARGS
from safepassage.orchestration.pools import GOOGLE_ADS_POOL


@dag(
    schedule=None,  # only ever started by a person
    start_date=pendulum.datetime(2022, 3, 25, tz="UTC"),
    catchup=False,
    tags=["safepassage", "kill-switch", "ops"],
    # A failed platform is retried soon (pausing is idempotent); the run fails within a minute.
    default_args={
        **DEFAULT_ARGS,
        "retries": 2,
        "retry_delay": pendulum.duration(seconds=5),
        "retry_exponential_backoff": False,
    },
    doc_md=__doc__,
    params={
        "country": Param("PL", type="string", pattern="^[A-Z]{2}$", title="Country (ISO code, e.g. PL)"),
        "action": Param("pause", type="string", enum=["pause", "resume"], title="Pause or resume"),
        "reason": Param("", type="string", minLength=5, title="Why (shown to everyone reviewing it)"),
    },
)
def kill_switch() -> None:
    @task(pool=GOOGLE_ADS_POOL, priority_weight=100)
    def switch(**context: object) -> str:
        from safepassage.orchestration.kill_switch_accounts import run_pause, run_resume, triggering_user

        params: dict[str, str] = dict(context["params"])  # type: ignore[call-overload]
        by = triggering_user(context["dag_run"])
        if params["action"] == "pause":
            outcome = run_pause(params["country"], params["reason"], by)
        else:
            outcome = run_resume(params["country"], by)
        print(outcome)
        return outcome

    switch()


kill_switch()
