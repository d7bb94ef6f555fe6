"""Answering a parsed GAQL query from the store (resource listings) or the simulation (metrics)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

from ad_emulators.google_ads import gaql, performance
from ad_emulators.google_ads.constants import (
    COUNTRY_BY_GEO_ID,
    GEO_TARGET_PREFIX,
    geo_target_constants,
    language_constants,
)
from ad_emulators.google_ads.errors import query_error
from ad_emulators.google_ads.store import KINDS, CustomerState

# FROM resource -> resources whose fields may be selected with it (attributed resources).
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "customer": ("customer",),
    "campaign_budget": ("campaign_budget", "customer"),
    "campaign": ("campaign", "campaign_budget", "customer"),
    "ad_group": ("ad_group", "campaign", "customer"),
    "ad_group_ad": ("ad_group_ad", "ad_group", "campaign", "customer"),
    "campaign_criterion": ("campaign_criterion", "campaign", "customer"),
    "ad_group_criterion": ("ad_group_criterion", "ad_group", "campaign", "customer"),
    "label": ("label", "customer"),
    "campaign_label": ("campaign_label", "campaign", "label", "customer"),
    "conversion_action": ("conversion_action", "customer"),
    "geographic_view": ("geographic_view", "campaign", "ad_group", "customer"),
    "user_location_view": ("user_location_view", "campaign", "ad_group", "customer"),
    "geo_target_constant": ("geo_target_constant",),
    "language_constant": ("language_constant",),
}
CONSTANT_RESOURCES = {"geo_target_constant": geo_target_constants, "language_constant": language_constants}
METRIC_RESOURCES = {
    "customer",
    "campaign",
    "ad_group",
    "ad_group_ad",
    "geographic_view",
    "user_location_view",
}
VIEW_RESOURCES = {"geographic_view", "user_location_view"}
SUPPORTED_METRICS = {
    "impressions",
    "clicks",
    "cost_micros",
    "conversions",
    "all_conversions",
    "conversions_value",
    "all_conversions_value",
    "ctr",
    "average_cpc",
    "average_cpm",
    "interactions",
    "interaction_rate",
    "cost_per_conversion",
}
CONVERSION_METRICS = {"conversions", "all_conversions", "conversions_value", "all_conversions_value"}
SUPPORTED_SEGMENTS = {
    "date",
    "device",
    "week",
    "month",
    "year",
    "day_of_week",
    "conversion_action",
    "conversion_action_name",
    "conversion_action_category",
    "geo_target_country",
}
DATE_SEGMENTS = {"date", "week", "month", "year", "day_of_week"}
PAGE_SIZE = 10_000


@dataclass(frozen=True)
class _Field:
    text: str
    resource: str
    parts: list[str]
    descriptor: FieldDescriptor


def _field(text: str, resource: str, clause: str) -> _Field:
    descriptor = gaql.field_descriptor(text)
    head = text.split(".", 1)[0]
    if descriptor is None or head == text:
        raise query_error("UNRECOGNIZED_FIELD", f"Error in query: unrecognized field {text!r}.", text)
    if head == "metrics":
        if resource not in METRIC_RESOURCES:
            raise query_error(
                "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE",
                f"Metrics cannot be requested for resource {resource!r}.",
                text,
            )
        if text.split(".", 1)[1] not in SUPPORTED_METRICS:
            raise query_error(
                "PROHIBITED_FIELD_IN_SELECT_CLAUSE",
                f"{text} is not simulated by the SafePassage sandbox.",
                text,
            )
    elif head == "segments":
        name = text.split(".", 1)[1]
        if resource not in METRIC_RESOURCES:
            raise query_error(
                "PROHIBITED_SEGMENT_IN_SELECT_OR_WHERE_CLAUSE",
                f"Segments cannot be requested for resource {resource!r}.",
                text,
            )
        if name not in SUPPORTED_SEGMENTS:
            raise query_error(
                "PROHIBITED_SEGMENT_IN_SELECT_OR_WHERE_CLAUSE",
                f"{text} is not simulated by the SafePassage sandbox.",
                text,
            )
        if name == "geo_target_country" and resource not in VIEW_RESOURCES:
            raise query_error(
                "PROHIBITED_SEGMENT_IN_SELECT_OR_WHERE_CLAUSE",
                f"{text} needs geographic_view or user_location_view.",
                text,
            )
    elif head not in ATTRIBUTES.get(resource, ()):
        raise query_error(
            f"PROHIBITED_RESOURCE_TYPE_IN_{clause}_CLAUSE",
            f"Error in query: {head!r} cannot be used with FROM {resource}.",
            text,
        )
    elif descriptor.message_type is not None and not descriptor.is_repeated:
        raise query_error(
            f"PROHIBITED_FIELD_IN_{clause}_CLAUSE",
            f"Error in query: {text} is a message; select its fields.",
            text,
        )
    return _Field(text, head, gaql.storage_parts(text), descriptor)


@dataclass(frozen=True)
class Plan:
    query: gaql.Query
    select: tuple[_Field, ...]
    filters: tuple[tuple[_Field, str, tuple[Any, ...]], ...]
    order_by: tuple[tuple[_Field, bool], ...]
    metrics_query: bool


def plan(query: gaql.Query) -> Plan:
    resource = query.resource
    if resource not in ATTRIBUTES:
        known = gaql.field_descriptor(resource) is not None or resource in ("metrics", "segments")
        raise query_error(
            "PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE" if known else "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
            f"Error in query: FROM {resource} is not supported by the SafePassage sandbox."
            if known
            else f"Error in query: unknown resource {resource!r}.",
            resource,
        )
    select = tuple(_field(text, resource, "SELECT") for text in query.select)
    if len({f.text for f in select}) != len(select):
        raise query_error(
            "PROHIBITED_FIELD_COMBINATION_IN_SELECT_CLAUSE", "Error in query: a field is selected twice."
        )
    filters = []
    for condition in query.where:
        field = _field(condition.field, resource, "WHERE")
        if condition.operator == "DURING":
            if field.text != "segments.date":
                raise query_error("OPERATOR_FIELD_MISMATCH", "DURING needs segments.date.", field.text)
            values: tuple[Any, ...] = condition.values
        elif field.text == "segments.date":
            values = tuple(gaql.parse_date(v).isoformat() for v in condition.values)
        elif condition.operator.startswith("CONTAINS"):
            if not field.descriptor.is_repeated:
                raise query_error(
                    "OPERATOR_FIELD_MISMATCH", f"CONTAINS needs a repeated field, not {field.text}."
                )
            values = tuple(gaql.coerce(field.descriptor, v, field.text) for v in condition.values)
        else:
            if field.descriptor.is_repeated:
                raise query_error(
                    "OPERATOR_FIELD_MISMATCH",
                    f"{field.text} is repeated: use CONTAINS ANY/ALL/NONE.",
                    field.text,
                )
            if (
                condition.operator in ("LIKE", "NOT LIKE")
                and field.descriptor.type != FieldDescriptor.TYPE_STRING
            ):
                raise query_error("OPERATOR_FIELD_MISMATCH", f"LIKE needs a string field, not {field.text}.")
            values = tuple(gaql.coerce(field.descriptor, v, field.text) for v in condition.values)
        filters.append((field, condition.operator, values))
    order_by = []
    for text, descending in query.order_by:
        field = _field(text, resource, "ORDER_BY")
        if field.descriptor.is_repeated:
            raise query_error("PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE", f"{text} cannot be ordered by.", text)
        order_by.append((field, descending))
    touched = [f.resource for f in (*select, *(f for f, _, _ in filters))]
    metrics_query = resource in VIEW_RESOURCES or any(head in ("metrics", "segments") for head in touched)
    selected_segments = {f.parts[1] for f in select if f.resource == "segments"}
    if selected_segments & {"conversion_action", "conversion_action_name", "conversion_action_category"}:
        for f in select:
            if f.resource == "metrics" and f.parts[1] not in CONVERSION_METRICS:
                raise query_error(
                    "PROHIBITED_SEGMENT_WITH_METRIC_IN_SELECT_OR_WHERE_CLAUSE",
                    f"{f.text} cannot be segmented by conversion action.",
                    f.text,
                )
    if selected_segments & DATE_SEGMENTS and not any(f.text == "segments.date" for f, _, _ in filters):
        raise query_error(
            "EXPECTED_FILTERS_ON_DATE_RANGE",
            "Error in query: a date segment needs a finite date range on segments.date.",
        )
    return Plan(query, select, tuple(filters), tuple(order_by), metrics_query)


# ---- resource listings -----------------------------------------------------------------------------
def _contexts(state: CustomerState, resource: str) -> list[dict[str, Any]]:
    if resource in CONSTANT_RESOURCES:
        return [{resource: message} for message in CONSTANT_RESOURCES[resource]()]
    customer = state.customer_pb()
    if resource == "customer":
        return [{"customer": customer}]
    resources = state.resources
    out = []
    for message in resources[resource].values():
        context: dict[str, Any] = {resource: message, "customer": customer}
        if resource == "campaign":
            context["campaign_budget"] = resources["campaign_budget"].get(message.campaign_budget)
        elif resource == "ad_group":
            context["campaign"] = resources["campaign"].get(message.campaign)
        elif resource in ("ad_group_ad", "ad_group_criterion"):
            group = resources["ad_group"].get(message.ad_group)
            context["ad_group"] = group
            context["campaign"] = resources["campaign"].get(group.campaign) if group is not None else None
        elif resource in ("campaign_criterion", "campaign_label"):
            context["campaign"] = resources["campaign"].get(message.campaign)
            if resource == "campaign_label":
                context["label"] = resources["label"].get(message.label)
        out.append(context)
    return out


def _value(context: dict[str, Any], field: _Field) -> Any:
    message = context.get(field.resource)
    if message is None:
        return None
    return gaql.read(message, field.parts[1:])


def _passes(context: dict[str, Any], plan_: Plan, reader: Callable[[dict[str, Any], _Field], Any]) -> bool:
    return all(
        gaql.matches(operator, reader(context, field), values) for field, operator, values in plan_.filters
    )


def _sort(
    contexts: list[dict[str, Any]], plan_: Plan, reader: Callable[[dict[str, Any], _Field], Any]
) -> None:
    for field, descending in reversed(plan_.order_by):

        def key(context: dict[str, Any], field: _Field = field) -> tuple[bool, Any]:
            value = reader(context, field)
            return value is None, value

        contexts.sort(key=key, reverse=descending)


def _project(context: dict[str, Any], plan_: Plan) -> Any:
    row = gaql.RowPb()
    for field in plan_.select:
        source = context.get(field.resource)
        if source is None:
            continue
        target = getattr(row, field.parts[0])
        gaql.copy_field(source, target, field.parts[1:])
        if "resource_name" in source.DESCRIPTOR.fields_by_name and source.resource_name:
            target.resource_name = source.resource_name
    return row


FactSource = Callable[[CustomerState, dt.date, dt.date, dt.datetime], list[performance.Fact]]


def execute(
    state: CustomerState, query_text: str, today: dt.date, as_of: dt.datetime, facts: FactSource | None = None
) -> list[Any]:
    plan_ = plan(gaql.parse(query_text))
    if plan_.metrics_query:
        contexts = _metric_contexts(state, plan_, today, as_of, facts or performance.facts)
    else:
        contexts = [c for c in _contexts(state, plan_.query.resource) if _passes(c, plan_, _value)]
    _sort(contexts, plan_, _value)
    if plan_.query.limit is not None:
        contexts = contexts[: plan_.query.limit]
    return [_project(context, plan_) for context in contexts]


# ---- metrics ---------------------------------------------------------------------------------------
def _date_range(plan_: Plan, today: dt.date, earliest: dt.date) -> tuple[dt.date, dt.date]:
    start, end = earliest, today
    for field, operator, values in plan_.filters:
        if field.text != "segments.date":
            continue
        if operator == "DURING":
            low, high = gaql.during_range(values[0], today)
            start, end = max(start, low), min(end, high)
            continue
        days = [dt.date.fromisoformat(v) for v in values]
        if operator == "BETWEEN":
            low, high = days
        elif operator == "=":
            low = high = days[0]
        elif operator in (">", ">="):
            low, high = days[0] + dt.timedelta(days=operator == ">"), end
        elif operator in ("<", "<="):
            low, high = start, days[0] - dt.timedelta(days=operator == "<")
        elif operator == "IN" and days:
            low, high = min(days), max(days)
        else:
            raise query_error("BAD_OPERATOR", f"Error in query: {operator} is not allowed on segments.date.")
        start, end = max(start, low), min(end, high)
    return start, end


def _segment_message(fact: performance.Fact, action: str | None, state: CustomerState) -> Any:
    segments = gaql.RowPb().segments
    segments.date = fact.date.isoformat()
    segments.device = (
        segments.DESCRIPTOR.fields_by_name["device"].enum_type.values_by_name[fact.device].number
    )
    monday = fact.date - dt.timedelta(days=fact.date.weekday())
    segments.week = monday.isoformat()
    segments.month = fact.date.replace(day=1).isoformat()
    segments.year = fact.date.year
    day_enum = segments.DESCRIPTOR.fields_by_name["day_of_week"].enum_type
    segments.day_of_week = day_enum.values_by_name[fact.date.strftime("%A").upper()].number
    segments.geo_target_country = f"{GEO_TARGET_PREFIX}{fact.country_criterion_id}"
    if action is not None:
        conversion = state.resources["conversion_action"].get(action)
        segments.conversion_action = action
        if conversion is not None:
            segments.conversion_action_name = conversion.name
            segments.conversion_action_category = conversion.category
    return segments


def _metric_contexts(
    state: CustomerState, plan_: Plan, today: dt.date, as_of: dt.datetime, facts: FactSource
) -> list[dict[str, Any]]:
    resource = plan_.query.resource
    earliest_change = min((entries[0][0] for entries in state.history.values() if entries), default=None)
    if earliest_change is None:
        return []
    start, end = _date_range(plan_, today, dt.datetime.fromisoformat(earliest_change).date())
    if start > end:
        return []
    if (end - start).days > 3660:
        raise query_error("DATE_RANGE_TOO_WIDE", "Error in query: the date range is too wide.")
    segment_fields = [f for f in plan_.select if f.resource == "segments"]
    # DURING is applied through the date range; every other dimension filter on each fine group.
    dimension_filters = [(f, o, v) for f, o, v in plan_.filters if f.resource != "metrics" and o != "DURING"]
    used = [*plan_.select, *(f for f, _, _ in dimension_filters)]
    heads = {f.resource for f in used}
    segment_names = {f.parts[1] for f in used if f.resource == "segments"}
    by_action = any(name.startswith("conversion_action") for name in segment_names)
    # The fine grain keeps only what the query can see: one pass over the facts adds them up.
    wants = {
        "campaign": resource in ("campaign", "ad_group", "ad_group_ad")
        or bool(heads & {"campaign", "ad_group"}),
        "ad_group": resource in ("ad_group", "ad_group_ad") or "ad_group" in heads,
        "ad_group_ad": resource == "ad_group_ad",
        "date": bool(segment_names & DATE_SEGMENTS),
        "device": "device" in segment_names,
        "country": resource in VIEW_RESOURCES or "geo_target_country" in segment_names,
    }
    fine: dict[tuple[Any, ...], tuple[performance.Fact, str | None, list[float]]] = {}
    for fact in facts(state, start, end, as_of):
        if fact.country_criterion_id not in COUNTRY_BY_GEO_ID:
            continue
        base = (
            fact.campaign if wants["campaign"] else None,
            fact.ad_group if wants["ad_group"] else None,
            fact.ad_group_ad if wants["ad_group_ad"] else None,
            fact.date if wants["date"] else None,
            fact.device if wants["device"] else None,
            fact.country_criterion_id if wants["country"] else None,
        )
        if by_action:
            for action_name, conversions in fact.conversions.items():
                entry = fine.get((*base, action_name))
                if entry is None:
                    entry = fine[(*base, action_name)] = (fact, action_name, [0, 0, 0, 0.0])
                entry[2][3] += conversions
            continue
        entry = fine.get(base)
        if entry is None:
            entry = fine[base] = (fact, None, [0, 0, 0, 0.0])
        sums = entry[2]
        sums[0] += fact.impressions
        sums[1] += fact.clicks
        sums[2] += fact.cost_micros
        sums[3] += sum(fact.conversions.values())
    attributed = sorted({f.resource for f in used} - {"metrics", "segments", resource})
    resources = state.resources
    customer = state.customer_pb()
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for fact, action, sums in fine.values():
        context = _fact_context(fact, resource, customer, resources)
        context["segments"] = _segment_message(fact, action, state)
        if not all(gaql.matches(o, _value(context, f), v) for f, o, v in dimension_filters):
            continue
        key = (
            _identity(resource, fact),
            *(_value(context, f) for f in segment_fields),
            *(getattr(context.get(name), "resource_name", None) for name in attributed),
        )
        group = groups.get(key)
        if group is None:
            group = groups[key] = {**context, "_sums": [0, 0, 0, 0.0]}
        total = group["_sums"]
        for index in range(4):
            total[index] += sums[index]
    out = []
    for group in groups.values():
        group["metrics"] = _metrics_message(group.pop("_sums"))
        if all(gaql.matches(o, _value(group, f), v) for f, o, v in plan_.filters if f.resource == "metrics"):
            out.append(group)
    return out


def _identity(resource: str, fact: performance.Fact) -> Any:
    if resource == "customer":
        return fact.customer_id
    if resource in VIEW_RESOURCES:
        return fact.country_criterion_id
    return getattr(fact, resource)


def _fact_context(
    fact: performance.Fact, resource: str, customer: Any, resources: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "customer": customer,
        "campaign": resources["campaign"].get(fact.campaign),
        "ad_group": resources["ad_group"].get(fact.ad_group),
        "ad_group_ad": resources["ad_group_ad"].get(fact.ad_group_ad),
    }
    if resource == "geographic_view":
        view = gaql.RowPb().geographic_view
        view.country_criterion_id = fact.country_criterion_id
        view.location_type = (
            view.DESCRIPTOR.fields_by_name["location_type"]
            .enum_type.values_by_name["LOCATION_OF_PRESENCE"]
            .number
        )
        view.resource_name = (
            f"customers/{fact.customer_id}/geographicViews/{fact.country_criterion_id}~LOCATION_OF_PRESENCE"
        )
        context["geographic_view"] = view
    elif resource == "user_location_view":
        user_view = gaql.RowPb().user_location_view
        user_view.country_criterion_id = fact.country_criterion_id
        user_view.targeting_location = True
        user_view.resource_name = (
            f"customers/{fact.customer_id}/userLocationViews/{fact.country_criterion_id}~true"
        )
        context["user_location_view"] = user_view
    return context


def _metrics_message(sums: list[Any]) -> Any:
    metrics = gaql.RowPb().metrics
    impressions, clicks, cost, conversions = int(sums[0]), int(sums[1]), int(sums[2]), float(sums[3])
    values = {
        "impressions": impressions,
        "clicks": clicks,
        "cost_micros": cost,
        "interactions": clicks,
        "conversions": conversions,
        "all_conversions": conversions,
        "conversions_value": conversions,
        "all_conversions_value": conversions,
        "ctr": clicks / impressions if impressions else 0.0,
        "interaction_rate": clicks / impressions if impressions else 0.0,
        "average_cpc": cost / clicks if clicks else 0.0,
        "average_cpm": cost * 1000 / impressions if impressions else 0.0,
        "cost_per_conversion": cost / conversions if conversions else 0.0,
    }
    for name, value in values.items():  # projection keeps only the selected ones
        setattr(metrics, name, value)
    return metrics


__all__ = ["KINDS", "PAGE_SIZE", "execute", "plan"]
