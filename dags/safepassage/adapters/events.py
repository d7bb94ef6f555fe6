"""Telling Airflow "a key judgement was published": Redis PUBLISH, or an asset event over REST.

The message only wakes `refresh_targeting` up; the judgement itself is already in the store.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from safepassage import settings
from safepassage.domain.errors import InvalidInput, Problem


class EventNotSent(RuntimeError):
    """The event could not be delivered (the judgement is stored; the daily run will pick it up)."""


def publish_redis(payload: dict[str, Any], channel: str | None = None, url: str | None = None) -> int:
    """PUBLISH on the judgement channel; returns how many subscribers received it (0: nobody listening)."""
    import redis

    client = redis.Redis.from_url(url or settings.redis_url(), socket_timeout=10)
    try:
        return int(client.publish(channel or settings.judgement_channel(), json.dumps(payload)))
    except redis.RedisError as error:
        raise EventNotSent(f"Redis PUBLISH failed: {error}") from None
    finally:
        client.close()


@dataclass(frozen=True)
class AirflowApi:
    """Airflow's REST API; the token comes from the environment and is never printed."""

    base_url: str
    token: str

    @classmethod
    def from_environment(cls) -> AirflowApi:
        base_url = os.environ.get("SAFEPASSAGE_AIRFLOW_API_URL", "http://127.0.0.1:8080").rstrip("/")
        token = os.environ.get("SAFEPASSAGE_AIRFLOW_TOKEN", "")
        if not token:
            username = os.environ.get("SAFEPASSAGE_AIRFLOW_USERNAME")
            password = os.environ.get("SAFEPASSAGE_AIRFLOW_PASSWORD")
            if not (username and password):
                raise InvalidInput(
                    [
                        Problem(
                            file="environment",
                            field="SAFEPASSAGE_AIRFLOW_TOKEN",
                            message="set it (or SAFEPASSAGE_AIRFLOW_USERNAME and "
                            "SAFEPASSAGE_AIRFLOW_PASSWORD) to post asset events through the REST API",
                        )
                    ]
                )
            token = cls._login(base_url, username, password)
        return cls(base_url, token)

    @staticmethod
    def _login(base_url: str, username: str, password: str) -> str:
        import httpx

        try:
            response = httpx.post(
                f"{base_url}/auth/token", json={"username": username, "password": password}, timeout=30
            )
        except httpx.HTTPError as error:
            raise EventNotSent(f"cannot reach {base_url}/auth/token: {error}") from None
        if response.status_code >= 300:
            raise EventNotSent(f"login to {base_url} failed with HTTP {response.status_code}")
        return str(response.json()["access_token"])

    def post_asset_event(self, asset_name: str, extra: dict[str, Any]) -> dict[str, Any]:
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            with httpx.Client(base_url=self.base_url, headers=headers, timeout=30) as client:
                found = client.get("/api/v2/assets", params={"name_pattern": asset_name, "limit": 100})
                _raise_for(found, "look up the asset")
                ids = [a["id"] for a in found.json().get("assets", []) if a.get("name") == asset_name]
                if not ids:
                    raise EventNotSent(
                        f"Airflow does not know the asset {asset_name!r} yet (is refresh_targeting parsed?)"
                    )
                created = client.post("/api/v2/assets/events", json={"asset_id": ids[0], "extra": extra})
                _raise_for(created, "create the asset event")
                return dict(created.json())
        except httpx.HTTPError as error:
            raise EventNotSent(f"cannot reach {self.base_url}: {error}") from None


def _raise_for(response: Any, doing: str) -> None:
    if response.status_code >= 300:
        raise EventNotSent(f"could not {doing}: HTTP {response.status_code} {response.text[:300]}")
