"""Event sources that wake DAGs up. Messages carry no data the DAG relies on (see docs/intelligence.md).

The watcher uses the common-messaging `MessageQueueTrigger`, so another broker (Kafka, SQS, ...)
plugs in by changing `scheme` and its keyword arguments here; nothing else changes.
"""

from __future__ import annotations

from typing import Any

from safepassage import settings


def judgement_watchers() -> list[Any]:
    from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger
    from airflow.sdk import AssetWatcher

    trigger = MessageQueueTrigger(
        scheme="redis+pubsub",
        channels=[settings.judgement_channel()],
        redis_conn_id=settings.REDIS_CONN_ID,
        poll_interval=settings.judgement_poll_seconds(),
    )
    return [AssetWatcher(name="key_judgements_redis", trigger=trigger)]
