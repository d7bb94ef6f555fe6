"""The suite's two tiers (docs/testing.md). `make test` proves every feature at least once, in
minutes; `make proof` (SAFEPASSAGE_TIER=proof) runs the long forms: the tests marked `proof`, the
Celery cluster, and every property again with its full number of examples."""

from __future__ import annotations

import os

PROOF = os.environ.get("SAFEPASSAGE_TIER", "test") == "proof"


def examples(full: int) -> int:
    """How many examples a property tries: `full` in make proof, a third of them in make test."""
    return full if PROOF else max(min(full, 20), full // 3)
