"""Airflow pools SafePassage tasks use: one per ad platform, bounding concurrent API calls."""

from __future__ import annotations

GOOGLE_ADS_POOL = "google_ads_api"
META_POOL = "meta_api"
POOLS: dict[str, tuple[int, str]] = {
    GOOGLE_ADS_POOL: (4, "Concurrent Google Ads API calls: plan read-backs, mutates, the kill switch"),
    META_POOL: (4, "Concurrent Meta Marketing API calls: insights report runs, the kill switch"),
}


def ensure_pools() -> list[str]:
    """Create or resize the pools in Airflow's metadata DB (idempotent); returns their names."""
    from airflow.models.pool import Pool

    for name, (slots, description) in POOLS.items():
        Pool.create_or_update_pool(name, slots, description, include_deferred=False)
    return sorted(POOLS)
