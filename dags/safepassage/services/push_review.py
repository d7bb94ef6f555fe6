"""The review a person answers in the Airflow UI: title and body for the plans of one run that wait
for a decision, built from the stored plans (domain/push_review.py lays them out)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from safepassage.domain.push_review import ReviewReason, plan_review, review_body, review_title
from safepassage.services.ports import Warehouse

PLANS_PAGE = "/safepassage/plans"


def review_request(
    warehouse: Warehouse,
    plans: Sequence[Mapping[str, Any]],
    accounts: Mapping[str, tuple[str, str]],
    approvers: Sequence[str] = (),
    plans_url: str = PLANS_PAGE,
) -> dict[str, str]:
    """`subject` and `body` for the run's plans (as plan_account returns them) that need approval;
    `accounts` maps an account id to its (name, currency)."""
    from safepassage.services.push import plan_from_row

    reviews = []
    for stored in plans:
        if stored["status"] != "needs_approval":
            continue
        row = warehouse.push.load_plan(int(stored["plan_id"]))
        if row is None:
            raise ValueError(f"plan {stored['plan_id']} is not in the warehouse")
        account_id = row["account_external_id"]
        name, currency = accounts[account_id]
        reasons = [ReviewReason(r["rule"], r.get("country"), r["message"]) for r in row["approval_reasons"]]
        label = f"{account_id} ({name})" if name else account_id
        reviews.append(plan_review(plan_from_row(row), int(stored["plan_id"]), label, currency, reasons))
    if not reviews:
        return {"subject": "No plan of this run waits for a person", "body": ""}
    return {"subject": review_title(reviews), "body": review_body(reviews, approvers, plans_url)}
