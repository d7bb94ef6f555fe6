"""
### Pull performance

Every morning, what the campaign delivered comes back into the warehouse, per day × ad × country ×
language × device × placement: impressions, clicks, spend, clicks to each support organisation and
app-download clicks (from clicks on the ads' tracked links — never a tag on an organisation's site),
plus each window's unique reach (Meta; never summed from days).

One mapped task per platform account: Google Ads customers read with one `SearchStream` per window,
Meta ad accounts through async insights report runs (a stalled or failed report is split account →
campaign → ad set). Each run re-reads its day plus the lookback in `config/performance.yaml`
(Google 14 days, Meta 28: platforms revise recent days) and **replaces** those rows in one
transaction, so re-runs, retries and overlapping runs leave the warehouse identical. After every
load the data-quality checks run (unique natural key, no negative metric, spend within the pushed
budget × the platform's overdelivery, per-day totals equal to the account's own); a failed check
fails the task, names the rows and leaves the warehouse as it was.

**Backfill:** trigger with params `from` and `to` (e.g. `2022-03-25` … `2022-10-31`): one run pulls
the whole range through the same code.
**Runs:** daily at 06:00 UTC. **Produces:** the `performance` asset (read by the allocator and the
impact report). Uses the `google_ads_api` and `meta_api` pools.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from safepassage.orchestration.assets import PERFORMANCE
from safepassage.orchestration.defaults import DEFAULT_ARGS, daily_at
from safepassage.orchestration.pools import GOOGLE_ADS_POOL, META_POOL
from safepassage.orchestration.pull_performance_dag import range_params


@dag(
    schedule=daily_at("0 6 * * *"),
    catchup=False,  # each run re-reads the lookback; missed days are covered by the next run or a backfill
    max_active_runs=1,
    tags=["safepassage", "performance", "google-ads", "meta"],
    default_args={**DEFAULT_ARGS, "execution_timeout": timedelta(hours=2)},
    doc_md=__doc__,
    params=range_params(),
)
def pull_performance() -> None:
    @task
    def google_ads_accounts() -> list[dict[str, str]]:
        from safepassage.orchestration.pull_performance_dag import google_accounts

        return google_accounts()

    @task
    def meta_accounts() -> list[dict[str, str]]:
        from safepassage.orchestration.pull_performance_dag import meta_accounts

        return meta_accounts()

    @task(pool=GOOGLE_ADS_POOL, map_index_template="{{ task.op_kwargs['account']['account'] }}")
    def pull_google_ads(account: dict[str, str], **context: object) -> dict[str, object]:
        from safepassage.orchestration.pull_performance_dag import pull

        return pull("google_ads", account, context)

    @task(pool=META_POOL, map_index_template="{{ task.op_kwargs['account']['account'] }}")
    def pull_meta(account: dict[str, str], **context: object) -> dict[str, object]:
        from safepassage.orchestration.pull_performance_dag import pull

        return pull("meta", account, context)

    @task(outlets=[PERFORMANCE])
    def loaded(google: list[dict[str, object]], meta: list[dict[str, object]]) -> str:
        lines = [f"{r['platform']} {r['account']} {r['window']}: {r['rows']} rows" for r in [*google, *meta]]
        print("\n".join(lines))
        return "\n".join(lines)

    loaded(
        pull_google_ads.expand(account=google_ads_accounts()),
        pull_meta.expand(account=meta_accounts()),
    )


pull_performance()
