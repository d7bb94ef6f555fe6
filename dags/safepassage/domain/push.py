"""One desired tree → diff against what a platform reports → a plan of operations. Pure, any platform.

The tree is platform-neutral: nodes with a kind, a stable key (the name SafePassage gives the object,
e.g. `SP|PL|uk`), the country they serve, their fields, a parent and links to other nodes. What differs
between platforms is a `PlatformShape`: which kinds exist and in which order they are created, which
fields may change in place, which kind carries the country's budget, which kind is the container that
is paused (never removed) when it leaves the plan, and how a not-yet-created object is named. A
platform is a shape plus a desired-tree builder (`domain/push_google.py`, `domain/push_meta.py`) plus
an adapter that maps operations to its SDK (`adapters/google_ads.py`, `adapters/meta_push.py`); the
diff, the approval rules, the review table and the apply loop are shared.

Names are the identity: deterministic, human-readable, re-derived on every run and matched with what
the platform reports, so a re-run (even after a response was lost) converges instead of duplicating.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import Field

from safepassage.domain.campaign import Frozen

PREFIX = "SP"
ENABLED, PAUSED = "ENABLED", "PAUSED"

Kind = str
Action = Literal["create", "update", "remove"]


@dataclass(frozen=True)
class PlatformShape:
    """What the shared diff needs to know about one platform's object model."""

    platform: str
    title: str  # "Google Ads account", "Meta ad account": how people name the account in the review
    kinds: tuple[Kind, ...]  # creation order: parents before children
    mutable: Mapping[Kind, tuple[str, ...]]
    parent_kind: Mapping[Kind, Kind]
    steps: Mapping[tuple[str, Kind], int]  # execution order within a country
    container_kind: Kind  # left PAUSED when it leaves the plan: names of removed ones stay taken
    kept_kinds: frozenset[Kind]  # never removed nor paused by the diff (shared budgets, images)
    budget_kind: Kind
    budget_field: str
    budget_micros_per_unit: int  # budget_field × this = micros (facts and approvals are in micros)
    ad_kind: Kind  # the kind whose content hash decides `new_creative_version`
    active_status: str
    removed_statuses: frozenset[str]
    # (account, kind, n): n ≥ 1 a name for the n-th create of a plan; n ≤ -1 a reported one (tests, bench)
    temporary_name: Callable[[str, Kind, int], str]
    unnamed_creates: frozenset[Kind] = frozenset()  # creates that need no name (nothing refers to them)


@dataclass(frozen=True)
class Node:
    """One object on the platform, desired or reported. `key` is its stable identity."""

    kind: Kind
    key: str
    country: str
    fields: Mapping[str, Any]
    parent: str | None = None  # key of the node this one hangs from (campaign → its budget)
    resource_name: str = ""
    links: Mapping[str, str] = field(default_factory=dict)  # kind → key of other nodes it refers to


@dataclass
class Tree:
    nodes: dict[str, Node] = field(default_factory=dict)
    shape: PlatformShape | None = None

    def add(self, node: Node) -> None:
        self.nodes[node.key] = node

    def of_kind(self, kind: Kind) -> list[Node]:
        return [node for node in self.nodes.values() if node.kind == kind]

    def __len__(self) -> int:
        return len(self.nodes)


def parse_name(name: str) -> list[str] | None:
    """The parts of one of our names, or None for objects SafePassage does not manage."""
    parts = name.split("|")
    return parts[1:] if len(parts) >= 3 and parts[0] == PREFIX else None


# --- the plan -------------------------------------------------------------------------------------


class PlanOperation(Frozen):
    action: Action
    kind: Kind
    key: str
    country: str
    resource_name: str = Field(description="existing name, or a temporary one for creates")
    fields: dict[str, Any] = Field(default_factory=dict)
    update_mask: tuple[str, ...] = ()
    refs: dict[str, str] = Field(default_factory=dict, description="parent/linked kind → resource name")
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
    title: str = "Google Ads account"
    ad_kind: str = "ad_group_ad"

    @property
    def is_empty(self) -> bool:
        return not self.operations

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for operation in self.operations:
            counts[operation.action] += 1
        return dict(counts)


def shape_of(*trees: Tree) -> PlatformShape:
    for tree in trees:
        if tree.shape is not None:
            return tree.shape
    raise ValueError("neither tree says which platform it is for (Tree.shape)")


def serving_budgets(tree: Tree, shape: PlatformShape) -> dict[str, int]:
    """Micros per country whose budget serves: its container (or, when the budget sits on the
    container itself, the budget node) is active."""
    if shape.budget_kind == shape.container_kind:
        serving = {
            n.key for n in tree.of_kind(shape.budget_kind) if n.fields.get("status") == shape.active_status
        }
    else:
        serving = {
            n.parent
            for n in tree.of_kind(shape.container_kind)
            if n.fields.get("status") == shape.active_status and n.parent
        }
    totals: dict[str, int] = defaultdict(int)
    for node in tree.of_kind(shape.budget_kind):
        if node.key in serving:
            totals[node.country] += int(node.fields[shape.budget_field]) * shape.budget_micros_per_unit
    return dict(totals)


class _CountryTargeting(Protocol):
    @property
    def country(self) -> str: ...
    @property
    def weight(self) -> float: ...


class _PlacedCreative(Protocol):
    @property
    def country(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def theme(self) -> str: ...
    @property
    def content_hash(self) -> str: ...


TargetingT = TypeVar("TargetingT", bound=_CountryTargeting)
CreativeT = TypeVar("CreativeT", bound=_PlacedCreative)


@dataclass(frozen=True)
class ServedCountry(Generic[TargetingT, CreativeT]):
    """A country a desired tree serves, with what it serves there."""

    targeting: TargetingT
    budget: int
    paused: bool
    # language → theme → its creatives; languages and themes sorted, creatives by content hash
    creatives: Mapping[str, Mapping[str, Sequence[CreativeT]]]


def served_countries(
    targeting: Iterable[TargetingT],
    languages: Callable[[TargetingT], Iterable[str]],
    creatives: Iterable[CreativeT],
    budgets: Mapping[str, int],
    paused_countries: Iterable[str],
) -> Iterator[ServedCountry[TargetingT, CreativeT]]:
    """The countries every platform's desired tree serves, in country order.

    A country is served when targeting gives it weight, it has a budget and creatives exist; a
    language when creatives exist for it. Paused countries (kill switch) are served too, marked paused.
    """
    paused = set(paused_countries)
    by_place: dict[tuple[str, str], list[CreativeT]] = defaultdict(list)
    for creative in creatives:
        by_place[(creative.country, creative.language)].append(creative)
    for country in sorted(targeting, key=lambda c: c.country):
        code = country.country
        amount = budgets.get(code, 0)
        served_languages = [lang for lang in sorted(languages(country)) if by_place.get((code, lang))]
        if country.weight <= 0 or amount <= 0 or not served_languages:
            continue
        by_language: dict[str, dict[str, list[CreativeT]]] = {}
        for lang in served_languages:
            themes: dict[str, list[CreativeT]] = defaultdict(list)
            for creative in by_place[(code, lang)]:
                themes[creative.theme].append(creative)
            by_language[lang] = {
                theme: sorted(themes[theme], key=lambda c: c.content_hash) for theme in sorted(themes)
            }
        yield ServedCountry(country, amount, code in paused, by_language)


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Planning builds hundreds of thousands of objects that all stay alive (nodes, fields,
    operations): CPython's cyclic collector would walk the growing set again and again, which made
    a 100× tree cost ~145× the 1× time. They form no garbage cycles to find; collection resumes after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@cycle_collection_paused()
def diff(customer_id: str, desired: Tree, actual: Tree, warnings: Sequence[str] = ()) -> Plan:
    """Operations that turn `actual` (what the platform reported) into `desired`; empty when they agree."""
    shape = shape_of(desired, actual)
    operations: list[PlanOperation] = []
    notes: list[str] = list(warnings)
    names: dict[str, str] = {key: node.resource_name for key, node in actual.nodes.items()}
    next_temporary = 1
    removed_parents: set[str] = set()

    for kind in shape.kinds:
        for node in sorted(desired.of_kind(kind), key=lambda n: n.key):
            existing = actual.nodes.get(node.key)
            if existing is None:
                if kind in shape.unnamed_creates:
                    resource_name = ""
                else:
                    resource_name = shape.temporary_name(customer_id, kind, next_temporary)
                    next_temporary += 1
                    names[node.key] = resource_name
                operations.append(
                    _operation_on(
                        node,
                        "create",
                        resource_name,
                        fields=dict(node.fields),
                        refs=_refs(node, names, shape),
                        why="missing",
                    )
                )
                continue
            if existing.fields.get("status") in shape.removed_statuses:
                notes.append(f"{node.key}: the name belongs to a removed {kind}; rename it to serve again")
                continue
            changed = tuple(
                f for f in shape.mutable.get(kind, ()) if node.fields.get(f) != existing.fields.get(f)
            )
            if changed:
                operations.append(
                    _operation_on(
                        node,
                        "update",
                        existing.resource_name,
                        fields={f: node.fields[f] for f in changed},
                        update_mask=changed,
                        before={f: existing.fields.get(f) for f in changed},
                        why="changed",
                    )
                )

    undesired_containers = set()
    for kind in shape.kinds:
        for node in sorted(actual.of_kind(kind), key=lambda n: n.key):
            if node.key in desired.nodes or node.fields.get("status") in shape.removed_statuses:
                continue
            if kind == shape.container_kind:
                undesired_containers.add(node.key)
                if node.fields.get("status") != PAUSED:
                    operations.append(
                        _operation_on(
                            node,
                            "update",
                            node.resource_name,
                            fields={"status": PAUSED},
                            update_mask=("status",),
                            before={"status": node.fields.get("status")},
                            why="no longer in the plan: paused (never removed: its name would stay taken)",
                        )
                    )
            elif kind in shape.kept_kinds:
                continue  # left as is: its containers are paused, or it is shared
            elif node.parent in undesired_containers or node.parent in removed_parents:
                removed_parents.add(node.key)
                continue  # the whole branch stops with its paused container or removed parent
            else:
                removed_parents.add(node.key)
                operations.append(
                    _operation_on(
                        node,
                        "remove",
                        node.resource_name,
                        before=dict(node.fields),
                        why="no longer in the plan",
                    )
                )

    facts = PlanFacts(
        budgets_before=serving_budgets(actual, shape),
        budgets_after=serving_budgets(desired, shape),
        live_ads_before=tuple(sorted({n.fields["content_hash"] for n in actual.of_kind(shape.ad_kind)})),
    )
    return Plan(
        platform=shape.platform,
        title=shape.title,
        ad_kind=shape.ad_kind,
        customer_id=customer_id,
        operations=tuple(
            sorted(operations, key=lambda op: (op.country, shape.steps[(op.action, op.kind)], op.key))
        ),
        facts=facts,
        warnings=tuple(notes),
    )


def _operation_on(node: Node, action: Action, resource_name: str, **change: Any) -> PlanOperation:
    """An operation on `node`, addressed by the node's own kind, key and country."""
    return PlanOperation(
        action=action,
        kind=node.kind,
        key=node.key,
        country=node.country,
        resource_name=resource_name,
        **change,
    )


def _refs(node: Node, names: Mapping[str, str], shape: PlatformShape) -> dict[str, str]:
    refs = {kind: names[key] for kind, key in node.links.items() if key in names}
    if node.parent is not None:
        refs[shape.parent_kind[node.kind]] = names[node.parent]
    return refs


def batches(operations: Sequence[PlanOperation], limit: int) -> list[list[PlanOperation]]:
    """Pack operations into requests of ≤ `limit`, never splitting a country's subtree (temporary
    resource names only resolve inside one request). First-fit in country order."""
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
        f"### Push plan for {plan.title} {plan.customer_id}",
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
        columns: list[str] = []
        for op in plan.operations:
            per_country[op.country][f"{op.action} {op.kind}"] += 1
        for action in ("create", "update", "remove"):
            for op in plan.operations:
                column = f"{action} {op.kind}"
                if op.action == action and column not in columns:
                    columns.append(column)
        lines += ["", "| country | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
        for code in sorted(per_country):
            lines.append(
                f"| {code or '(account)'} | "
                + " | ".join(str(per_country[code].get(c, "")) for c in columns)
                + " |"
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
        {
            "kind": n.kind,
            "key": n.key,
            "country": n.country,
            "fields": dict(n.fields),
            "parent": n.parent,
            **({"links": dict(n.links)} if n.links else {}),
        }
        for n in tree.nodes.values()
    ]


def tree_from_json(nodes: Iterable[Mapping[str, Any]], shape: PlatformShape | None = None) -> Tree:
    tree = Tree(shape=shape)
    for n in nodes:
        tree.add(
            Node(
                n["kind"], n["key"], n["country"], dict(n["fields"]), n.get("parent"), "", n.get("links", {})
            )
        )
    return tree


def as_reported(tree: Tree, customer_id: str = "1234567890") -> Tree:
    """The tree as the platform reports it once created: same identities, real (positive) resource names
    (for planning against a known state in tests and benchmarks)."""
    shape = shape_of(tree)
    reported = Tree(shape=shape)
    for number, node in enumerate(tree.nodes.values(), start=1):
        name = shape.temporary_name(customer_id, node.kind, -number)
        reported.add(
            Node(node.kind, node.key, node.country, dict(node.fields), node.parent, name, node.links)
        )
    return reported


class PlatformCallFailed(Exception):
    """A request to a platform failed as a whole. Adapters raise a subclass; the apply loop reads:

    - `is_quota`: throttled before anything ran; the same request may be sent again after `quota_delay`.
    - `is_transient`: it may or may not have committed; re-read the account and re-plan, never replay.
    - `per_object()`: which object failed and why, by key.
    """

    status: str = "UNKNOWN"
    request_id: str | None = None
    quota_delay: float | None = None

    @property
    def is_quota(self) -> bool:
        return False

    @property
    def is_transient(self) -> bool:
        return False

    @property
    def retryable(self) -> bool:
        return self.is_quota or self.is_transient

    def per_object(self) -> dict[str, list[str]]:
        return {}

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "request_id": self.request_id, "quota_delay": self.quota_delay}
