"""
### Push campaigns

Plan → approve → apply, per ad account, on Google Ads and Meta (Facebook, Instagram). For each account
the desired tree is diffed against what the account reports (GAQL, Graph API reads) into a plan of
creates, updates and removals with stable names such as `SP|PL|uk`:

* **Google Ads**: budget per country, campaign per country × language, ad group per theme, responsive
  search ads, location/proximity + language criteria.
* **Meta**: campaign per country (its daily budget, objective traffic, declared as a social-issue
  ad), ad set per country × language (places, locales, adult ages, Facebook + Instagram), a creative
  and an ad per theme, images uploaded once. Countries where policy stops Meta (the EU from
  2025-10-06) are left out and named in the plan; their money went to Google at allocation.

The plan tables are in the `plan_account` / `plan_meta_account` logs and in the review form.

A plan **waits for a person** (the `review_plans` task, *Required actions* in the UI, titled with the
account, plan and daily amount, and opening on a per-country summary) when it adds
a country, moves a country's budget by more than the configured share, raises daily spend above
the threshold or ships a new creative version (`config/push.yaml`). Rejecting stops the run and
records who and why; small plans apply by themselves. Applying sends the tree in as few requests as
each platform allows (Google: validate, then ≤10,000 operations a Mutate; Meta: batches of ≤50),
retries throttling and transient faults, re-reads after anything uncertain, and records every
request. Countries paused with the kill switch stay paused. A review names who may decide and is
announced (`review` in `config/push.yaml`); one left unanswered for 24 hours is recorded as
`expired`. Retries and cleared tasks converge on the run's one stored plan per account; a platform
quota delay longer than a few seconds reschedules the apply task rather than holding its pool slot.

**Runs:** on each new allocation (`budgets`: after every targeting change, and daily) and each new
creative version (`creatives`). It plans with the allocation in effect and the targeting that
allocation was made from, so places and budgets always match.
**Produces:** the `campaigns` asset. Uses the `google_ads_api` and `meta_api` pools.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator

# Named here, not only in approval.py: the DAG processor pre-imports a DAG file's own Airflow
# imports once, before it forks each parse, so the HITL machinery (~50 ms) is not paid per parse.
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param, dag, task

from safepassage.orchestration.approval import (
    PLAN_TASK_ID,
    REVIEW_TASK_ID,
    PlanApprovalOperator,
)
from safepassage.orchestration.assets import BUDGETS, CAMPAIGNS, CREATIVES
from safepassage.orchestration.defaults import DEFAULT_ARGS
from safepassage.orchestration.pools import GOOGLE_ADS_POOL, META_POOL


@dag(
    # Targeting reaches the push through allocate_budgets, so one judgement makes one push, and the
    # push always plans with the budgets made for the targeting it pushes.
    schedule=BUDGETS | CREATIVES,
    start_date=pendulum.datetime(2022, 3, 25, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # two pushes at once would plan against each other's half-applied trees
    tags=["safepassage", "push", "google-ads", "meta"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def push_campaigns() -> None:
    @task
    def list_accounts(platform: str) -> list[dict[str, str]]:
        """The accounts pushed to on one platform, as {platform, account_id} (one pool per platform)."""
        from airflow.sdk.exceptions import AirflowSkipException

        from safepassage.orchestration.connections import open_warehouse
        from safepassage.orchestration.push_accounts import account_settings
        from safepassage.services.budgets import latest_amounts
        from safepassage.services.push_settings import load_push_settings

        warehouse = open_warehouse()  # the safepassage_warehouse Connection, as the other tasks
        warehouse.migrate()
        try:
            if not latest_amounts(warehouse):
                raise AirflowSkipException("No budgets allocated yet: the push runs after allocate_budgets.")
        finally:
            warehouse.dispose()

        return [
            {"platform": account.platform.value, "account_id": str(account.customer_id)}
            for account in account_settings(load_push_settings())
            if account.platform.value == platform
        ]

    @task(task_id=PLAN_TASK_ID, pool=GOOGLE_ADS_POOL)
    def plan_account(account: dict[str, str], **context: object) -> dict[str, object]:
        from safepassage.orchestration.push_accounts import plan_for
        from safepassage.orchestration.retries import reschedule_when_asked

        with reschedule_when_asked():  # a long quota delay on the plan's reads frees the pool slot
            stored = plan_for(account["platform"], account["account_id"], str(context["run_id"]))
        print(stored.pop("markdown"))  # the plan in full: in this log and the warehouse, not in XCom
        return stored

    @task.branch(trigger_rule="none_failed_min_one_success")
    def needs_review(
        google: list[dict[str, object]] | None, meta: list[dict[str, object]] | None, **context: Any
    ) -> str:
        """Review when any plan needs approval, else apply. The review's subject and body (account, plan,
        daily amount; per-country summary first) are written here too: one task, not two in series."""
        from safepassage.orchestration.push_accounts import review_for

        plans = [*(google or []), *(meta or [])]
        review = review_for(plans)
        print(f"{review['subject']}\n\n{review['body']}")
        context["ti"].xcom_push(key="review", value=review)  # the review's subject and body
        waiting = [plan for plan in plans if plan["status"] == "needs_approval"]
        return REVIEW_TASK_ID if waiting else "apply_without_review"

    review_plans: ApprovalOperator = PlanApprovalOperator(
        task_id=REVIEW_TASK_ID,
        subject="{{ ti.xcom_pull(task_ids='needs_review', key='review')['subject'] }}",
        body="{{ ti.xcom_pull(task_ids='needs_review', key='review')['body'] }}",
        defaults="Reject",  # no answer within the timeout means no push
        response_timeout=timedelta(hours=24),
        params={"note": Param("", type="string", title="Why (kept with the decision)")},
    )
    apply_without_review = EmptyOperator(task_id="apply_without_review")

    @task(pool=GOOGLE_ADS_POOL, outlets=[CAMPAIGNS], trigger_rule="none_failed_min_one_success")
    def apply_account(plan: dict[str, object]) -> str:
        from safepassage.orchestration.push_accounts import apply_for
        from safepassage.orchestration.retries import reschedule_when_asked

        with reschedule_when_asked():  # a long quota delay frees the pool slot
            outcome = apply_for(plan)
        print(f"Plan {plan['plan_id']} on {plan.get('platform')} {plan['customer_id']}: {outcome}")
        return outcome

    google_plans = plan_account.expand(account=list_accounts("google_ads"))
    meta_plans = plan_account.override(task_id="plan_meta_account", pool=META_POOL).expand(
        account=list_accounts.override(task_id="list_meta_accounts")("meta")
    )
    needs_review(google_plans, meta_plans) >> [review_plans, apply_without_review]
    applied = [
        apply_account.expand(plan=google_plans),
        apply_account.override(task_id="apply_meta_account", pool=META_POOL).expand(plan=meta_plans),
    ]
    [review_plans, apply_without_review] >> applied[0]
    [review_plans, apply_without_review] >> applied[1]


push_campaigns()
