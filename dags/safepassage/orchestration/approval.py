"""The person's decision on a push plan, made in the Airflow UI (human-in-the-loop), recorded in the
warehouse with who decided and why before anything downstream runs or is skipped."""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

PLAN_TASK_ID = "plan_account"


class PlanApprovalOperator(ApprovalOperator):
    """Approve / Reject with a note; the answer is written onto every plan of the run that needed it."""

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        from safepassage.adapters.warehouse import Warehouse
        from safepassage.services.push import record_decision

        chosen = (event.get("chosen_options") or [None])[0]
        params = event.get("params_input") or {}
        user = event.get("responded_by_user") or {}
        by = str(user.get("name") or user.get("id") or "unknown") if isinstance(user, dict) else str(user)
        run_id = str(context["run_id"])
        warehouse = Warehouse()
        try:
            plan_ids = record_decision(
                warehouse, run_id, chosen == self.APPROVE, by, str(params.get("note") or "")
            )
        finally:
            warehouse.dispose()
        self.log.info("Plans %s %s by %s", plan_ids, "approved" if chosen == self.APPROVE else "rejected", by)
        return super().execute_complete(context, event)
