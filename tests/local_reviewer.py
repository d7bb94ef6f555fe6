"""LocalReviewer: answers a run's plan review for `dag.test()` runs, which have no API server."""

from __future__ import annotations

import threading
import time

from safepassage.orchestration.approval import REVIEW_TASK_ID


class LocalReviewer(threading.Thread):
    """Answers a run's pending plan review the way the Core API's HITL endpoint does, for runs with
    no API server (`dag.test()` in tests): records the response on the HITL row and
    resumes the parked task. The answer is recorded under `user`, like any other decision."""

    def __init__(self, option: str, note: str, user: str, timeout_seconds: float = 300) -> None:
        super().__init__(daemon=True)
        self.option, self.note, self.user = option, note, user
        self.timeout_seconds = timeout_seconds
        self.answered = threading.Event()
        self.body = ""
        self._cancelled = threading.Event()

    def stop(self) -> None:
        self._cancelled.set()

    def run(self) -> None:
        from airflow._shared.timezones import timezone
        from airflow.models.hitl import HITLDetail
        from airflow.models.taskinstance import TaskInstance
        from airflow.models.trigger import handle_event_submit
        from airflow.triggers.base import TriggerEvent
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState

        deadline = time.monotonic() + self.timeout_seconds
        while time.monotonic() < deadline and not self._cancelled.is_set():
            with create_session() as session:
                # Airflow's own metadata DB, queried through its session API.
                ti = (
                    session.query(TaskInstance)
                    .filter(
                        TaskInstance.task_id == REVIEW_TASK_ID,
                        TaskInstance.state == TaskInstanceState.AWAITING_INPUT,
                    )
                    .first()
                )
                if ti is not None:
                    detail = session.query(HITLDetail).filter(HITLDetail.ti_id == ti.id).one()
                    self.body = detail.body or ""
                    detail.responded_by = {"id": self.user, "name": self.user}
                    detail.responded_at = timezone.utcnow()
                    detail.chosen_options = [self.option]
                    detail.params_input = {"note": self.note}
                    handle_event_submit(
                        TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session
                    )
                    self.answered.set()
                    return
            time.sleep(0.2)
