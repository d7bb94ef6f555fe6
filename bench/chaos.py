"""`make chaos`: the whole chain under faults, compared with the same chain without them.

The chain is what production runs, under a real Airflow (scheduler, dag-processor, triggerer,
api-server; LocalExecutor) against the local emulators: sync_reference_data → render_creatives →
for each replayed judgement refresh_targeting → allocate_budgets → push_campaigns (Google Ads and
Meta), then one pull_performance backfill (Google Ads and Meta) which wakes impact_report.

It runs twice, each time from empty databases, a fresh emulators and a fresh Airflow: once without
faults, once under `CHAOS_PLAN` (every fault kind both emulators offer, seeded, rate-based) and with
the task process of a Meta push apply and of a Meta pull SIGKILLed mid-task (Airflow's retries finish
them). Then it asserts that the end states are equal: the warehouse (every table but `apply_log`,
which records each request sent and so grows with faults, by design), the emulators' objects on both
platforms and the partner export; no duplicate object, no lost or extra row. Platform ids are
compared through the objects they name (a request that failed may still have used an id), and
timestamps and Airflow run ids are left out: they differ between any two runs.

Prints faults injected per kind, retries (Airflow task tries beyond the first; adapter retries from
the request log) and time; writes bench/results/chaos.json. Not part of `make bench` (too long).
Run: `make chaos` (or `.venv/bin/python -m bench chaos`). The fault-free run is kept in data/chaos/clean
with a fingerprint of the sources that decide its end state; while they are unchanged, the next
`make chaos` compares with it instead of running it again (about half the time).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fnmatch
import hashlib
import json
import os
import re
import shutil
import signal
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench._results import figure
from bench._results import record as write_figures
from safepassage import settings

JUDGEMENTS_REPLAYED = 2  # 2022-03-25 and 2022-04-22: two pushes of both platforms' trees
PULL_FROM, PULL_TO = dt.date(2022, 3, 25), dt.date(2022, 5, 8)
MIN_FAULTS = 500
CHAOS_SEED = 2022
# The chain's config, for both runs: a stalled Meta report is given 120 s (not five minutes), polled
# hard, and a failed call is retried after 50 ms (not 2 s): faults by the hundred at little cost.
PERFORMANCE_OVERRIDES = {"report_timeout_seconds": 120, "report_poll_seconds": 0.05, "retry_seconds": 0.05}
# Task processes killed mid-task in the faulty run: (dag, task, the emulators request that shows the
# task is under way). Airflow sees the try fail and retries it.
KILLS = (
    ("push_campaigns", "apply_meta_account", "POST /"),  # after a Graph batch went out
    # after its stalled account report was split: the retry meets a stall, a failure and a split again
    ("pull_performance", "pull_meta", "POST /[0-9]*/insights"),
)
GOOGLE = "google_ads"
META = "meta"

# Every kind each emulator offers, seeded. Where a fault lands decides what it costs, so:
# * Google Ads: a few percent of every call, a sixth of the Mutates (partial failures, lost answers);
#   its pull restarts its five reads after any failure, so reads carry few.
# * Meta push: a handful, capped (`times`): one failed batch item costs the apply a whole round
#   (re-read, re-plan), and the apply gives up after six in one try. One batch throttled: a minute's
#   wait, which the apply task meets by rescheduling itself.
# * Meta pull: the bulk. The account's report stalls (then a campaign's) and one fails, so the pull
#   polls each for report_timeout_seconds before splitting it; every poll and result read may fail,
#   throttle or lose its answer, and is retried after retry_seconds.
_POLLS = "GET /[0-9]*"  # a report run's status and its result pages
CHAOS_PLAN: dict[str, Any] = {
    "seed": CHAOS_SEED,
    # The first matching rule that fires wins a call: the `nth` rules (each kind at least once,
    # whatever the draw) come before the rate rules that could take their call.
    "faults": [
        *(  # Google sends few requests
            {"platform": GOOGLE, "match": "*/SearchStream", "kind": kind, "nth": [nth]}
            for kind, nth in (("resource_exhausted", 2), ("transient", 5), ("internal", 8),
                              ("unavailable", 11))
        ),
        {"platform": GOOGLE, "match": "*/Mutate*", "kind": "partial_failure", "nth": [1]},
        {"platform": GOOGLE, "match": "*", "kind": "resource_exhausted", "rate": 0.02,
         "params": {"retry_delay_seconds": 0.2}},
        {"platform": GOOGLE, "match": "*", "kind": "transient", "rate": 0.02},
        {"platform": GOOGLE, "match": "*", "kind": "internal", "rate": 0.02},
        {"platform": GOOGLE, "match": "*", "kind": "unavailable", "rate": 0.02},
        {"platform": GOOGLE, "match": "*/Mutate*", "kind": "partial_failure", "rate": 0.15},
        {"platform": GOOGLE, "match": "*/Mutate*", "kind": "response_lost_after_commit", "rate": 0.15},
        # The account reports stall (three before the kill, as the pulls run), and the killed pull's
        # retry meets a stall again: so it splits again, and its campaigns' reports
        # (POST /<campaign>/insights) meet a failure and a stall. Each stall is polled for
        # report_timeout_seconds before it is split: the polls carry most of the faults below.
        {"platform": META, "match": "POST /act_*/insights", "kind": "async_report_stall",
         "nth": [1, 2, 3, 4]},
        # The first campaign report after a split fails (in the try the watcher kills); the retry's
        # first campaign report stalls.
        {"platform": META, "match": "POST /[0-9]*/insights", "kind": "async_report_fail", "nth": [1]},
        {"platform": META, "match": "POST /[0-9]*/insights", "kind": "async_report_stall", "nth": [2]},
        {"platform": META, "match": "POST /act_*/*", "kind": "server_error", "rate": 0.01, "times": 2},
        {"platform": META, "match": "POST /act_*/*", "kind": "response_lost_after_commit", "rate": 0.01,
         "times": 2},
        {"platform": META, "match": "POST /", "kind": "ads_management_rate_limit", "nth": [3]},
        # 18% of polls and result pages in all: a read gives up after six failures in a row. At 32%
        # (0.32^6 per read, over thousands of reads) both pull tries the kill left failed so.
        {"platform": META, "match": _POLLS, "kind": "server_error", "rate": 0.07},
        {"platform": META, "match": _POLLS, "kind": "response_lost_after_commit", "rate": 0.05},
        *(
            {"platform": META, "match": _POLLS, "kind": kind, "rate": 0.015,
             "params": {"estimated_time_to_regain_access": 0}}
            for kind in ("app_rate_limit", "user_rate_limit", "account_rate_limit",
                         "ads_management_rate_limit")
        ),
        {"platform": META, "match": "GET /act_*/insights", "kind": "server_error", "rate": 0.1},
    ],
}  # fmt: skip


@dataclass
class ChainRun:
    label: str
    seconds: float = 0.0
    requests: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    retried_requests: int = 0
    task_tries: dict[str, int] = field(default_factory=dict)
    killed: list[str] = field(default_factory=list)
    warehouse: dict[str, list[str]] = field(default_factory=dict)
    emulators: dict[str, list[str]] = field(default_factory=dict)
    export: str = ""
    duplicates: list[str] = field(default_factory=list)


def chaos_plan() -> Any:
    from ad_emulators.faults import FaultPlan

    return FaultPlan.from_dict(CHAOS_PLAN, "bench/chaos.py CHAOS_PLAN")


def _config_dir(work: Path) -> Path:
    config = work / "config"
    shutil.copytree(settings.config_dir(), config)
    path = config / "performance.yaml"
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    values.update(PERFORMANCE_OVERRIDES)
    path.write_text(yaml.safe_dump(values, sort_keys=False), encoding="utf-8")
    return config


class Killer(threading.Thread):
    """Kills each KILLS task's process once, mid-task: when it is running and the emulators have
    answered the request that shows its work is under way since it started."""

    def __init__(self, airflow: Any, emulators: Any) -> None:
        super().__init__(daemon=True)
        self.airflow, self.emulators = airflow, emulators
        self.done: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.airflow.metadata_url)
        pending = list(KILLS)
        try:
            while pending and not self.stopping.wait(0.2):
                for dag_id, task_id, sign in list(pending):
                    with contextlib.suppress(Exception), engine.connect() as connection:
                        rows = connection.execute(
                            text(
                                "SELECT pid, start_date FROM task_instance WHERE dag_id = :dag "
                                "AND task_id = :task AND state = 'running' AND pid IS NOT NULL"
                            ),
                            {"dag": dag_id, "task": task_id},
                        ).all()
                        for pid, started in rows:
                            started_at = _utc(started)
                            if any(
                                fnmatch.fnmatchcase(entry.target, sign) and _utc(entry.wall_at) > started_at
                                for entry in self.emulators.log.entries(platform=META)
                            ):
                                os.kill(int(pid), signal.SIGKILL)
                                self.done.append(f"{dag_id}.{task_id} (pid {pid})")
                                pending.remove((dag_id, task_id, sign))
                                break
        finally:
            engine.dispose()


def _utc(value: Any) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def run_chain(work: Path, tls_dir: Path, label: str, faults: Any | None, kill: bool) -> ChainRun:
    """The chain from empty databases; returns its end state and figures."""
    from ad_emulators.server import EmulatorServer
    from safepassage.adapters.events import AirflowApi
    from safepassage.adapters.warehouse import Warehouse
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.intelligence import check_files
    from safepassage_dev.demo import (
        DEMO_DAGS,
        DEMO_REVIEWER,
        REPLAY_FROM,
        Chain,
        DemoReport,
        _replay_judgement,
        _required,
        settled_reviewer,
        wait_for_dags,
    )
    from safepassage_dev.local_airflow import LocalAirflow

    work.mkdir(parents=True)
    result = ChainRun(label)
    config_dir, data_dir = _config_dir(work), work / "data"
    warehouse_url = f"sqlite:///{work / 'warehouse.sqlite'}"
    env = {
        "SAFEPASSAGE_WAREHOUSE_URL": warehouse_url,
        "SAFEPASSAGE_CONFIG_DIR": str(config_dir),
        "SAFEPASSAGE_DATA_DIR": str(data_dir),
    }
    os.environ.update(env)  # this process's warehouse and config are the run's
    warehouse = Warehouse(warehouse_url)
    warehouse.migrate()
    emulators = EmulatorServer(work / "emulators", faults=faults, tls_dir=tls_dir)
    emulators.start()
    airflow = LocalAirflow(
        work / "airflow",
        metadata_url=f"sqlite:///{work / 'airflow' / 'airflow.db'}",
        dags_folder=settings.PROJECT_ROOT / "dags",
        extra_env={
            **env,
            "SAFEPASSAGE_EMULATORS_DESCRIPTOR": str(emulators.write_descriptor()),
            "SAFEPASSAGE_JUDGEMENT_CHANNEL": f"safepassage.chaos.{uuid.uuid4().hex}",
            "SAFEPASSAGE_REVIEW_APPROVERS": DEMO_REVIEWER,
        },
        users={DEMO_REVIEWER: "admin"},
        setup=(("safepassage", "init"),),  # warehouse schema and pools, as every Airflow of this project
    )
    killer = Killer(airflow, emulators) if kill else None
    started = time.monotonic()
    try:
        airflow.start()
        api = AirflowApi(airflow.api_url, airflow.token(DEMO_REVIEWER))
        wait_for_dags(airflow, api, DEMO_DAGS)
        report = DemoReport()
        chain = Chain(api, review=settled_reviewer(api), report=report, timeout=900)
        if killer is not None:
            killer.start()
        sync = chain.trigger("sync_reference_data")
        creatives = chain.woken_by(
            _required(chain.produced(sync, "reference_data"), sync), "render_creatives"
        )
        chain.woken_by(_required(chain.produced(creatives, "creatives"), creatives), "push_campaigns")
        config = load_campaign_config()
        judgements = sorted(
            check_files([settings.intelligence_dir()], config), key=lambda item: item.judgement.valid_from
        )
        for loaded in judgements[:JUDGEMENTS_REPLAYED]:
            _replay_judgement(report, chain, emulators, warehouse, loaded)
        emulators.clock.set(dt.datetime.combine(PULL_TO + dt.timedelta(days=1), dt.time(6), tzinfo=dt.UTC))
        pull = chain.trigger("pull_performance", {"from": REPLAY_FROM.isoformat(), "to": PULL_TO.isoformat()})
        report.add("DAG pull_performance", pull.outcome)
        reported = chain.woken_by(_required(chain.produced(pull, "performance"), pull), "impact_report")
        report.add("DAG impact_report", reported.outcome)
        result.seconds = time.monotonic() - started
        result.task_tries = _task_tries(airflow)
    finally:
        if killer is not None:
            killer.stopping.set()
            killer.join(timeout=5)
            result.killed = list(killer.done)
        airflow.stop()
    try:
        _requests(result, emulators.log.entries())
        _end_state(result, emulators, warehouse, data_dir)
    finally:
        emulators.stop()
        warehouse.dispose()
    return result


def _end_state(result: ChainRun, emulators: Any, warehouse: Any, data_dir: Path) -> None:
    labels = _sandbox_state(result, emulators)
    result.warehouse = warehouse_state(warehouse, labels)
    exports = sorted(data_dir.glob("reports/*/partner-export.csv"))
    result.export = "".join(hashlib.sha256(path.read_bytes()).hexdigest() for path in exports)


def finished_run(work: Path, tls_dir: Path, label: str) -> ChainRun:
    """The end state of a chain run kept in `work` (its emulators state, warehouse and reports)."""
    from ad_emulators.faults import RequestRecord
    from ad_emulators.server import EmulatorServer
    from safepassage.adapters.warehouse import Warehouse

    result = ChainRun(label)
    emulators = EmulatorServer(work / "emulators", tls_dir=tls_dir)
    emulators.start()
    warehouse = Warehouse(f"sqlite:///{work / 'warehouse.sqlite'}")
    try:
        lines = (work / "emulators" / "requests.jsonl").read_text(encoding="utf-8").splitlines()
        _requests(result, [RequestRecord(**json.loads(line)) for line in lines])
        _end_state(result, emulators, warehouse, work / "data")
    finally:
        emulators.stop()
        warehouse.dispose()
    return result


def _task_tries(airflow: Any) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(airflow.metadata_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT dag_id, task_id, map_index, try_number FROM task_instance")
            ).all()
    finally:
        engine.dispose()
    return {f"{d}.{t}[{m}]": int(n) for d, t, m, n in rows}


def _requests(result: ChainRun, entries: list[Any]) -> None:
    result.requests = len(entries)
    result.faults = Counter(f"{entry.platform}:{entry.fault}" for entry in entries if entry.fault)
    # adapter-level retries: a request sent again to the same target right after a fault on it
    faulted: set[tuple[str, str]] = set()
    for entry in entries:
        key = (entry.platform, entry.target)
        if key in faulted:
            result.retried_requests += 1
            faulted.discard(key)
        if entry.fault:
            faulted.add(key)


# --- end states ------------------------------------------------------------------------------------

_GOOGLE_RESOURCE = re.compile(r"customers/\d+/\w+/[\d~]+")
_ID_RUN = re.compile(r"\d{6,}")


def _sandbox_state(result: ChainRun, emulators: Any) -> dict[str, str]:
    """Every object on both platforms as canonical JSON with ids replaced by the names of the objects
    they point to; returns platform id → that name (to read the warehouse with)."""
    from google.protobuf.json_format import MessageToDict

    labels: dict[str, str] = {}
    state: dict[str, list[str]] = {}
    # Google Ads: resource names → "kind:name" when the resource has a name, else its content.
    for customer_id, customer in sorted(emulators.google.store.customers.items()):
        index = {
            resource_name: (kind, MessageToDict(message, preserving_proto_field_name=True))
            for kind, resources in customer.resources.items()
            for resource_name, message in resources.items()
        }
        memo: dict[str, str] = {}

        def label(resource_name: str, index: dict[str, Any] = index, memo: dict[str, str] = memo) -> str:
            if resource_name not in memo:
                kind, body = index[resource_name]
                memo[resource_name] = "?"  # a cycle would otherwise recurse forever
                memo[resource_name] = (
                    f"{kind}:{body['name']}" if body.get("name") else f"{kind}:{_canonical(body, resolve)}"
                )
            return memo[resource_name]

        def resolve(value: str, index: dict[str, Any] = index) -> str:
            return label(value) if _GOOGLE_RESOURCE.fullmatch(value) and value in index else value

        for resource_name in index:
            last = resource_name.rsplit("/", 1)[-1]
            labels[last] = labels[resource_name] = label(resource_name)
            if "~" in last:  # an ad group ad ("<ad group>~<ad>"): the warehouse keeps the ad's id
                labels[last.rsplit("~", 1)[-1]] = label(resource_name)
        objects = sorted(_canonical(body, resolve) for kind, body in index.values())
        state[f"{GOOGLE}:{customer_id}"] = objects
        result.duplicates += _duplicates(f"{GOOGLE}:{customer_id}", [label(name) for name in index])
    # Meta: objects by id → "type:name"; report runs are the pull's jobs, not the campaign.
    records = {
        object_id: record
        for object_id, record in emulators.meta.store.data["objects"].items()
        if record["type"] != "adreportrun"
    }
    for object_id, record in records.items():
        labels[object_id] = f"{record['type']}:{record['fields'].get('name') or record['fields'].get('hash')}"

    def meta_resolve(value: str) -> str:
        return labels.get(value, value)

    by_account: dict[str, list[str]] = {}
    for record in records.values():
        body = {"type": record["type"], "fields": record["fields"]}
        by_account.setdefault(f"{META}:{record['account_id']}", []).append(_canonical(body, meta_resolve))
    for account, objects in sorted(by_account.items()):
        state[account] = sorted(objects)
        result.duplicates += _duplicates(
            account, [labels[i] for i, r in records.items() if f"{META}:{r['account_id']}" == account]
        )
    result.emulators = state
    return labels


def _duplicates(where: str, names: list[str]) -> list[str]:
    return [f"{where} {name} ×{n}" for name, n in Counter(names).items() if n > 1]


# The platform's numbering of an object, not what it is: `criterion_id` is the id in a Google campaign
# criterion's resource name (ids used up by a failed or retried request shift every later one).
PLATFORM_ID_FIELDS = ("id", "resource_name", "criterion_id")


def _canonical(value: Any, resolve: Any) -> str:
    def clean(item: Any) -> Any:
        if isinstance(item, dict):
            return {k: clean(v) for k, v in item.items() if k not in PLATFORM_ID_FIELDS}
        if isinstance(item, list):
            return [clean(v) for v in item]
        if isinstance(item, str):
            return resolve(item)
        return item

    return json.dumps(clean(value), sort_keys=True, default=str)


# Run-specific by nature: surrogate keys, when a row was written, the Airflow run that wrote it.
IGNORED_COLUMNS = {"id", "dag_run_id"}
IGNORED_TABLES = {"apply_log", "alembic_version"}  # apply_log: one row per request sent, faults included
# A plan's `summary.outcome` is its apply's report: attempts, retries and requests sent, which grow
# with faults by design (as apply_log does); the plan itself (summary, operations, status) must match.
IGNORED_JSON_KEYS = {("push_plan", "summary"): {"outcome"}}
REFERENCES = {
    "account_id": "dim_account",
    "campaign_id": "dim_campaign",
    "ad_group_id": "dim_ad_group",
    "ad_id": "dim_ad",
    "plan_id": "push_plan",
    "allocation_id": "budget_allocation",
    "creative_version_id": "creative_version",
}


def warehouse_state(warehouse: Any, labels: dict[str, str]) -> dict[str, list[str]]:
    """Every table's rows as sorted canonical JSON, references and platform ids by what they name."""
    from sqlalchemy import inspect, text

    engine = warehouse.engine
    tables: dict[str, dict[Any, dict[str, Any]]] = {}
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            if table in IGNORED_TABLES:
                continue
            rows = [dict(row) for row in connection.execute(text(f'SELECT * FROM "{table}"')).mappings()]
            tables[table] = {row.get("id", n): row for n, row in enumerate(rows)}

    def google_resource(found: re.Match[str]) -> str:
        # one no longer on the account (a plan removed it) is named by its ids alone: the
        # platform's numbering, which differs between runs; what it was is in the row's key
        return labels.get(found.group(), f"{found.group().split('/')[2]}:removed")

    def platform_ids(value: Any) -> Any:
        if isinstance(value, str):
            value = _GOOGLE_RESOURCE.sub(google_resource, value)
            return _ID_RUN.sub(lambda found: labels.get(found.group(), found.group()), value)
        return value

    def canonical_row(table: str, row: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for column, value in row.items():
            if column in IGNORED_COLUMNS or column.endswith("_at"):
                continue
            dropped = IGNORED_JSON_KEYS.get((table, column))
            if dropped and value is not None:
                parsed = json.loads(value) if isinstance(value, str) else dict(value)
                value = json.dumps({k: v for k, v in parsed.items() if k not in dropped}, sort_keys=True)
            target = REFERENCES.get(column)
            if target and target != table and value is not None and target in tables and depth < 4:
                referenced = tables[target].get(value)
                out[column] = canonical_row(target, referenced, depth + 1) if referenced else value
            else:
                out[column] = platform_ids(value)
        return out

    return {
        table: sorted(
            json.dumps(canonical_row(table, row), sort_keys=True, default=str) for row in rows.values()
        )
        for table, rows in sorted(tables.items())
    }


def differences(clean: dict[str, list[str]], faulty: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """Per table/account: rows only the fault-free run has (lost) and only the faulty run has (extra)."""
    found: dict[str, dict[str, Any]] = {}
    for name in sorted(set(clean) | set(faulty)):
        left, right = Counter(clean.get(name, [])), Counter(faulty.get(name, []))
        lost, extra = left - right, right - left
        if lost or extra:
            found[name] = {
                "lost": sum(lost.values()),
                "extra": sum(extra.values()),
                "example_lost": next(iter(lost), None),
                "example_extra": next(iter(extra), None),
            }
    return found


# What decides the fault-free run's end state: the chain's code, config and inputs, the locked
# libraries, and the chain's shape here. The same fingerprint: the same end state (the emulators are
# deterministic), so the kept run stands in for a new one.
FINGERPRINTED = ("dags", "config", "intelligence", "creatives", "requirements.lock")


def source_fingerprint() -> str:
    shape = [PERFORMANCE_OVERRIDES, JUDGEMENTS_REPLAYED, str(PULL_FROM), str(PULL_TO)]
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode())
    for top in FINGERPRINTED:
        path = settings.PROJECT_ROOT / top
        files = [path] if path.is_file() else sorted(path.rglob("*"))
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(settings.PROJECT_ROOT)).encode() + b"\0")
                digest.update(file.read_bytes())
    return digest.hexdigest()


def main(reuse_fault_free: bool | None = None) -> list[dict[str, Any]]:
    """`reuse_fault_free`: compare with the fault-free run kept in data/chaos/clean instead of
    running it again: None (`make chaos`) when it was made from the same sources (its fingerprint
    matches), True always (failing if it does not match), False never."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # stop the Airflow and emulators it started
    settings.apply_airflow_environment()
    started = time.monotonic()
    root = settings.data_dir() / "chaos"  # kept until the next run: Airflow logs, sandboxes, warehouses
    shutil.rmtree(root / "faulty", ignore_errors=True)
    fingerprint, kept = root / "clean" / "fingerprint", source_fingerprint()
    matches = fingerprint.is_file() and fingerprint.read_text(encoding="utf-8").strip() == kept
    if reuse_fault_free and not matches:
        raise SystemExit(f"chaos: the fault-free run in {root}/clean was not made from these sources")
    reused = matches if reuse_fault_free is None else reuse_fault_free
    if reused:
        print(f"fault-free run: the one kept in {root}/clean (same sources)", flush=True)
        clean = finished_run(root / "clean", root / "tls", "fault-free")
        took = root / "clean" / "seconds"  # how long the kept run took when it was made
        clean.seconds = float(took.read_text(encoding="utf-8")) if took.is_file() else float("nan")
    else:
        shutil.rmtree(root, ignore_errors=True)
        print(f"fault-free run (in {root}/clean) …", flush=True)
        clean = run_chain(root / "clean", root / "tls", "fault-free", None, kill=False)
        fingerprint.write_text(kept + "\n", encoding="utf-8")
        (root / "clean" / "seconds").write_text(f"{clean.seconds:.1f}\n", encoding="utf-8")
    print(f"  done in {clean.seconds:.0f} s, {clean.requests} requests", flush=True)
    print(f"run under faults, two task processes killed mid-task (in {root}/faulty) …", flush=True)
    faulty = run_chain(root / "faulty", root / "tls", "faults", chaos_plan(), kill=True)
    print(f"  done in {faulty.seconds:.0f} s, {faulty.requests} requests", flush=True)
    warehouse_diff = differences(clean.warehouse, faulty.warehouse)
    sandbox_diff = differences(clean.emulators, faulty.emulators)
    injected = sum(faulty.faults.values())
    kinds = {key.split(":", 1)[1] for key in faulty.faults}
    tries = {task: n for task, n in faulty.task_tries.items() if n > 1}
    duplicates = clean.duplicates + faulty.duplicates
    export_equal = clean.export == faulty.export and bool(clean.export)
    seconds_total = time.monotonic() - started
    context = {
        "chain": f"{JUDGEMENTS_REPLAYED} judgements pushed to both platforms, pull {PULL_FROM}–{PULL_TO}",
        "fault_free_run": "reused (same sources)" if reused else "run",
    }
    figures = [
        figure("faults_injected", injected, "faults", aim=f"≥ {MIN_FAULTS}",
               by_kind=dict(sorted(faulty.faults.items())), **context),
        figure("fault_kinds_fired", len(kinds), "kinds", aim=f"{len(_offered_kinds())} (all offered)"),
        figure("task_processes_killed", len(faulty.killed), "processes", aim=str(len(KILLS)),
               killed=faulty.killed),
        figure("task_retries", sum(n - 1 for n in tries.values()), "tries", tasks=tries),
        figure("adapter_retries", faulty.retried_requests, "requests"),
        figure("requests_fault_free", clean.requests, "requests"),
        figure("requests_under_faults", faulty.requests, "requests"),
        figure("fault_free_chain_seconds", round(clean.seconds, 1), "s", **context),
        figure("chain_under_faults_seconds", round(faulty.seconds, 1), "s"),
        figure("total_seconds", round(seconds_total, 1), "s"),
        figure("warehouse_tables_differing", len(warehouse_diff), "tables", aim="0",
               rows_compared={table: len(rows) for table, rows in clean.warehouse.items()},
               differences=_brief(warehouse_diff)),
        figure("sandbox_accounts_differing", len(sandbox_diff), "accounts", aim="0",
               objects_compared={account: len(rows) for account, rows in clean.emulators.items()},
               differences=_brief(sandbox_diff)),
        figure("duplicate_objects", len(duplicates), "objects", aim="0", examples=duplicates[:5]),
        figure("partner_exports_equal", export_equal, "bool", aim="true"),
    ]  # fmt: skip
    print(f"faults injected: {injected} ({len(kinds)} of {len(_offered_kinds())} kinds)")
    for key, n in sorted(faulty.faults.items()):
        print(f"  {key}: {n}")
    print(f"task processes killed mid-task: {', '.join(faulty.killed) or 'none'}")
    print(f"retries: {figures[3]['value']} Airflow task retries, {faulty.retried_requests} adapter retries")
    print(
        f"time: fault-free chain {clean.seconds:.0f} s, under faults {faulty.seconds:.0f} s, "
        f"total {seconds_total:.0f} s"
    )
    print(f"warehouse differences: {_brief(warehouse_diff) or 'none'}")
    print(f"emulators differences: {_brief(sandbox_diff) or 'none'}")
    print(f"duplicates: {duplicates or 'none'}; partner export equal: {export_equal}")
    print(f"figures: {write_figures('chaos', figures)}")
    problems = [
        *([f"only {injected} faults (< {MIN_FAULTS})"] if injected < MIN_FAULTS else []),
        *(
            [f"fault kinds never fired: {sorted(set(_offered_kinds()) - kinds)}"]
            if len(kinds) < len(_offered_kinds())
            else []
        ),
        *(
            [f"killed {len(faulty.killed)} of {len(KILLS)} task processes"]
            if len(faulty.killed) < len(KILLS)
            else []
        ),
        *(["the warehouses differ"] if warehouse_diff else []),
        *(["the sandboxes differ"] if sandbox_diff else []),
        *(["duplicates"] if duplicates else []),
        *(["the partner exports differ"] if not export_equal else []),
    ]
    if problems:
        raise SystemExit("chaos: " + "; ".join(problems))
    print("chaos: the end state under faults equals the fault-free run's")
    return figures


def _brief(found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Differences with their example rows cut short: the figures file stays small."""
    return {
        name: {key: (value[:400] if isinstance(value, str) else value) for key, value in diff.items()}
        for name, diff in found.items()
    }


def _exit_on_sigterm(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _offered_kinds() -> set[str]:
    from ad_emulators.faults import GOOGLE_KINDS, META_KINDS

    return {str(kind) for kind in GOOGLE_KINDS | META_KINDS}


if __name__ == "__main__":
    main()
