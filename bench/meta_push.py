"""The push to Meta against the emulators' Graph emulator, through the official SDK: for the full
19-country tree, Graph requests sent (read-backs and batches) versus the minimum number of batches
the 50-per-batch limit allows; then a no-change re-push (writes expected: 0).
Prints figures and saves them to bench/results/meta_push.json.
Run: `.venv/bin/python -m bench.meta_push` (or `make bench`)."""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.push_support import meta_tree

from bench._results import figure, flatten, record
from safepassage import settings
from safepassage.domain.push import PlanOperation
from safepassage.domain.push_meta import MAX_BATCH
from safepassage.services.campaign_config import load_campaign_config


def requests_by_kind(log: Any) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for entry in log.entries(platform="meta"):
        if entry.target == "POST /":
            kinds["batch"] += 1
        elif entry.method == "GET":
            kinds["read"] += 1
        elif entry.method in ("POST", "DELETE") and "batch of" not in (entry.detail or ""):
            kinds["write item"] += 1
    return kinds


def dependency_waves(operations: Sequence[PlanOperation]) -> list[int]:
    """Operations per wave: a create referring to another create's temporary name comes a wave later."""
    created = {op.resource_name: op for op in operations if op.action == "create" and op.resource_name}
    depth: dict[str, int] = {}

    def wave(op: PlanOperation) -> int:
        if op.key not in depth:
            parents = [created[ref] for ref in op.refs.values() if ref in created]
            depth[op.key] = 1 + max((wave(parent) for parent in parents), default=-1)
        return depth[op.key]

    sizes = Counter(wave(op) for op in operations)
    return [sizes[w] for w in sorted(sizes)]


def main() -> dict[str, Any]:
    from ad_emulators.server import EmulatorServer
    from safepassage.adapters.meta_push import MetaPushAccount
    from safepassage.adapters.platform_clients import meta_api
    from safepassage.domain.budgets import BudgetGuard
    from safepassage.orchestration.connections import meta_settings_from_descriptor
    from safepassage.services.push import MemoryApplyLog, apply_plan, plan_account

    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    config = load_campaign_config()
    with tempfile.TemporaryDirectory() as tls, EmulatorServer(tls_dir=Path(tls)) as server:
        api = meta_api(meta_settings_from_descriptor(server.descriptor))
        guard = BudgetGuard({c.code: 300_000_000 for c in config.countries}, 1_500_000_000)
        account = MetaPushAccount(api, server.meta.account_ids[0], guard, settings.creatives_dir())
        log = server.meta.log
        desired = meta_tree(config)
        log.clear()
        started = time.perf_counter()
        plan = plan_account(account, desired)
        report = apply_plan(account, desired, plan, MemoryApplyLog())
        first_seconds = time.perf_counter() - started
        first = requests_by_kind(log)
        log.clear()
        started = time.perf_counter()
        again = plan_account(account, desired)
        rerun = apply_plan(account, desired, again, MemoryApplyLog())
        rerun_seconds = time.perf_counter() - started
        second = requests_by_kind(log)
    operations = len(plan.operations)
    figures: dict[str, Any] = {
        "full_tree": {
            "operations": operations,
            "objects_by_kind": dict(Counter(op.kind for op in plan.operations)),
            "graph_requests_sent": first["batch"] + first["read"],
            "batches_sent": first["batch"],
            "batches_minimum": math.ceil(operations / MAX_BATCH),
            "read_requests_sent": first["read"],
            "read_backs": report.attempts + 1,
            "plan_and_apply_seconds": round(first_seconds, 3),
        },
        "no_change_repush": {
            "operations": len(again.operations),
            "writes_sent": second["batch"] + second["write item"],
            "read_requests_sent": second["read"],
            "batches_sent": rerun.mutate_requests,
            "plan_and_apply_seconds": round(rerun_seconds, 3),
        },
    }
    full, repush = figures["full_tree"], figures["no_change_repush"]
    waves = dependency_waves(plan.operations)
    wave_minimum = sum(math.ceil(size / MAX_BATCH) for size in waves)
    path = record(
        "meta_push",
        [
            figure(
                "meta_batches_vs_minimum",
                round(full["batches_sent"] / full["batches_minimum"], 3),
                "ratio",
                aim="1.0",
                batches_sent=full["batches_sent"],
                batches_minimum=full["batches_minimum"],
                why=(
                    f"children are sent only once a read-back shows their parents (waves of {waves} "
                    f"operations, each packed into batches of {MAX_BATCH}): a wave's last batch cannot "
                    f"be topped up from the next wave, so {wave_minimum} batches is the minimum "
                    "under that rule; Graph batch result references could close the gap, at the "
                    "cost of the read-back that makes a lost reply harmless"
                ),
            ),
            figure(
                "meta_batches_vs_dependency_wave_minimum",
                round(full["batches_sent"] / wave_minimum, 3),
                "ratio",
                aim="1.0",
                batches_sent=full["batches_sent"],
                wave_minimum=wave_minimum,
                waves=waves,
            ),
            figure(
                "meta_writes_on_no_change_repush",
                repush["writes_sent"],
                "requests",
                aim="0",
                operations=repush["operations"],
                read_requests=repush["read_requests_sent"],
            ),
            *flatten(figures),
        ],
    )
    print(
        f"full Meta tree (19 countries): {full['operations']} operations -> "
        f"{full['graph_requests_sent']} Graph requests ({full['batches_sent']} batches of <=50 + "
        f"{full['read_requests_sent']} reads over {full['read_backs']} read-backs); "
        f"minimum {full['batches_minimum']} batches; {full['plan_and_apply_seconds']} s"
    )
    print(
        f"no-change re-push: {repush['operations']} operations, {repush['writes_sent']} writes, "
        f"{repush['read_requests_sent']} reads; {repush['plan_and_apply_seconds']} s"
    )
    print(f"dependency waves {waves}: minimum {wave_minimum} batches under the read-back rule")
    print(f"saved to {path}")
    return figures


if __name__ == "__main__":
    main()
