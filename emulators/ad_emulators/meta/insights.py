"""Ads Insights for the emulated accounts, computed from the delivery simulation (NOT real data).

Supports what the project's pull needs: levels account/campaign/adset/ad, `time_range` or
`date_preset`, `time_increment` (1, N days, monthly, all_days), breakdowns `country`,
`device_platform`, `publisher_platform`, `actions` by action type, and `filtering` on
`campaign.id` / `adset.id` / `ad.id`. Actions: `link_click` only — clicks on the ad's link, which
names where it goes (a support organisation or an app store). Nothing emulates a pixel or conversion
tag on an organisation's site: people who reach out for help are never tracked there.

Breakdowns split a row's figures exactly (largest remainder): the publisher platforms of a row add
up to the row without the breakdown, as the account totals add up to the ad rows.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from ad_emulators import simulation
from ad_emulators.meta.errors import invalid_parameter
from ad_emulators.meta.store import MetaStore, parse_value

LEVELS = ("account", "campaign", "adset", "ad")
BREAKDOWNS = ("country", "device_platform", "publisher_platform")
LINK_CLICK_ACTION = "link_click"
FIELDS = (
    "account_id",
    "account_name",
    "account_currency",
    "campaign_id",
    "campaign_name",
    "adset_id",
    "adset_name",
    "ad_id",
    "ad_name",
    "objective",
    "impressions",
    "reach",
    "frequency",
    "clicks",
    "inline_link_clicks",
    "spend",
    "cpm",
    "cpc",
    "ctr",
    "actions",
    "date_start",
    "date_stop",
)
DEFAULT_FIELDS = ("account_id", "impressions", "spend", "date_start", "date_stop")
_LEVEL_KEY = {"ad": "ad", "adset": "group", "campaign": "campaign", "account": None}
_DEVICE_PLATFORM = {"mobile": "mobile_app", "tablet": "mobile_app", "desktop": "desktop"}


@dataclass(frozen=True)
class InsightsQuery:
    level: str
    fields: tuple[str, ...]
    since: dt.date
    until: dt.date
    increment: str  # "all_days" | "monthly" | "<n>"
    breakdowns: tuple[str, ...]
    filters: Mapping[str, frozenset[str]] = field(default_factory=dict)


def parse_query(
    params: Mapping[str, Any], node_level: str, today: dt.date, earliest: dt.date
) -> InsightsQuery:
    level = str(params.get("level") or node_level)
    if level not in LEVELS:
        raise invalid_parameter(f"level must be one of {', '.join(LEVELS)}", field=("level",))
    raw_fields = parse_value(params.get("fields") or "")
    fields = tuple(
        raw_fields if isinstance(raw_fields, list) else [f for f in str(raw_fields).split(",") if f]
    )
    for name in fields:
        if name not in FIELDS:
            raise invalid_parameter(
                f"fields: {name} is not a valid insights field here; use {', '.join(FIELDS)}",
                field=("fields",),
            )
    breakdowns = parse_value(params.get("breakdowns") or [])
    if isinstance(breakdowns, str):
        breakdowns = [part for part in breakdowns.split(",") if part]
    for name in breakdowns:
        if name not in BREAKDOWNS:
            raise invalid_parameter(
                f"breakdowns accepts {', '.join(BREAKDOWNS)} in the sandbox", field=("breakdowns",)
            )
    since, until = _range(params, today, earliest)
    increment = str(params.get("time_increment") or "all_days")
    if increment not in ("all_days", "monthly") and not (increment.isdigit() and 1 <= int(increment) <= 90):
        raise invalid_parameter("time_increment must be 1-90, monthly or all_days", field=("time_increment",))
    filters: dict[str, frozenset[str]] = {}
    for item in parse_value(params.get("filtering") or []):
        name = str(item.get("field", ""))
        if name not in ("campaign.id", "adset.id", "ad.id"):
            raise invalid_parameter(
                "the sandbox filters insights on campaign.id, adset.id or ad.id", field=("filtering",)
            )
        value = item.get("value")
        values = value if isinstance(value, list) else [value]
        if item.get("operator") not in ("IN", "EQUAL"):
            raise invalid_parameter("filtering operator must be IN or EQUAL", field=("filtering",))
        filters[name.split(".")[0]] = frozenset(str(v) for v in values)
    return InsightsQuery(level, fields or DEFAULT_FIELDS, since, until, increment, tuple(breakdowns), filters)


def _range(params: Mapping[str, Any], today: dt.date, earliest: dt.date) -> tuple[dt.date, dt.date]:
    time_range = parse_value(params.get("time_range"))
    if isinstance(time_range, dict):
        try:
            since = dt.date.fromisoformat(time_range["since"])
            until = dt.date.fromisoformat(time_range["until"])
        except (KeyError, ValueError):
            raise invalid_parameter(
                "time_range needs since and until as YYYY-MM-DD", field=("time_range",)
            ) from None
        if until < since:
            raise invalid_parameter("time_range until is before since", field=("time_range",))
        return since, until
    preset = str(params.get("date_preset") or "last_30d")
    day = dt.timedelta(days=1)
    if preset == "today":
        return today, today
    if preset == "yesterday":
        return today - day, today - day
    if preset.startswith("last_") and preset.endswith("d") and preset[5:-1].isdigit():
        return today - int(preset[5:-1]) * day, today - day
    if preset == "this_month":
        return today.replace(day=1), today
    if preset == "last_month":
        end = today.replace(day=1) - day
        return end.replace(day=1), end
    if preset in ("maximum", "lifetime"):
        return min(earliest, today), today
    raise invalid_parameter(f"date_preset {preset!r} is not supported by the sandbox", field=("date_preset",))


def _buckets(query: InsightsQuery) -> list[tuple[dt.date, dt.date]]:
    if query.increment == "all_days":
        return [(query.since, query.until)]
    buckets = []
    start = query.since
    while start <= query.until:
        if query.increment == "monthly":
            end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
        else:
            end = start + dt.timedelta(days=int(query.increment) - 1)
        end = min(end, query.until)
        buckets.append((start, end))
        start = end + dt.timedelta(days=1)
    return buckets


def compute(
    store: MetaStore,
    account: str,
    node: Mapping[str, Any] | None,
    query: InsightsQuery,
    *,
    as_of: dt.datetime,
    seed: int,
    store_lock: AbstractContextManager[Any] | None = None,
) -> list[dict[str, Any]]:
    """The report's rows. `store_lock` is held only while the store is read, not while the
    simulation runs: a report job computing months of delivery must not stop every other call."""
    store_lock = store_lock or nullcontext()
    with store_lock:
        units = [unit for unit in store.serving_units(account) if _selected(unit, node, query)]
        account_record = dict(store.data["accounts"][account])
    rows = simulation.daily_rows(units, query.since, query.until, as_of=as_of, seed=seed)
    params = simulation.load_parameters()
    currency = account_record["currency"]
    minor = float(params.currency(currency)["minor"])
    level_key = _LEVEL_KEY[query.level]
    reach_keys = tuple(
        key
        for key in (
            level_key,
            "country" if "country" in query.breakdowns else None,
            "device" if "device_platform" in query.breakdowns else None,
        )
        if key
    )
    publisher_shares = dict(params.platform("meta")["publisher_share"])
    by_day: dict[dt.date, list[simulation.DailyRow]] = defaultdict(list)
    for row in rows:
        by_day[row.date].append(row)
    out: list[dict[str, Any]] = []
    for start, end in _buckets(query):
        bucket = [row for day in _each_day(start, end) for row in by_day.get(day, ())]
        if not bucket:
            continue
        reach = simulation.reach(units, start, end, breakdown=reach_keys, rows=bucket, params=params)
        groups: dict[tuple[str, ...], dict[str, Any]] = defaultdict(
            lambda: {"impressions": 0, "clicks": 0, "spend": 0, "reach": 0}
        )
        for row in bucket:
            totals = groups[_group_key(row, level_key, query.breakdowns)]
            totals["impressions"] += row.impressions
            totals["clicks"] += row.clicks
            totals["spend"] += row.spend_minor
        for key, value in reach.items():
            mapped = tuple(
                _DEVICE_PLATFORM.get(part, part) if name == "device" else part
                for name, part in zip(reach_keys, key, strict=True)
            )
            if mapped in groups:  # mobile and tablet segments both add to mobile_app
                groups[mapped]["reach"] += value
        with store_lock:
            for group_key, totals in sorted(groups.items()):
                split = _publisher_split(group_key, query, units, publisher_shares)
                parts = {
                    name: _split_exact(int(totals[name]), [share for share, _ in split]) for name in totals
                }
                for index, (_, publisher) in enumerate(split):
                    part = {name: values[index] for name, values in parts.items()}
                    out.append(
                        _render(
                            store,
                            account_record,
                            account,
                            query,
                            group_key,
                            part,
                            publisher,
                            start,
                            end,
                            minor,
                        )
                    )
    return out


def _selected(unit: simulation.ServingUnit, node: Mapping[str, Any] | None, query: InsightsQuery) -> bool:
    if node is not None:
        wanted = {"campaign": unit.campaign_id, "adset": unit.group_id, "ad": unit.ad_id}[node["type"]]
        if wanted != node["id"]:
            return False
    ids = {"campaign": unit.campaign_id, "adset": unit.group_id, "ad": unit.ad_id}
    return all(ids[name] in values for name, values in query.filters.items())


def _group_key(row: simulation.DailyRow, level_key: str | None, breakdowns: Sequence[str]) -> tuple[str, ...]:
    parts: list[str] = [row.key((level_key,))[0]] if level_key else []
    if "country" in breakdowns:
        parts.append(row.country)
    if "device_platform" in breakdowns:
        parts.append(_DEVICE_PLATFORM[row.device])
    return tuple(parts)


def _each_day(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=offset) for offset in range((end - start).days + 1)]


def _publisher_split(
    group_key: tuple[str, ...],
    query: InsightsQuery,
    units: Sequence[simulation.ServingUnit],
    shares: Mapping[str, float],
) -> list[tuple[float, str | None]]:
    if "publisher_platform" not in query.breakdowns:
        return [(1.0, None)]
    return [(float(share), name) for name, share in shares.items()]


def _split_exact(total: int, shares: Sequence[float]) -> list[int]:
    """`total` in whole parts proportional to `shares`, adding up to `total` (largest remainder)."""
    weight = sum(shares) or 1.0
    raw = [total * share / weight for share in shares]
    parts = [int(value) for value in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (raw[i] - parts[i], -i), reverse=True)
    for index in by_remainder[: total - sum(parts)]:
        parts[index] += 1
    return parts


def _render(
    store: MetaStore,
    account_record: Mapping[str, Any],
    account: str,
    query: InsightsQuery,
    group_key: tuple[str, ...],
    totals: Mapping[str, int],
    publisher: str | None,
    start: dt.date,
    end: dt.date,
    minor: float,
) -> dict[str, Any]:
    impressions = totals["impressions"]
    clicks = totals["clicks"]
    spend_minor = totals["spend"]
    reach = min(impressions, totals["reach"])
    level_id = group_key[0] if query.level != "account" else None
    ids = _ids(store, query.level, level_id)
    values: dict[str, Any] = {
        "account_id": account,
        "account_name": account_record["name"],
        "account_currency": account_record["currency"],
        "impressions": str(impressions),
        "reach": str(reach),
        "frequency": f"{impressions / reach:.6f}" if reach else "0",
        "clicks": str(clicks),
        "inline_link_clicks": str(clicks),
        "spend": f"{spend_minor / minor:.2f}",
        "cpm": f"{spend_minor / minor / impressions * 1000:.6f}" if impressions else "0",
        "cpc": f"{spend_minor / minor / clicks:.6f}" if clicks else "0",
        "ctr": f"{clicks / impressions * 100:.6f}" if impressions else "0",
        "actions": [{"action_type": LINK_CLICK_ACTION, "value": str(clicks)}] if clicks else [],
        "date_start": start.isoformat(),
        "date_stop": end.isoformat(),
        **ids,
    }
    row = {name: values[name] for name in query.fields if name in values and values[name] != []}
    rest = list(group_key[1:] if query.level != "account" else group_key)
    for name in ("country", "device_platform"):
        if name in query.breakdowns:
            row[name] = rest.pop(0)
    if publisher is not None:
        row["publisher_platform"] = publisher
    row.setdefault("date_start", start.isoformat())
    row.setdefault("date_stop", end.isoformat())
    return row


def _ids(store: MetaStore, level: str, level_id: str | None) -> dict[str, Any]:
    if level_id is None:
        return {}
    objects = store.data["objects"]
    out: dict[str, Any] = {}
    record = objects[level_id]
    if level == "ad":
        out.update(ad_id=record["id"], ad_name=record["fields"].get("name"))
        record = objects[record["fields"]["adset_id"]]
    if level in ("ad", "adset"):
        out.update(adset_id=record["id"], adset_name=record["fields"].get("name"))
        record = objects[record["fields"]["campaign_id"]]
    out.update(
        campaign_id=record["id"],
        campaign_name=record["fields"].get("name"),
        objective=record["fields"].get("objective"),
    )
    return out


def cache_key(
    account: str, node_id: str | None, query: InsightsQuery, as_of: dt.datetime, version: int
) -> str:
    return json.dumps([account, node_id, repr(query), as_of.isoformat(), version])
