"""Tell a person when a SafePassage task fails for good: a JSON POST to a webhook and/or an e-mail.

Where to is an Airflow Connection, `safepassage_alerts` (a webhook URL often embeds a token, so it is
kept like any other secret), extras:

    {"webhook_url": "https://hooks.example.org/services/…", "email": ["ops@example.org"]}

E-mail goes through the SMTP provider's `smtp_default` Connection. No Connection: nothing is sent.
The message names the DAG, task, run, try and the log's URL, and the exception's *type* only: an
exception message can carry a token (facebook-business puts `access_token` in request URLs), so the
details stay in the task log, behind Airflow's access control. Alerting never fails the callback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

ALERTS_CONN_ID = "safepassage_alerts"
SMTP_CONN_ID = "smtp_default"
WEBHOOK_TIMEOUT_SECONDS = 10.0

log = logging.getLogger(__name__)


def failure_message(context: Mapping[str, Any]) -> dict[str, Any]:
    """What an alert says: where it failed and where to read why; never a secret."""
    ti = context["ti"]
    error = context.get("exception")
    return {
        "event": "task_failed",
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "map_index": getattr(ti, "map_index", -1),
        "run_id": ti.run_id,
        "try_number": ti.try_number,
        "error_type": type(error).__name__ if error is not None else None,
        "log_url": getattr(ti, "log_url", None),
        "text": f"SafePassage: {ti.dag_id}.{ti.task_id} failed in run {ti.run_id} "
        f"(try {ti.try_number}); see the task log.",
    }


def _targets() -> tuple[str | None, list[str]]:
    from airflow.sdk import BaseHook

    try:
        extras = BaseHook.get_connection(ALERTS_CONN_ID).extra_dejson
    except Exception:  # no Connection configured: alerting is off, the failure still shows in Airflow
        return None, []
    emails = extras.get("email") or []
    return extras.get("webhook_url") or None, [emails] if isinstance(emails, str) else list(emails)


def send_failure_alert(context: Mapping[str, Any]) -> None:
    """`on_failure_callback` for every SafePassage task (in DEFAULT_ARGS)."""
    webhook_url, emails = _targets()
    if not webhook_url and not emails:
        return
    message = failure_message(context)
    if webhook_url:
        try:
            import httpx

            httpx.post(webhook_url, json=message, timeout=WEBHOOK_TIMEOUT_SECONDS).raise_for_status()
        except Exception as error:  # an unreachable webhook must not mask the task's own failure
            log.warning("Alert webhook failed (%s); the failure is in Airflow's UI", type(error).__name__)
    if emails:
        try:
            from airflow.providers.smtp.hooks.smtp import SmtpHook

            with SmtpHook(smtp_conn_id=SMTP_CONN_ID) as smtp:
                smtp.send_email_smtp(
                    to=emails,
                    subject=f"[SafePassage] {message['dag_id']}.{message['task_id']} failed",
                    html_content=f'<p>{message["text"]}</p><p><a href="{message["log_url"]}">log</a></p>',
                )
        except Exception as error:
            log.warning("Alert e-mail failed (%s); the failure is in Airflow's UI", type(error).__name__)
