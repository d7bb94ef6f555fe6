"""The chaos suite's fault plan (`make chaos`, bench/chaos.py) offers every fault kind of both
emulators (whether each fired, and 500 in all, `make chaos` itself checks on the run)."""

from __future__ import annotations

from bench.chaos import chaos_plan

from safepassage.sandbox.faults import GOOGLE_KINDS, META_KINDS


def test_the_chaos_plan_covers_every_kind_on_each_platform() -> None:
    plan = chaos_plan()
    for platform, kinds in (("google_ads", GOOGLE_KINDS), ("meta", META_KINDS)):
        planned = {rule.kind for rule in plan.rules if rule.platform == platform}
        assert planned == set(kinds), platform
