"""The person's decision on a push plan, made in the Airflow UI (human-in-the-loop), recorded in the
warehouse with who decided and why before anything downstream runs or is skipped.

When the review opens, the approvers named in config/push.yaml (`review.approvers`) become the HITL
task's assigned users (only they may answer) and the summary is announced: POSTed to the HTTP
Connection `review.notify_connection_id` (a chat webhook, say), or only logged when none is set. A
review nobody answers within its timeout is not a rejection: its plans are recorded as `expired`,
and that is announced the same way."""

from __future__ import annotations

import json
import logging
import urllib.request
from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk.bases.notifier import BaseNotifier

PLAN_TASK_ID = "plan_account"
REVIEW_TASK_ID = "review_plans"
NOTIFY_TIMEOUT_SECONDS = 10
log = logging.getLogger(__name__)


def announce(connection_id: str, text: str) -> None:
    """Send `text` to the review destination (a webhook URL held in an HTTP Connection), always log it."""
    log.info("Review announcement:\n%s", text)
    if not connection_id:
        return
    from airflow.sdk import BaseHook

    connection = BaseHook.get_connection(connection_id)
    host = connection.host or ""
    url = host if "://" in host else connection.get_uri()
    request = urllib.request.Request(
        url, data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=NOTIFY_TIMEOUT_SECONDS) as response:
            response.read()
    except OSError as error:  # the review stays open in the UI; the URL (a secret) is never logged
        log.error(
            "Could not announce the review through Connection %s: %s", connection_id, type(error).__name__
        )
        return
    log.info("Review announced through Connection %s", connection_id)


class ReviewOpened(BaseNotifier):
    """Announces a review as it opens: its title and summary (which names who may decide)."""

    def __init__(self, connection_id: str) -> None:
        super().__init__()
        self.connection_id = connection_id

    def notify(self, context: Any) -> None:
        task = context["task"]
        announce(self.connection_id, f"Review waiting: {task.subject}\n\n{task.body or ''}")


class PlanApprovalOperator(ApprovalOperator):
    """Approve / Reject with a note; the answer is written onto every plan of the run that needed it."""

    def execute(self, context: Any) -> Any:
        from safepassage.services.push_settings import load_push_settings

        review = load_push_settings().review
        if review.approvers:
            self.assigned_users = [{"id": user, "name": user} for user in review.approvers]
        self.notifiers = [ReviewOpened(review.notify_connection_id)]
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        from safepassage.orchestration.connections import open_warehouse
        from safepassage.services.push import record_decision, record_expiry
        from safepassage.services.push_settings import load_push_settings

        if event.get("timedout"):
            hours = (self.response_timeout or timedelta(0)).total_seconds() / 3600
            note = f"no answer within {hours:g} hours: not applied; plan again to push"
            warehouse = open_warehouse()
            try:
                plan_ids = record_expiry(warehouse, str(context["run_id"]), note)
            finally:
                warehouse.dispose()
            self.log.warning("Review expired: plans %s %s", plan_ids, note)
            connection_id = load_push_settings().review.notify_connection_id
            announce(connection_id, f"Review expired (plans {plan_ids}, {note}): {self.subject}")
            return super().execute_complete(context, event)

        chosen = (event.get("chosen_options") or [None])[0]
        params = event.get("params_input") or {}
        user = event.get("responded_by_user") or {}
        by = str(user.get("name") or user.get("id") or "unknown") if isinstance(user, dict) else str(user)
        run_id = str(context["run_id"])
        warehouse = open_warehouse()
        try:
            plan_ids = record_decision(
                warehouse, run_id, chosen == self.APPROVE, by, str(params.get("note") or "")
            )
        finally:
            warehouse.dispose()
        self.log.info("Plans %s %s by %s", plan_ids, "approved" if chosen == self.APPROVE else "rejected", by)
        return super().execute_complete(context, event)
