"""Loading pulled performance: the idempotent window re-load beside a raw bulk load, memory, requests.

- PostgreSQL: `replace_window` re-loading a window that already holds every row (delete + COPY +
  signposting + checks, one transaction) beside a raw `COPY` of the same rows into an empty copy of the
  fact table, in the same run; rows/s and the ratio.
- SQLite: the same re-load beside a plain `executemany` insert into an empty table.
- Peak memory (RSS) of a re-load at each size, each in a fresh process (flat = streaming works).
- API requests of one pull per platform against the emulators, beside the minimum.

Sizes: `BENCH_PERFORMANCE_ROWS` (default "1000000,5000000"); PostgreSQL from
`SAFEPASSAGE_TEST_POSTGRES_URL` (default the local server). Results: bench/results/performance_load.json.
Run: `.venv/bin/python -m bench.performance_load` (or `make bench`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench._results import figure, record

ADMIN_URL = os.environ.get(
    "SAFEPASSAGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
COUNTRIES = (
    "UA",
    "PL",
    "RO",
    "MD",
    "HU",
    "SK",
    "CZ",
    "DE",
    "AT",
    "BG",
    "LT",
    "LV",
    "EE",
    "IT",
    "ES",
    "FR",
    "NL",
    "IE",
    "GB",
)
DEVICES = ("mobile", "desktop", "tablet")
PLACEMENTS = ("facebook", "instagram", "audience_network", "messenger")
ADS_PER_COUNTRY = 8


def _tree() -> Any:
    from safepassage.domain.performance import AccountTree, AdGroupRef, AdRef, CampaignRef

    tree = AccountTree("meta", "act_bench", "EUR")
    for country in COUNTRIES:
        tree.campaigns.append(CampaignRef(f"c-{country}", f"SP|{country}", country_code=country))
        tree.ad_groups.append(
            AdGroupRef(f"c-{country}", f"g-{country}", f"SP|{country}|uk", language_code="uk")
        )
        for index in range(ADS_PER_COUNTRY):
            tree.ads.append(
                AdRef(
                    f"g-{country}",
                    f"a-{country}-{index}",
                    link_destination="organisation",
                    organisation_id="stop-the-traffik",
                )
            )
    return tree


def _days(rows: int) -> int:
    per_day = len(COUNTRIES) * ADS_PER_COUNTRY * len(DEVICES) * len(PLACEMENTS)
    return -(-rows // per_day)


def _window(rows: int) -> Any:
    from safepassage.domain.performance import Window

    start = dt.date(2010, 1, 1)
    return Window(start, start + dt.timedelta(days=_days(rows) - 1))


def _rows(rows: int) -> Iterator[Any]:
    """Exactly `rows` pulled rows, generated lazily (a pull streams; so does this)."""
    from safepassage.domain.performance import PulledRow

    window = _window(rows)
    produced = 0
    for day in window.each_day():
        for country in COUNTRIES:
            for index in range(ADS_PER_COUNTRY):
                for device in DEVICES:
                    for placement in PLACEMENTS:
                        if produced == rows:
                            return
                        produced += 1
                        yield PulledRow(
                            day,
                            f"a-{country}-{index}",
                            country,
                            "uk",
                            device,
                            placement,
                            1000 + index,
                            7,
                            350,
                        )


def _warehouse(kind: str, tmp: Path) -> tuple[Any, str | None]:
    from sqlalchemy import create_engine, text

    from safepassage.adapters.warehouse import Warehouse
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.reference_data import sync_reference_data

    name = None
    if kind == "postgresql":
        name = f"safepassage_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:8]}.sqlite'}"
    warehouse = Warehouse(url)
    warehouse.migrate()
    sync_reference_data(load_campaign_config(), warehouse)
    return warehouse, name


def _drop(name: str | None) -> None:
    if name is None:
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _raw_tuples(warehouse: Any, rows: int) -> Iterator[tuple[Any, ...]]:
    """The same rows as the re-load writes, already mapped to dimension ids (a raw load's input)."""
    from sqlalchemy import select

    from safepassage.adapters.warehouse import models as m

    with warehouse.session() as session:
        ads = {
            e: (c, g, a)
            for e, a, g, c in session.execute(
                select(m.Ad.external_id, m.Ad.id, m.Ad.ad_group_id, m.AdGroup.campaign_id).join(
                    m.AdGroup, m.Ad.ad_group_id == m.AdGroup.id
                )
            )
            .tuples()
            .all()
        }
        account = session.scalar(select(m.Account.id).where(m.Account.external_id == "act_bench"))
    for r in _rows(rows):
        c, g, a = ads[r.ad_external_id]
        yield (
            r.date,
            "meta",
            account,
            c,
            g,
            a,
            r.country_code,
            r.language_code,
            r.device,
            r.placement,
            r.impressions,
            r.clicks,
            r.cost_minor,
            r.clicks,
            0,
        )


def _raw_load(warehouse: Any, rows: int) -> float:
    """Raw bulk load of the same rows into an empty copy of the fact table (indexes and all)."""
    from sqlalchemy import text

    from safepassage.adapters.warehouse.performance_store import FACT_COLUMNS, _chunks, copy_text

    with warehouse.engine.begin() as connection:
        if warehouse.engine.dialect.name == "postgresql":
            connection.execute(text("CREATE TABLE raw_copy (LIKE fact_daily_performance INCLUDING ALL)"))
        else:
            ddl = connection.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'fact_daily_performance'")
            ).scalar_one()
            connection.execute(text(ddl.replace("fact_daily_performance", "raw_copy", 1)))
    started = time.perf_counter()
    with warehouse.engine.begin() as connection:
        driver = connection.connection.driver_connection
        columns = ", ".join(FACT_COLUMNS)
        if warehouse.engine.dialect.name == "postgresql":
            with driver.cursor() as cursor, cursor.copy(f"COPY raw_copy ({columns}) FROM STDIN") as copy:
                for chunk in _chunks(_raw_tuples(warehouse, rows)):
                    copy.write(copy_text(chunk))
        else:
            cursor = driver.cursor()
            statement = f"INSERT INTO raw_copy ({columns}) VALUES ({', '.join('?' for _ in FACT_COLUMNS)})"
            for chunk in _chunks(_raw_tuples(warehouse, rows)):
                cursor.executemany(statement, [(row[0].isoformat(), *row[1:]) for row in chunk])
    return time.perf_counter() - started


def _reload(warehouse: Any, rows: int) -> tuple[float, float]:

    window = _window(rows)
    started = time.perf_counter()
    warehouse.performance.replace_window(_tree(), window, _rows(rows))
    first = time.perf_counter() - started
    started = time.perf_counter()
    # every row already there: the idempotent re-load
    warehouse.performance.replace_window(_tree(), window, _rows(rows))
    return first, time.perf_counter() - started


def throughput(kind: str, rows: int) -> dict[str, Any]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        warehouse, name = _warehouse(kind, Path(tmp))
        try:
            first, reload = _reload(warehouse, rows)
            raw = _raw_load(warehouse, rows)
        finally:
            warehouse.dispose()
            _drop(name)
    return {
        "database": kind,
        "rows": rows,
        "raw_load_s": round(raw, 2),
        "raw_rows_per_s": round(rows / raw),
        "first_load_s": round(first, 2),
        "idempotent_reload_s": round(reload, 2),
        "reload_rows_per_s": round(rows / reload),
        "reload_vs_raw": round(raw / reload, 2),
        "raw_is": "COPY into an empty copy of the fact table"
        if kind == "postgresql"
        else "executemany into an empty copy",
    }


def peak_memory_child(kind: str, rows: int) -> None:
    """Run in a fresh process: one re-load of `rows`, then print the peak RSS."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        warehouse, name = _warehouse(kind, Path(tmp))
        try:
            baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            _reload(warehouse, rows)
        finally:
            warehouse.dispose()
            _drop(name)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {"rows": rows, "peak_rss_mib": round(peak / 1024), "before_load_rss_mib": round(baseline / 1024)}
        )
    )


def peak_memory(kind: str, rows: int) -> dict[str, Any]:
    code = f"import bench.performance_load as b; b.peak_memory_child({kind!r}, {rows})"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return {"database": kind, **json.loads(out.strip().splitlines()[-1])}


def api_requests() -> dict[str, Any]:
    """Requests one pull sends per platform (emulators, 28 days), beside the minimum it could."""
    import tempfile

    from tests.adapters.performance_fixtures import google_campaigns, meta_campaigns

    from ad_emulators.server import EmulatorServer
    from safepassage.adapters.platform_clients import google_ads_client, meta_api
    from safepassage.domain.performance import PerformanceSettings, Window
    from safepassage.orchestration.connections import (
        google_ads_settings_from_descriptor,
        meta_settings_from_descriptor,
    )
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.performance import pull_google_ads, pull_meta

    config = load_campaign_config()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmulatorServer(Path(tmp) / "emulators")
        server.start()
        try:
            server.clock.set(dt.datetime(2022, 3, 25, 8, tzinfo=dt.UTC))
            client = google_ads_client(google_ads_settings_from_descriptor(server.descriptor))
            api = meta_api(meta_settings_from_descriptor(server.descriptor))
            customer, account = server.customer_ids[0], server.descriptor["meta"]["ad_account_ids"][0]
            google_campaigns(client, customer)
            meta_campaigns(account, campaigns=2)
            server.clock.set(dt.datetime(2022, 4, 23, tzinfo=dt.UTC))
            warehouse, _ = _warehouse("sqlite", Path(tmp))
            window = Window(dt.date(2022, 3, 25), dt.date(2022, 4, 22))
            settings = PerformanceSettings(report_poll_seconds=0.2)
            google = pull_google_ads(warehouse, client, customer, config, settings, window)
            meta = pull_meta(warehouse, api, account, config, settings, window)
            warehouse.dispose()
        finally:
            server.stop()
    return {
        "window_days": window.days,
        "google_ads": {
            "rows": google.rows,
            "requests": google.requests,
            "minimum": 2,
            "why": "minimum: the row stream and the account totals; +3 entity reads (criteria, campaigns, "
            "ads) for language, country and link attribution, each one SearchStream however big",
        },
        "meta": {
            "rows": meta.rows,
            "requests": meta.requests,
            "minimum": 3 + 2 + 1 + -(-meta.rows // 500),
            "why": "minimum: start + one poll + result pages of 500, the totals and two reach reads; "
            "+ the tree (account, campaigns, ad sets, creatives, ads) and the polls while the job runs",
        },
    }


LOAD_WHY = (
    "the re-load does what the raw load does plus a bulk load into a temporary staging table, a "
    "comparison with the window's rows on the natural key (only changed rows are written, so a re-run "
    "writes nothing), the signposting rows and the data-quality checks, in one transaction: every row "
    "is written once into staging and then joined with the fact table's, which costs about what the "
    "raw load does again; 0.8× would need the comparison made while streaming, without staging"
)


def as_figures(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The load ratio (aim ≥ 0.8× the raw load), peak memory per size (aim flat), requests vs minimum."""
    out = []
    for row in figures["throughput"]:
        out.append(
            figure(
                f"load_vs_raw_{row['database']}",
                row["reload_vs_raw"],
                "× raw rows/s",
                aim="≥ 0.8×",
                meets_aim=row["reload_vs_raw"] >= 0.8,
                **({} if row["reload_vs_raw"] >= 0.8 else {"why": LOAD_WHY}),
                **row,
            )
        )
    smallest = min(figures["peak_memory"], key=lambda row: row["rows"])
    for row in figures["peak_memory"]:
        out.append(
            figure(
                f"load_peak_rss_{row['database']}_{row['rows']}_rows",
                row["peak_rss_mib"],
                "MiB",
                aim=f"flat (= {smallest['peak_rss_mib']} MiB at {smallest['rows']} rows)",
                **row,
            )
        )
    for size, why in figures.get("skipped_sizes", {}).items():
        out.append(figure(f"load_peak_rss_postgresql_{size}_rows", None, "MiB", aim="flat", skipped=why))
    for platform, row in figures["api_requests"].items():
        if isinstance(row, dict):
            ratio = round(row["requests"] / row["minimum"], 2)
            out.append(figure(f"pull_requests_vs_minimum_{platform}", ratio, "ratio", **row))
    return out


def main() -> dict[str, Any]:
    sizes = [int(s) for s in os.environ.get("BENCH_PERFORMANCE_ROWS", "1000000,5000000").split(",") if s]
    figures: dict[str, Any] = {}
    figures["throughput"] = [throughput("postgresql", sizes[0]), throughput("sqlite", sizes[0])]
    figures["peak_memory"] = [peak_memory("postgresql", size) for size in sizes]
    figures["api_requests"] = api_requests()
    path = record("performance_load", as_figures(figures))
    print(json.dumps(figures, indent=2))
    print(f"saved to {path}")
    return figures


if __name__ == "__main__":
    main()
