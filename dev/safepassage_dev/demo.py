"""`make demo`: replay the 2022 campaign through a real Airflow, the way production runs it.

The demo starts its own Airflow (scheduler, dag-processor, triggerer, api-server; LocalExecutor) with
its own home and metadata DB in `data/demo/airflow/`, so `make airflow` never sees its runs or its
leftover asset events. It publishes each 2022 key judgement as an analyst does (judgement store,
then a `key_judgements` asset event over the REST API) and lets the events drive the rest:
refresh_targeting → allocate_budgets → push_campaigns. The event carries the judgement's day as
`replay_day`, and each DAG passes it on in its own event, so the whole chain replays that day.

The demo's reviewer answers, as `make-demo` through Airflow's human-in-the-loop REST endpoint, only
the reviews of the push runs it is following; nothing in the DAGs knows it exists. Each step is one
line on screen; Airflow's own logs stay in its home. `safepassage demo ui` opens the result.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import signal
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safepassage import settings
from safepassage.orchestration.pools import load_pool_settings
from safepassage_dev.brief_2022 import replay_period

if TYPE_CHECKING:
    from safepassage.adapters.events import AirflowApi
    from safepassage.adapters.warehouse import Warehouse
    from safepassage_dev.local_airflow import LocalAirflow

DEMO_DAGS = [
    "sync_reference_data",
    "render_creatives",
    "refresh_targeting",
    "allocate_budgets",
    "push_campaigns",
    "pull_performance",
    "impact_report",
]
REPLAY_FROM, REPLAY_TO = replay_period().start, replay_period().end  # brief_2022.yaml
BACKFILL_TIMEOUT_SECONDS = 1800
DEMO_REVIEWER = "make-demo"
PLATFORM_NAMES = {"google_ads": "Google Ads", "meta": "Meta"}
REVIEW_SETTLE_SECONDS = 3.0
APPLY_TASK_IDS = ("apply_account", "apply_meta_account")  # push_campaigns' tasks that change the ads
REVIEW_NOTE = "make demo approves every plan it replays; a person does this in the UI"
FINISHED = {"success", "failed"}


def demo_dir() -> Path:
    return settings.data_dir() / "demo"


def demo_airflow(
    extra_env: dict[str, str] | None = None,
    users: dict[str, str] | None = None,
    port: int | None = None,
    dags_folder: Path | None = None,
) -> LocalAirflow:
    """The demo's own Airflow: home and SQLite metadata DB in data/demo/airflow/, the project's DAGs
    (or `dags_folder`: the bench adds a floor DAG beside them)."""
    from safepassage_dev.local_airflow import LocalAirflow

    home = demo_dir() / "airflow"
    return LocalAirflow(
        home,
        metadata_url=f"sqlite:///{home / 'airflow.db'}",
        dags_folder=dags_folder or settings.PROJECT_ROOT / "dags",
        extra_env={
            "SAFEPASSAGE_WAREHOUSE_URL": f"sqlite:///{demo_dir() / 'warehouse.sqlite'}",
            **(extra_env or {}),
        },
        users=users,
        port=port,
        setup=(("safepassage", "init"),),  # warehouse schema and pools, as `make airflow` and compose do
    )


@dataclass
class DemoReport:
    steps: list[tuple[str, str]] = field(default_factory=list)
    dag_runs: list[tuple[str, str]] = field(default_factory=list)
    publish_to_ads_seconds: list[float] = field(default_factory=list)
    review_seconds: list[float] = field(default_factory=list)  # of each push, what its review added
    started: float = field(default_factory=time.monotonic)
    step_finished_after: dict[str, float] = field(default_factory=dict)  # seconds since `started`

    def add(self, step: str, outcome: str) -> None:
        self.steps.append((step, outcome))
        self.step_finished_after[step] = time.monotonic() - self.started
        print(f"  ✓ {step}: {outcome}", flush=True)


@dataclass(frozen=True)
class Run:
    dag_id: str
    run_id: str
    state: str
    end_date: dt.datetime | None
    skipped_all: bool = False

    @property
    def outcome(self) -> str:
        return (
            "run succeeded, nothing new"
            if self.skipped_all
            else f"run {'succeeded' if self.ok else self.state}"
        )

    @property
    def ok(self) -> bool:
        return self.state == "success"


class Chain:
    """Follows DAG runs through the REST API: trigger one, or find the run an asset event woke, and
    wait for it to finish, answering that run's own reviews with `review` (if given).

    Adding a step to the demo is one line, e.g. `chain.woken_by(chain.produced(push, "campaigns"),
    "pull_performance")` or `chain.trigger("impact_report", {"as_of": "2022-10-31"})`.
    """

    def __init__(
        self,
        api: AirflowApi,
        review: Callable[[str, str, dict[str, Any]], None] | None = None,
        timeout: float = 600,
        report: DemoReport | None = None,
    ) -> None:
        self.api, self.review, self.timeout, self.report = api, review, timeout, report

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, timeout: float | None = None) -> Run:
        return self.wait(dag_id, str(self.api.trigger_dag(dag_id, conf)["dag_run_id"]), timeout)

    def woken_by(self, event: dict[str, Any], dag_id: str) -> Run:
        """The one run of `dag_id` that `event` created (there is exactly one, or this fails)."""
        from safepassage_dev.local_airflow import NotWorthWaiting, wait_for

        def created() -> list[str]:
            (found,) = [
                e
                for e in self.api.asset_events(asset_id=event["asset_id"], timestamp_gte=event["timestamp"])
                if e["id"] == event["id"]
            ]
            return [run["run_id"] for run in found["created_dagruns"] if run["dag_id"] == dag_id]

        runs = wait_for(
            f"the {dag_id} run woken by {event.get('name')} event {event['id']}", created, self.timeout, 0.1
        )
        if len(runs) != 1:
            raise NotWorthWaiting(
                f"{event.get('name')} event {event['id']} woke {len(runs)} {dag_id} runs: {runs}"
            )
        return self.wait(dag_id, runs[0])

    def produced(self, run: Run, asset: str) -> dict[str, Any] | None:
        """The event on `asset` that `run` emitted (None: it emitted none, e.g. nothing changed)."""
        from safepassage_dev.local_airflow import wait_for

        # Retried: Airflow 3.3.2 answers 500 while a run the event created is queued and not yet
        # started (its response model requires the run's start_date).
        (events,) = wait_for(
            f"the events of {run.dag_id} run {run.run_id}",
            lambda: (self.api.asset_events(source_dag_id=run.dag_id, source_run_id=run.run_id),),
            self.timeout,
            0.2,
        )
        found = [event for event in events if event.get("name") == asset]
        return found[-1] if found else None

    def wait(self, dag_id: str, run_id: str, timeout: float | None = None) -> Run:
        from safepassage_dev.local_airflow import NotWorthWaiting, wait_for

        def finished() -> dict[str, Any] | None:
            if self.review is not None:
                for pending in self.api.pending_reviews(dag_id, run_id):
                    self.review(dag_id, run_id, pending)
            found = self.api.dag_run(dag_id, run_id)
            return found if found["state"] in FINISHED else None

        found = wait_for(f"{dag_id} run {run_id} to finish", finished, timeout or self.timeout, 0.2)
        states = [
            ti["state"]
            for ti in self.api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")[
                "task_instances"
            ]
        ]
        run = Run(
            dag_id,
            run_id,
            str(found["state"]),
            dt.datetime.fromisoformat(found["end_date"]) if found.get("end_date") else None,
            skipped_all=bool(states) and all(state == "skipped" for state in states),
        )
        if self.report is not None:
            self.report.dag_runs.append((dag_id, run.state))
        if not run.ok:
            raise NotWorthWaiting(
                f"{dag_id} run {run_id} finished {run.state}; its task logs are in the Airflow home's "
                f"logs/dag_id={dag_id}/ ({_shown(demo_dir() / 'airflow' / 'logs')} for make demo)"
            )
        return run


def run_demo(
    say: Callable[[str], None] = print,
    until: dt.date = REPLAY_TO,
    airflow_env: dict[str, str] | None = None,
    dags_folder: Path | None = None,
) -> DemoReport:
    """Replay 2022 from a clean slate in `data/demo/` (its own Airflow, warehouse and emulators state).

    `until` ends the replay early: only the judgements published by then, delivery and the report up
    to that day (`safepassage demo --until 2022-04-30`: two judgements, five weeks). `airflow_env` and
    `dags_folder` are for the bench (a profiler plugin, a floor DAG)."""
    if not REPLAY_FROM <= until <= REPLAY_TO:
        raise ValueError(f"--until must lie in the 2022 replay, {REPLAY_FROM} to {REPLAY_TO}; got {until}")
    from ad_emulators.server import EmulatorServer
    from safepassage.adapters.warehouse import Warehouse

    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # stop what it started, even when terminated
    report = DemoReport()
    started = time.monotonic()
    settings.apply_airflow_environment()  # NO_PROXY for the loopback REST calls, among others
    say(
        "SafePassage demo: replaying the 2022 Ukraine response "
        f"({REPLAY_FROM:%-d %B} – {until:%-d %B %Y}{'' if until == REPLAY_TO else ', shortened'})"
    )
    say("through a real Airflow scheduler, against the local ad-platform emulators;")
    say("every delivery figure it produces is simulated.\n")

    shutil.rmtree(demo_dir(), ignore_errors=True)
    shutil.rmtree(settings.data_dir() / "demo-logs", ignore_errors=True)  # the old demo's logs
    demo_dir().mkdir(parents=True)
    warehouse_url = f"sqlite:///{demo_dir() / 'warehouse.sqlite'}"
    with _environment(SAFEPASSAGE_WAREHOUSE_URL=warehouse_url):
        warehouse = Warehouse()
        warehouse.migrate()
        report.add(
            "Warehouse",
            f"schema at {warehouse.current_revision()} in {_shown(demo_dir() / 'warehouse.sqlite')}",
        )
        emulators = EmulatorServer(demo_dir() / "emulators")
        emulators.start()
        airflow: LocalAirflow | None = None
        try:
            descriptor = emulators.write_descriptor()
            report.add(
                "Ad-platform emulators",
                f"Google Ads at {emulators.descriptor['google_ads']['endpoint']}, Meta at "
                f"{emulators.descriptor['meta']['graph_url']} (simulated delivery)",
            )
            airflow = demo_airflow(
                {
                    "SAFEPASSAGE_EMULATORS_DESCRIPTOR": str(descriptor),
                    # its own channel: the demo never wakes (or is woken by) another Airflow
                    "SAFEPASSAGE_JUDGEMENT_CHANNEL": f"safepassage.demo.{uuid.uuid4().hex}",
                    # the demo's reviewer is the one approver of its own Airflow
                    "SAFEPASSAGE_REVIEW_APPROVERS": DEMO_REVIEWER,
                    **(airflow_env or {}),
                },
                users={DEMO_REVIEWER: "admin"},
                dags_folder=dags_folder,
            )
            up = time.monotonic()
            airflow.start()
            api = _demo_api(airflow)
            wait_for_dags(airflow, api, DEMO_DAGS)
            report.add(
                "Airflow",
                f"scheduler, dag-processor, triggerer, api-server (LocalExecutor) up in "
                f"{time.monotonic() - up:.0f} s; home and metadata DB in {_shown(airflow.home)}; "
                f"pools {_pools()}",
            )
            chain = Chain(api, review=settled_reviewer(api), report=report)
            _replay(report, chain, emulators, warehouse, until)
        finally:
            if airflow is not None:
                airflow.stop()
            emulators.stop()
            warehouse.dispose()

    took = report.publish_to_ads_seconds
    say(f"\nDone in {time.monotonic() - started:.0f} s.")
    if took:
        say(
            f"Publish → updated ads: {min(took):.1f}–{max(took):.1f} s "
            f"(median {statistics.median(took):.1f} s) over {len(took)} judgements; the reviews "
            f"took {statistics.median(report.review_seconds):.1f} s of it (median)."
        )
    say("Where to look:")
    say("  the demo's runs, plans and pages:  make demo-ui   (then http://127.0.0.1:8080; no login)")
    say(f"  warehouse:    {_shown(demo_dir() / 'warehouse.sqlite')} (plans: push_plan, requests: apply_log)")
    say(f"  Airflow logs: {_shown(demo_dir() / 'airflow' / 'logs')}/ (task logs), process-logs/ (components)")
    say("  ad previews:  .venv/bin/safepassage creatives preview --out out/gallery")
    return report


def _exit_on_sigterm(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _replay(report: DemoReport, chain: Chain, emulators: Any, warehouse: Warehouse, until: dt.date) -> None:
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.intelligence import check_files

    config = load_campaign_config()
    report.add(
        "Campaign configuration",
        f"valid: {len(config.countries)} countries, {len(config.languages)} languages, "
        f"{len(config.organisations)} support organisations",
    )
    sync = chain.trigger("sync_reference_data")
    report.add("DAG sync_reference_data", sync.outcome)
    creatives = chain.woken_by(_required(chain.produced(sync, "reference_data"), sync), "render_creatives")
    push = chain.woken_by(_required(chain.produced(creatives, "creatives"), creatives), "push_campaigns")
    report.add(
        "DAG render_creatives",
        f"{creatives.outcome}; {_creative_counts(warehouse)}; the push it woke: "
        + ("nothing to push before the first allocation" if push.skipped_all else push.outcome),
    )
    judgements = sorted(
        check_files([settings.intelligence_dir()], config), key=lambda item: item.judgement.valid_from
    )
    replayed = [loaded for loaded in judgements if loaded.judgement.valid_from <= until]
    report.add(
        "Key judgements",
        f"{len(judgements)} valid (2022 series); "
        + ("each" if len(replayed) == len(judgements) else f"the {len(replayed)} of them until {until}")
        + " published on its day",
    )
    for loaded in replayed:
        _replay_judgement(report, chain, emulators, warehouse, loaded)
    _pull_and_report(report, chain, emulators, warehouse, until)


def _pull_and_report(
    report: DemoReport, chain: Chain, emulators: Any, warehouse: Warehouse, until: dt.date
) -> None:
    """After the campaign: one backfill run pulls both platforms' 2022 delivery, which wakes the
    impact report; the demo then writes the 2022 report beside the brief's figures."""
    from safepassage_dev.brief_2022 import write_2022_report

    emulators.clock.set(dt.datetime.combine(until + dt.timedelta(days=1), dt.time(6), tzinfo=dt.UTC))
    pull = chain.trigger(
        "pull_performance",
        {"from": REPLAY_FROM.isoformat(), "to": until.isoformat()},
        timeout=BACKFILL_TIMEOUT_SECONDS,  # seven months of rows; SQLite loads one account at a time
    )
    held = "; ".join(
        f"{platform}: {rows:,} daily rows {first} – {last}"
        for platform, (rows, first, last) in sorted(warehouse.impact.daily_rows_by_platform().items())
    )
    report.add("DAG pull_performance", f"{pull.outcome} (backfill {REPLAY_FROM} – {until}); {held}")
    reported = chain.woken_by(_required(chain.produced(pull, "performance"), pull), "impact_report")
    report.add("DAG impact_report", f"{reported.outcome}: report, partner export, intelligence products")
    for noisy in ("weasyprint", "fontTools", "matplotlib"):  # their progress notes are not the demo's
        logging.getLogger(noisy).setLevel(logging.ERROR)
    written = write_2022_report(warehouse, demo_dir() / "report", until)
    report.add("2022 impact report", f"{_shown(written.html)} and {_shown(written.pdf)}")
    print(written.summary(), flush=True)


def _replay_judgement(
    report: DemoReport, chain: Chain, emulators: Any, warehouse: Warehouse, loaded: Any
) -> None:
    """Publish one judgement as an analyst does; the events drive targeting → budgets → push."""
    from safepassage.orchestration.assets import KEY_JUDGEMENTS
    from safepassage.orchestration.run_day import REPLAY_DAY
    from safepassage.services.intelligence import publish
    from safepassage.services.push import recent_plans

    day = loaded.judgement.valid_from
    emulators.clock.set(dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC))
    published_at = dt.datetime.now(dt.UTC)
    ids = publish([loaded], warehouse)
    event = chain.api.post_asset_event(
        KEY_JUDGEMENTS.name,
        {"judgement_ids": ids, "published_at": published_at.isoformat(), REPLAY_DAY: day.isoformat()},
    )
    targeting = chain.woken_by(event, "refresh_targeting")
    report.add(f"{day} targeting", f"{targeting.outcome}; {_targeting_summary(warehouse)}")
    targeting_event = chain.produced(targeting, "targeting")
    if targeting_event is None:
        return  # nothing changed: nothing downstream was woken
    budgets = chain.woken_by(targeting_event, "allocate_budgets")
    report.add(f"{day} budgets", f"{budgets.outcome}; {_budget_summary(warehouse)}")
    budgets_event = chain.produced(budgets, "budgets")
    if budgets_event is None:
        return
    push = chain.woken_by(budgets_event, "push_campaigns")
    plans = recent_plans(warehouse, dag_run_id=push.run_id)
    seconds = (push.end_date - published_at).total_seconds() if push.end_date else float("nan")
    review = review_seconds(chain.api.task_instances(push.dag_id, push.run_id))
    report.publish_to_ads_seconds.append(seconds)
    report.review_seconds.append(review)
    report.add(
        f"{day} push",
        f"{push.outcome}; "
        + "; ".join(_plan_line(plan) for plan in sorted(plans, key=lambda plan: plan["platform"]))
        + f"; {seconds:.1f} s from publish to updated ads (the review {review:.1f} s of it)",
    )


def review_seconds(task_instances: list[dict[str, Any]]) -> float:
    """What a push's review added: from the branch that asked for it to the first apply queued
    (0 when the plans applied without one)."""

    def when(ti: dict[str, Any], name: str) -> dt.datetime | None:
        return dt.datetime.fromisoformat(ti[name]) if ti.get(name) else None

    by_task = {ti["task_id"]: ti for ti in task_instances}
    review, branch = by_task.get("review_plans"), by_task.get("needs_review")
    if review is None or review.get("state") != "success" or branch is None:
        return 0.0
    asked = when(branch, "end_date")
    applies = [
        when(ti, "queued_when") or when(ti, "start_date")
        for ti in task_instances
        if ti["task_id"] in APPLY_TASK_IDS
    ]
    started = [moment for moment in applies if moment is not None]
    return (min(started) - asked).total_seconds() if asked and started else 0.0


def _required(event: dict[str, Any] | None, run: Run) -> dict[str, Any]:
    from safepassage_dev.local_airflow import NotWorthWaiting

    if event is None:
        raise NotWorthWaiting(f"{run.dag_id} run {run.run_id} emitted no event")
    return event


def settled_reviewer(
    api: AirflowApi, note: str = REVIEW_NOTE, settle_seconds: float = REVIEW_SETTLE_SECONDS
) -> Callable[[str, str, dict[str, Any]], None]:
    """Approves the pending reviews of the run the demo is waiting for: nothing else.

    It answers a review only once it has waited `settle_seconds`, as a person would: an answer in
    the same second the task parks itself races the executor's report of that first try (Airflow
    3.3.2 then sees a "success" for a queued task and marks it up for retry)."""
    first_seen: dict[tuple[str, str, int], float] = {}

    def approve(dag_id: str, run_id: str, pending: dict[str, Any]) -> None:
        task = pending["task_instance"]
        key = (run_id, str(task["task_id"]), int(task["map_index"]))
        if time.monotonic() - first_seen.setdefault(key, time.monotonic()) < settle_seconds:
            return
        api.answer_review(dag_id, run_id, key[1], key[2], "Approve", {"note": note})

    return approve


def _demo_api(airflow: LocalAirflow) -> AirflowApi:
    from safepassage.adapters.events import AirflowApi

    return AirflowApi(airflow.api_url, airflow.token(DEMO_REVIEWER))


def wait_for_dags(airflow: LocalAirflow, api: AirflowApi, dag_ids: list[str], timeout: float = 240) -> None:
    """Until every DAG in `dag_ids` is parsed; fails at once on an import error."""
    from safepassage_dev.local_airflow import NotWorthWaiting, wait_for

    def parsed() -> bool:
        airflow.assert_running()
        found = {dag["dag_id"] for dag in api.call("GET", "/api/v2/dags", params={"limit": 100})["dags"]}
        errors = api.call("GET", "/api/v2/importErrors")["import_errors"]
        if errors:
            raise NotWorthWaiting(f"DAG files failed to load: {errors}")
        return set(dag_ids) <= found

    wait_for("the DAGs to be parsed", parsed, timeout, 0.5)


def _pools() -> str:
    return ", ".join(f"{name} ({slots} slots)" for name, slots in load_pool_settings().slots().items())


def _plan_line(plan: dict[str, Any]) -> str:
    counts = ", ".join(f"{n} {action}" for action, n in sorted(plan["counts"].items())) or "no changes"
    review = f", approved by {plan['decided_by']}" if plan["decided_by"] else ""
    platform = PLATFORM_NAMES.get(plan["platform"], plan["platform"])
    return f"{platform} plan {plan['id']} ({plan['account']}): {counts} → {plan['status']}{review}"


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block, then restore."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _creative_counts(warehouse: Warehouse) -> str:
    return f"{warehouse.creative_versions.count_versions()} creative versions stored"


def _budget_summary(warehouse: Warehouse) -> str:
    from safepassage.services.budgets import latest_amounts
    from safepassage.services.campaign_config import load_campaign_config

    amounts = latest_amounts(warehouse)
    top = sorted(amounts.items(), key=lambda item: -item[1])[:3]
    currency = load_campaign_config().budget.currency
    return (
        f"{sum(amounts.values()) / 100:,.2f} {currency}/day over {sum(1 for v in amounts.values() if v)} "
        f"countries (most: {', '.join(f'{code} {minor / 100:,.2f}' for code, minor in top)})"
    )


def _targeting_summary(warehouse: Warehouse) -> str:
    from safepassage.services.intelligence import latest_targeting

    document = latest_targeting(warehouse) or {}
    countries = sorted(document.get("countries", []), key=lambda c: -float(c.get("weight", 0)))
    top = ", ".join(f"{c['code']} {float(c['weight']):.0%}" for c in countries[:3])
    return f"top weights {top}" if top else "no targeting"


def _shown(path: Path) -> Path:
    return path.relative_to(settings.PROJECT_ROOT) if path.is_relative_to(settings.PROJECT_ROOT) else path


def serve_demo_ui(port: int = 8080) -> None:
    """The demo's Airflow UI on 127.0.0.1:`port` (api-server only: nothing is scheduled or run)."""
    airflow = demo_airflow(port=port)
    if not (airflow.home / "airflow.db").exists():
        raise FileNotFoundError("no demo has run yet: run `make demo` first")
    airflow.start(components=("api-server",))
    print(f"The demo's Airflow: http://127.0.0.1:{port} (everyone is admin; loopback only). Ctrl-C stops it.")
    print("  DAG runs: Dags → push_campaigns; plans: Browse → SafePassage push plans; targeting, gallery.")
    try:
        while True:
            airflow.assert_running()
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        airflow.stop()
