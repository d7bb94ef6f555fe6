"""Desired Google Ads tree → diff against what the platform reports → a plan of operations. Pure.

Structure, and why:

    campaign budget  "SP|PL|budget"        one per country, shared by its campaigns: the allocator
                                           decides money per country × platform, so one budget
                                           carries exactly that amount and the cap check is 1:1.
    campaign         "SP|PL|uk"            one per country × language. Google targets languages
                                           at campaign level only, so a campaign per language is
                                           the only way a Ukrainian ad reaches Ukrainian speakers
                                           and not Polish ones. Criteria: location or proximity
                                           hotspots + the one language.
    ad group         "SP|PL|uk|jobs"       one per theme served there.
    ad               RSA, identified by the hash of its content (ads are immutable on Google:
                     a new creative version is a new ad; the old one is removed).

Names are the identity: deterministic, human-readable, re-derived on every run and matched with
what GAQL reports, so a re-run (even after a response was lost) converges instead of duplicating.
Campaigns are never removed (a removed campaign keeps its name forever): a country or language
that leaves the plan is PAUSED, and comes back by being enabled.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from safepassage.domain.campaign import Frozen

PREFIX = "SP"
MAX_OPERATIONS_PER_REQUEST = 10_000
ENABLED, PAUSED = "ENABLED", "PAUSED"
EU_POLITICAL_DECLARATION = "DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING"

Kind = Literal["campaign_budget", "campaign", "campaign_criterion", "ad_group", "ad_group_ad"]
Action = Literal["create", "update", "remove"]
KIND_ORDER: tuple[Kind, ...] = (
    "campaign_budget",
    "campaign",
    "campaign_criterion",
    "ad_group",
    "ad_group_ad",
)
COLLECTION = {
    "campaign_budget": "campaignBudgets",
    "campaign": "campaigns",
    "campaign_criterion": "campaignCriteria",
    "ad_group": "adGroups",
    "ad_group_ad": "adGroupAds",
}
MUTABLE: dict[str, tuple[str, ...]] = {
    "campaign_budget": ("amount_micros",),
    "campaign": ("status", "contains_eu_political_advertising"),
    "campaign_criterion": (),
    "ad_group": ("status",),
    "ad_group_ad": ("status",),
}


# --- inputs ---------------------------------------------------------------------------------------


class Proximity(Frozen):
    lat: float
    lon: float
    radius_km: float

    def key(self) -> str:
        return f"{self.lat:.5f},{self.lon:.5f},{self.radius_km:g}km"


class CountryTargeting(Frozen):
    """What the push needs from a targeting snapshot, for one country on Google Ads."""

    country: str
    weight: float = Field(ge=0)
    languages: dict[str, int] = Field(description="language code → Google language constant id")
    location_ids: tuple[int, ...] = ()
    proximities: tuple[Proximity, ...] = ()


class CreativeForPush(Frozen):
    """One rendered, checked responsive search ad for theme × country × language."""

    theme: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    country: str
    language: str
    headlines: tuple[str, ...]
    descriptions: tuple[str, ...]
    final_url: str
    path1: str = ""
    path2: str = ""
    version_hash: str = ""  # the creative pipeline's own content hash, for the audit trail

    @property
    def content_hash(self) -> str:
        return ad_content_hash(self.headlines, self.descriptions, self.final_url, self.path1, self.path2)


def ad_content_hash(
    headlines: Sequence[str], descriptions: Sequence[str], final_url: str, path1: str, path2: str
) -> str:
    """Identity of an ad from what it shows, computed the same from a creative and from GAQL."""
    payload = json.dumps([list(headlines), list(descriptions), final_url, path1, path2], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


# --- the tree -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One object on the platform, desired or reported. `key` is its stable identity."""

    kind: Kind
    key: str
    country: str
    fields: Mapping[str, Any]
    parent: str | None = None  # key of the node this one hangs from (campaign → its budget)
    resource_name: str = ""


@dataclass
class Tree:
    nodes: dict[str, Node] = field(default_factory=dict)

    def add(self, node: Node) -> None:
        self.nodes[node.key] = node

    def of_kind(self, kind: Kind) -> list[Node]:
        return [node for node in self.nodes.values() if node.kind == kind]

    def __len__(self) -> int:
        return len(self.nodes)


def budget_name(country: str) -> str:
    return f"{PREFIX}|{country}|budget"


def campaign_name(country: str, language: str) -> str:
    return f"{PREFIX}|{country}|{language}"


def ad_group_name(country: str, language: str, theme: str) -> str:
    return f"{PREFIX}|{country}|{language}|{theme}"


def parse_name(name: str) -> list[str] | None:
    """The parts of one of our names, or None for objects SafePassage does not manage."""
    parts = name.split("|")
    return parts[1:] if len(parts) >= 3 and parts[0] == PREFIX else None


def criterion_key(campaign: str, criterion: Mapping[str, Any]) -> str:
    if criterion["type"] == "LOCATION":
        return f"{campaign}#loc:{criterion['geo_target_id']}"
    if criterion["type"] == "LANGUAGE":
        return f"{campaign}#lang:{criterion['language_id']}"
    return f"{campaign}#near:{Proximity(**criterion['proximity']).key()}"


def ad_key(ad_group: str, content_hash: str) -> str:
    return f"{ad_group}#ad:{content_hash}"


def desired_tree(
    targeting: Iterable[CountryTargeting],
    creatives: Iterable[CreativeForPush],
    budgets_micros: Mapping[str, int],
    paused_countries: Iterable[str] = (),
) -> Tree:
    """What SafePassage wants on one Google Ads account.

    A country is served when targeting gives it weight, it has a budget and creatives exist; a
    language when creatives exist for it. Paused countries (kill switch) keep their tree, PAUSED.
    """
    paused = set(paused_countries)
    by_place: dict[tuple[str, str], list[CreativeForPush]] = defaultdict(list)
    for creative in creatives:
        by_place[(creative.country, creative.language)].append(creative)
    tree = Tree()
    for country in sorted(targeting, key=lambda c: c.country):
        code = country.country
        amount = budgets_micros.get(code, 0)
        languages = [lang for lang in sorted(country.languages) if by_place.get((code, lang))]
        if country.weight <= 0 or amount <= 0 or not languages:
            continue
        status = PAUSED if code in paused else ENABLED
        budget = budget_name(code)
        tree.add(Node("campaign_budget", budget, code, {"name": budget, "amount_micros": amount}))
        for lang in languages:
            campaign = campaign_name(code, lang)
            tree.add(
                Node(
                    "campaign",
                    campaign,
                    code,
                    {
                        "name": campaign,
                        "status": status,
                        "contains_eu_political_advertising": EU_POLITICAL_DECLARATION,
                    },
                    parent=budget,
                )
            )
            criteria: list[dict[str, Any]] = [
                {"type": "LOCATION", "geo_target_id": geo_id} for geo_id in sorted(set(country.location_ids))
            ]
            criteria += [
                {"type": "PROXIMITY", "proximity": p.model_dump()}
                for p in sorted(set(country.proximities), key=Proximity.key)
            ]
            criteria.append({"type": "LANGUAGE", "language_id": country.languages[lang]})
            for criterion in criteria:
                tree.add(
                    Node("campaign_criterion", criterion_key(campaign, criterion), code, criterion, campaign)
                )
            themes: dict[str, list[CreativeForPush]] = defaultdict(list)
            for creative in by_place[(code, lang)]:
                themes[creative.theme].append(creative)
            for theme in sorted(themes):
                group = ad_group_name(code, lang, theme)
                tree.add(Node("ad_group", group, code, {"name": group, "status": ENABLED}, campaign))
                for creative in sorted(themes[theme], key=lambda c: c.content_hash):
                    tree.add(
                        Node(
                            "ad_group_ad",
                            ad_key(group, creative.content_hash),
                            code,
                            {
                                "status": ENABLED,
                                "content_hash": creative.content_hash,
                                "headlines": list(creative.headlines),
                                "descriptions": list(creative.descriptions),
                                "final_url": creative.final_url,
                                "path1": creative.path1,
                                "path2": creative.path2,
                                "version_hash": creative.version_hash,
                            },
                            group,
                        )
                    )
    return tree


# --- the plan -------------------------------------------------------------------------------------


class PlanOperation(Frozen):
    action: Action
    kind: Kind
    key: str
    country: str
    resource_name: str = Field(description="existing name, or a temporary one (negative id) for creates")
    fields: dict[str, Any] = Field(default_factory=dict)
    update_mask: tuple[str, ...] = ()
    refs: dict[str, str] = Field(default_factory=dict, description="parent kind → resource name")
    before: dict[str, Any] = Field(default_factory=dict)
    why: str = ""


class PlanFacts(Frozen):
    """What approval rules need beyond the operations: the account before and after."""

    budgets_before: dict[str, int] = Field(default_factory=dict, description="serving countries → micros")
    budgets_after: dict[str, int] = Field(default_factory=dict)
    live_ads_before: tuple[str, ...] = ()


class Plan(Frozen):
    platform: str = "google_ads"
    customer_id: str
    operations: tuple[PlanOperation, ...]
    facts: PlanFacts
    warnings: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.operations

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for operation in self.operations:
            counts[operation.action] += 1
        return dict(counts)


def _serving_budgets(tree: Tree) -> dict[str, int]:
    """Micros per country whose budget has at least one enabled campaign."""
    serving = {node.parent for node in tree.of_kind("campaign") if node.fields.get("status") == ENABLED}
    return {
        node.country: int(node.fields["amount_micros"])
        for node in tree.of_kind("campaign_budget")
        if node.key in serving
    }


def diff(customer_id: str, desired: Tree, actual: Tree) -> Plan:
    """Operations that turn `actual` (what GAQL reported) into `desired`; empty when they agree."""
    operations: list[PlanOperation] = []
    warnings: list[str] = []
    names: dict[str, str] = {key: node.resource_name for key, node in actual.nodes.items()}
    next_temporary = -1
    removed_groups: set[str] = set()

    for kind in KIND_ORDER:
        for node in sorted(desired.of_kind(kind), key=lambda n: n.key):
            existing = actual.nodes.get(node.key)
            refs = _refs(node, names)
            if existing is None:
                if kind in ("campaign_criterion", "ad_group_ad"):
                    resource_name = ""
                else:
                    resource_name = f"customers/{customer_id}/{COLLECTION[kind]}/{next_temporary}"
                    next_temporary -= 1
                    names[node.key] = resource_name
                operations.append(
                    PlanOperation(
                        action="create",
                        kind=kind,
                        key=node.key,
                        country=node.country,
                        resource_name=resource_name,
                        fields=dict(node.fields),
                        refs=refs,
                        why="missing",
                    )
                )
                continue
            if existing.fields.get("status") == "REMOVED":
                warnings.append(f"{node.key}: the name belongs to a removed {kind}; rename it to serve again")
                continue
            changed = tuple(f for f in MUTABLE[kind] if node.fields.get(f) != existing.fields.get(f))
            if changed:
                operations.append(
                    PlanOperation(
                        action="update",
                        kind=kind,
                        key=node.key,
                        country=node.country,
                        resource_name=existing.resource_name,
                        fields={f: node.fields[f] for f in changed},
                        update_mask=changed,
                        before={f: existing.fields.get(f) for f in changed},
                        why="changed",
                    )
                )

    undesired_campaigns = set()
    for kind in KIND_ORDER:
        for node in sorted(actual.of_kind(kind), key=lambda n: n.key):
            if node.key in desired.nodes or node.fields.get("status") == "REMOVED":
                continue
            if kind == "campaign":
                undesired_campaigns.add(node.key)
                if node.fields.get("status") != PAUSED:
                    operations.append(
                        PlanOperation(
                            action="update",
                            kind=kind,
                            key=node.key,
                            country=node.country,
                            resource_name=node.resource_name,
                            fields={"status": PAUSED},
                            update_mask=("status",),
                            before={"status": node.fields.get("status")},
                            why="no longer in the plan: paused (campaigns are never removed)",
                        )
                    )
            elif kind == "campaign_budget":
                continue  # left as is; its campaigns are paused
            elif node.parent in undesired_campaigns or node.parent in removed_groups:
                if kind == "ad_group":
                    removed_groups.add(node.key)
                continue  # the whole branch stops with its paused campaign or removed ad group
            else:
                if kind == "ad_group":
                    removed_groups.add(node.key)
                operations.append(
                    PlanOperation(
                        action="remove",
                        kind=kind,
                        key=node.key,
                        country=node.country,
                        resource_name=node.resource_name,
                        before=dict(node.fields),
                        why="no longer in the plan",
                    )
                )

    facts = PlanFacts(
        budgets_before=_serving_budgets(actual),
        budgets_after=_serving_budgets(desired),
        live_ads_before=tuple(sorted({n.fields["content_hash"] for n in actual.of_kind("ad_group_ad")})),
    )
    return Plan(
        customer_id=customer_id,
        operations=tuple(_execution_order(operations)),
        facts=facts,
        warnings=tuple(warnings),
    )


def _refs(node: Node, names: Mapping[str, str]) -> dict[str, str]:
    if node.parent is None:
        return {}
    parent_kind = {
        "campaign": "campaign_budget",
        "campaign_criterion": "campaign",
        "ad_group": "campaign",
        "ad_group_ad": "ad_group",
    }[node.kind]
    return {parent_kind: names[node.parent]}


_STEP = {
    ("create", "campaign_budget"): 0,
    ("update", "campaign_budget"): 1,
    ("create", "campaign"): 2,
    ("update", "campaign"): 3,
    ("remove", "campaign_criterion"): 4,
    ("create", "campaign_criterion"): 5,
    ("create", "ad_group"): 6,
    ("update", "ad_group"): 7,
    ("remove", "ad_group_ad"): 8,
    ("create", "ad_group_ad"): 9,
    ("update", "ad_group_ad"): 10,
    ("remove", "ad_group"): 11,
}


def _execution_order(operations: list[PlanOperation]) -> list[PlanOperation]:
    """Parents before children, removals of children before their parents; stable within a step."""
    return sorted(operations, key=lambda op: (op.country, _STEP[(op.action, op.kind)], op.key))


def batches(
    operations: Sequence[PlanOperation], limit: int = MAX_OPERATIONS_PER_REQUEST
) -> list[list[PlanOperation]]:
    """Pack operations into mutate requests of ≤ `limit`, never splitting a country's subtree
    (temporary resource names only resolve inside one request). First-fit in country order."""
    by_country: dict[str, list[PlanOperation]] = defaultdict(list)
    for operation in operations:
        by_country[operation.country].append(operation)
    requests: list[list[PlanOperation]] = []
    for country in sorted(by_country):
        group = by_country[country]
        if len(group) > limit:
            raise ValueError(f"{country}: {len(group)} operations cannot fit one request of {limit}")
        for request in requests:
            if len(request) + len(group) <= limit:
                request.extend(group)
                break
        else:
            requests.append(list(group))
    return requests


# --- review ---------------------------------------------------------------------------------------


def render_markdown(plan: Plan, approval_reasons: Sequence[str] = (), currency: str = "") -> str:
    """The plan as people read it in the task log and the Airflow UI; amounts in `currency`."""
    counts = plan.counts()
    lines = [
        f"### Push plan for Google Ads account {plan.customer_id}",
        "",
        (
            "**Nothing to change**: the account already matches the plan."
            if plan.is_empty
            else f"**{len(plan.operations)} operations**: {counts.get('create', 0)} create, "
            f"{counts.get('update', 0)} update, {counts.get('remove', 0)} remove."
        ),
    ]
    if approval_reasons:
        lines += ["", "**Needs approval because:**", *(f"- {reason}" for reason in approval_reasons)]
    elif not plan.is_empty:
        lines += ["", "Within the approval thresholds: applies without review."]
    before, after = plan.facts.budgets_before, plan.facts.budgets_after
    budget_rows = [
        (code, before.get(code, 0), after.get(code, 0))
        for code in sorted(before.keys() | after.keys())
        if before.get(code, 0) != after.get(code, 0)
    ]
    if budget_rows:
        unit = f" ({currency})" if currency else ""
        lines += [
            "",
            f"| country | daily budget before{unit} | after{unit} | change |",
            "|---|---:|---:|---:|",
        ]
        for code, old, new in budget_rows:
            change = f"{(new - old) / old:+.0%}" if old else "new"
            lines.append(f"| {code} | {old / 1e6:,.2f} | {new / 1e6:,.2f} | {change} |")
        lines.append(
            f"| **total** | {sum(before.values()) / 1e6:,.2f} | {sum(after.values()) / 1e6:,.2f} | |"
        )
    if plan.operations:
        per_country: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for op in plan.operations:
            per_country[op.country][f"{op.action} {op.kind}"] += 1
        columns = [f"{a} {k}" for a in ("create", "update", "remove") for k in KIND_ORDER]
        columns = [c for c in columns if any(c in row for row in per_country.values())]
        lines += ["", "| country | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
        for code in sorted(per_country):
            lines.append(
                f"| {code} | " + " | ".join(str(per_country[code].get(c, "")) for c in columns) + " |"
            )
        lines += ["", "<details><summary>Every operation</summary>", ""]
        lines += [f"- {op.action} {op.kind} `{op.key}` {_change_text(op)}" for op in plan.operations]
        lines += ["", "</details>"]
    if plan.warnings:
        lines += ["", "**Warnings:**", *(f"- {w}" for w in plan.warnings)]
    return "\n".join(lines)


def _change_text(op: PlanOperation) -> str:
    if op.action == "update":
        return ", ".join(f"{f}: {op.before.get(f)} → {op.fields.get(f)}" for f in op.update_mask)
    return f"({op.why})" if op.why else ""


def tree_to_json(tree: Tree) -> list[dict[str, Any]]:
    return [
        {"kind": n.kind, "key": n.key, "country": n.country, "fields": dict(n.fields), "parent": n.parent}
        for n in tree.nodes.values()
    ]


def tree_from_json(nodes: Iterable[Mapping[str, Any]]) -> Tree:
    tree = Tree()
    for n in nodes:
        tree.add(Node(n["kind"], n["key"], n["country"], dict(n["fields"]), n.get("parent")))
    return tree


def as_reported(tree: Tree, customer_id: str = "1234567890") -> Tree:
    """The tree as GAQL reports it once created: same identities, real resource names (for planning
    against a known state in tests and benchmarks)."""
    reported = Tree()
    for number, node in enumerate(tree.nodes.values(), start=1):
        reported.add(
            Node(
                node.kind,
                node.key,
                node.country,
                dict(node.fields),
                node.parent,
                f"customers/{customer_id}/{COLLECTION[node.kind]}/{number}",
            )
        )
    return reported
