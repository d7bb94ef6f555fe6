"""Publishing a key judgement as an analyst does: `safepassage intel publish` in its own process,
the event sent over Airflow's REST API or on Redis (where the AssetWatcher listens), and the
`key_judgements` asset event it caused, read back from a running Airflow."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import redis

from safepassage import settings
from safepassage.adapters.events import AirflowApi
from safepassage.orchestration.assets import KEY_JUDGEMENTS
from safepassage_dev.local_airflow import wait_for


def publish(env: dict[str, str], path: Path, via: str) -> dt.datetime:
    """Run the analyst's command; the moment it says it sent the event."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "safepassage"), "intel", "publish", "--via", via, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    stamp = re.search(
        r"Event sent (?:on Redis|over REST) at (\d{4}-\d\d-\d\dT[0-9:.]+\+00:00)", result.stdout
    )
    assert stamp, result.stdout
    return dt.datetime.fromisoformat(stamp.group(1))


def rest_env(env: dict[str, str], api: AirflowApi) -> dict[str, str]:
    """`env` plus the API URL and token `--via rest` needs."""
    return {**env, "SAFEPASSAGE_AIRFLOW_API_URL": api.base_url, "SAFEPASSAGE_AIRFLOW_TOKEN": api.token}


def subscribers(channel: str) -> int:
    """Listeners on the Redis channel (the triggerer's AssetWatcher, once subscribed)."""
    client = redis.Redis.from_url(settings.redis_url())
    try:
        return int(dict(client.pubsub_numsub(channel)).get(channel.encode(), 0))
    finally:
        client.close()


def judgement_event(api: AirflowApi, published_at: dt.datetime, timeout: float = 45) -> dict[str, Any]:
    """The `key_judgements` asset event that a publish at `published_at` caused."""

    def found() -> dict[str, Any] | None:
        events = api.asset_events(timestamp_gte=published_at.isoformat())
        return next((event for event in events if event.get("name") == KEY_JUDGEMENTS.name), None)

    return dict(wait_for(f"the {KEY_JUDGEMENTS.name} event published at {published_at}", found, timeout, 0.1))
