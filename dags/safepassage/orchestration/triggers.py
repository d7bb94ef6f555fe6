"""Event sources that wake DAGs up. Messages carry no data the DAG relies on (see docs/intelligence.md).

At parse time the watcher is only a description: the trigger's class path and keyword arguments,
which is all the serialized DAG keeps and all the triggerer needs to build the real trigger.
Building the common-messaging `MessageQueueTrigger` there instead cost every parse of
refresh_targeting ~250 ms (the providers manager, then `redis.asyncio` and OpenTelemetry), five
times the 50 ms a DAG file may add. `JudgementTrigger` serializes to exactly what
`MessageQueueTrigger(scheme="redis+pubsub", …)` resolves to (a test compares the two); another
broker plugs in by changing `BROKER_TRIGGER` and its keyword arguments here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from safepassage import settings

# What MessageQueueTrigger(scheme="redis+pubsub") dispatches to (the Redis provider's queue class).
BROKER_TRIGGER = "airflow.providers.redis.triggers.redis_await_message.AwaitMessageTrigger"


class JudgementTrigger(BaseEventTrigger):
    """Serializes to the broker's trigger without importing it; the triggerer runs that one."""

    def __init__(self, classpath: str, **kwargs: Any) -> None:
        super().__init__()
        self.classpath = classpath
        self.kwargs = kwargs

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return self.classpath, dict(self.kwargs)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Only if run in-process: the triggerer builds the broker's trigger from `serialize()`."""
        from airflow.utils.module_loading import import_string

        async for event in import_string(self.classpath)(**self.kwargs).run():
            yield event


def judgement_trigger_kwargs() -> dict[str, Any]:
    return {
        "channels": [settings.judgement_channel()],
        "redis_conn_id": settings.REDIS_CONN_ID,
        "poll_interval": settings.judgement_poll_seconds(),
    }


def judgement_watchers() -> list[Any]:
    from airflow.sdk import AssetWatcher

    trigger = JudgementTrigger(BROKER_TRIGGER, **judgement_trigger_kwargs())
    return [AssetWatcher(name="key_judgements_redis", trigger=trigger)]
