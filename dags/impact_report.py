"""
### Impact report

Writes the campaign's impact report and the partner export from the warehouse, after each
performance pull.

* **report**: one self-contained HTML page and a PDF of the same content: people reached (the
  platforms' own unique reach for the period; across platforms a range, never a total), countries,
  languages, support organisations signposted, mobile share, app-download clicks, spend and cost
  per signposting click, per-country and monthly charts, breakdowns, the top organisations and the
  intelligence timeline (which judgement changed what, who approved the push). In the sandbox
  every platform figure is labelled *simulated*; people signposted to safety is *partner-reported*
  (`intelligence/outcomes/`, validated first: a broken file stops the run with file, line, field).
* **partner export**: aggregates by country and month as CSV, small cells withheld with
  complementary suppression (`config/reporting.yaml`), a data dictionary beside it.
* **intelligence products**: the key-judgements summary for the period and a briefing note per
  sector and country where a judgement sees supply-chain risk, for businesses and financial
  institutions (HTML + PDF, from the editable templates in `products/`, translated where
  `products/products.yaml` says so).

Files go to `data/reports/<from>_<to>/`. The same figures, filterable by period and slice, are on
the [impact page](/safepassage/impact) (Browse → Impact).

**Runs:** when `pull_performance` updates the `performance` asset, or by hand with params
`from` / `to` (e.g. 2022-03-25 and 2022-10-31 for the 2022 replay).
**Produces:** files only (no asset): reports are read by people, not by DAGs.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from safepassage.orchestration.assets import PERFORMANCE
from safepassage.orchestration.defaults import DEFAULT_ARGS


def _date_param(title: str, description: str) -> Param:
    return Param(None, type=["null", "string"], format="date", title=title, description=description)


@dag(
    schedule=PERFORMANCE,
    start_date=pendulum.datetime(2022, 3, 25, tz="UTC"),
    catchup=False,  # each report covers the campaign to date; old runs would only repeat it
    tags=["safepassage", "reporting"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    params={
        "from": _date_param("Report from (YYYY-MM-DD)", "Empty: the campaign's first day of delivery."),
        "to": _date_param(
            "Report to (YYYY-MM-DD, inclusive)", "Empty: the last day pulled (at most the run's own day)."
        ),
    },
)
def impact_report() -> None:
    @task
    def load_partner_outcomes() -> int:
        from safepassage.orchestration.connections import open_warehouse
        from safepassage.services.campaign_config import load_campaign_config
        from safepassage.services.outcomes import load_outcomes

        warehouse = open_warehouse()
        try:
            warehouse.migrate()
            loaded = load_outcomes(warehouse, load_campaign_config())
        finally:
            warehouse.dispose()
        print(f"Loaded {loaded} partner-reported outcome counts")
        return loaded

    @task
    def write_report(**context: object) -> dict[str, object]:
        from safepassage.orchestration.reporting import report_run
        from safepassage.services.impact_report import make_report

        with report_run(context) as (warehouse, period, out_dir):
            written = make_report(warehouse, period, out_dir, load_partner_outcomes=False)
        print(written.summary())
        return {"html": str(written.html), "pdf": str(written.pdf), "headline": written.headline}

    @task
    def export_for_partners(**context: object) -> str:
        from safepassage.orchestration.reporting import report_run
        from safepassage.services.partner_export import export_for_partners as export

        with report_run(context) as (warehouse, period, out_dir):
            written = export(warehouse, period, out_dir / "partner-export.csv")
        print(written.summary())
        return str(written.path)

    @task
    def intelligence_products(**context: object) -> str:
        from safepassage.orchestration.reporting import report_run
        from safepassage.services.intel_products import write_products

        with report_run(context) as (warehouse, period, out_dir):
            written = write_products(warehouse, period, out_dir / "products")
        print(written.summary())
        return written.summary()

    loaded = load_partner_outcomes()
    loaded >> [write_report(), export_for_partners(), intelligence_products()]


impact_report()
