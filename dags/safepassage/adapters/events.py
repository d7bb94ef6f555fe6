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
            token = cls.login(base_url, username, password)
        return cls(base_url, token)

    @staticmethod
    def login(base_url: str, username: str, password: str) -> str:
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

    # --- following runs (make demo and the real-scheduler tests) ------------------------------

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One REST call, JSON in and out; EventNotSent names what failed."""
        import httpx

        try:
            with httpx.Client(
                base_url=self.base_url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30
            ) as client:
                response = client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise EventNotSent(f"cannot reach {self.base_url}: {error}") from None
        _raise_for(response, f"{method} {path}")
        return response.json() if response.content else None

    def trigger_dag(self, dag_id: str, conf: dict[str, Any] | None = None) -> dict[str, Any]:
        return dict(
            self.call(
                "POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}}
            )
        )

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}"))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The run's task instances (mapped ones each), with state, queued_when, start and end dates."""
        found = self.call(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100}
        )
        return list(found.get("task_instances", []))

    def asset_events(self, **filters: Any) -> list[dict[str, Any]]:
        """Asset events, oldest first (filters: asset_id, source_dag_id, source_run_id, timestamp_gte…),
        each with the DAG runs it created (`created_dagruns`)."""
        found = self.call("GET", "/api/v2/assets/events", params={"limit": 100, **filters})
        return list(found.get("asset_events", []))

    def pending_reviews(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Human-in-the-loop requests of this one run that nobody has answered yet."""
        found = self.call(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/hitlDetails",
            params={"response_received": False},
        )
        return list(found.get("hitl_details", []))

    def answer_review(
        self, dag_id: str, run_id: str, task_id: str, map_index: int, option: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        return dict(
            self.call(
                "PATCH",
                f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/hitlDetails",
                json={"chosen_options": [option], "params_input": params},
            )
        )


def _raise_for(response: Any, doing: str) -> None:
    if response.status_code >= 300:
        raise EventNotSent(f"could not {doing}: HTTP {response.status_code} {response.text[:300]}")
