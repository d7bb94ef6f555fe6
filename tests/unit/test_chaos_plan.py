"""The chaos suite's fault plan (`make chaos`, bench/chaos.py) offers every fault kind of both
emulators, and enough rate-based faults to reach its 500 at the request volume of one chain."""

from __future__ import annotations

from bench.chaos import CHAOS_PLAN, MIN_FAULTS, chaos_plan
from safepassage.sandbox.faults import GOOGLE_KINDS, META_KINDS


def test_the_chaos_plan_covers_every_kind_on_each_platform() -> None:
    plan = chaos_plan()
    for platform, kinds in (("google_ads", GOOGLE_KINDS), ("meta", META_KINDS)):
        planned = {rule.kind for rule in plan.rules if rule.platform == platform}
        assert planned == set(kinds), platform


def test_the_chaos_plan_fires_at_least_500_faults_over_a_chain_of_requests() -> None:
    # A stand-in for one chain's traffic (the fault-free run of `make chaos` sends about this many
    # of each): the seeded rates alone must carry the 500.
    plan = chaos_plan()
    traffic = {
        ("google_ads", "/google.ads.googleads.v26.services.GoogleAdsService/Search"): 60,
        ("google_ads", "/google.ads.googleads.v26.services.GoogleAdsService/Mutate"): 30,
        ("meta", "POST /act_5550002001/campaigns"): 1400,
        ("meta", "GET /act_5550002001/insights"): 200,
        ("meta", "POST /act_5550002001/insights"): 40,
    }
    for (platform, target), calls in traffic.items():
        for _ in range(calls):
            plan.check(platform, target)
    assert sum(plan.fired()) >= MIN_FAULTS
    assert CHAOS_PLAN["seed"] == plan.seed
