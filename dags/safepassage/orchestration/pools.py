"""Airflow pools SafePassage tasks use: one per ad platform, bounding concurrent API calls.

Their sizes live in `config/pools.yaml`; `safepassage init` creates or resizes them. Every way this
project starts Airflow runs it before the scheduler's first task: `make airflow`, `make demo`,
compose's `airflow-init` and the Helm chart's migrate job.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

GOOGLE_ADS_POOL = "google_ads_api"
META_POOL = "meta_api"
POOLS_FILE = "pools.yaml"
DESCRIPTIONS = {
    GOOGLE_ADS_POOL: "Concurrent Google Ads API calls: plan read-backs, mutates, the pull, the kill switch",
    # Meta throttles per ad account and app (usage headers): shared by the push, the pull and the kill switch.
    META_POOL: "Concurrent Meta Marketing API calls: push read-backs and batches, insights, the kill switch",
}
Slots = Field(default=4, ge=1, le=64)


class PoolSettings(BaseModel):
    """`config/pools.yaml`: slots per pool (a misspelt pool name is refused, not ignored)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    google_ads_api: int = Slots
    meta_api: int = Slots

    def slots(self) -> dict[str, int]:
        return {GOOGLE_ADS_POOL: self.google_ads_api, META_POOL: self.meta_api}


def load_pool_settings(config_dir: Path | None = None) -> PoolSettings:
    from safepassage import settings
    from safepassage.adapters.files import load_document
    from safepassage.domain.errors import InvalidInput

    path = Path(config_dir or settings.config_dir()) / POOLS_FILE
    if not path.exists():
        return PoolSettings()
    document = load_document(path, display_name=f"config/{POOLS_FILE}")
    try:
        return PoolSettings.model_validate(document.data or {})
    except ValidationError as error:
        raise InvalidInput(document.problems_from(error)) from None


def ensure_pools(config_dir: Path | None = None) -> dict[str, int]:
    """Create or resize the pools in Airflow's metadata DB (idempotent); returns their slots."""
    from airflow.models.pool import Pool

    slots = load_pool_settings(config_dir).slots()
    for name, size in slots.items():
        Pool.create_or_update_pool(name, size, DESCRIPTIONS[name], include_deferred=False)
    return slots
