"""The push to Meta through the official facebook-business SDK: read the tree back, write it in batches.

The Meta mapping of the shared plan (`domain/push.py`, `domain/push_meta.py`). What to send, when to
retry and what to log is decided by `services.push`; this module knows Graph paths, parameters and
error shapes.

- Reads: one edge read per kind (`campaigns`, `adsets`, `adcreatives`, `ads`, `adimages`) with only
  the fields compared, `SP|` names filtered server-side, 500 a page (the SDK's cursor follows pages).
- Writes: Graph batch requests of at most 50 items. Graph batches are not atomic: each item answers
  for itself. An item answered `null` (response lost), or throttled while others ran, leaves the
  request half-done: `MetaCallFailed.is_transient`, so the caller re-reads and re-plans (names make
  a re-sent create impossible to duplicate). A throttle of the whole batch ran nothing:
  `is_quota`, the same batch may go again after the wait the usage headers give.
- Children wait for their parents: an operation whose parent this plan creates is sent in a later
  batch, after a re-read has given the parent its id (`requests`).
- Usage headers (`X-Business-Use-Case-Usage`, `X-App-Usage`, `X-Ad-Account-Usage`) are read on every
  reply; at 90% or more, or with a time to regain access, the next batch is not sent before that wait.
- Guards (the budget guard, and the kill switch's pause re-check when it is added) see every batch
  right before it leaves.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import requests
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.api import FacebookAdsApi
from facebook_business.exceptions import FacebookRequestError

from safepassage.domain.budgets import BudgetGuard
from safepassage.domain.push import Node, PlanOperation, PlatformCallFailed, Tree, parse_name
from safepassage.domain.push_meta import (
    MAX_BATCH,
    META,
    PENDING,
    creative_content_hash,
    image_name,
    managed_targeting,
)

THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
NEAR_LIMIT_PERCENT = 90
DEFAULT_THROTTLE_SECONDS = 60.0
READ_FIELDS: dict[str, tuple[str, ...]] = {
    "campaigns": ("id", "name", "status", "objective", "special_ad_categories", "daily_budget"),
    "adsets": ("id", "name", "status", "campaign_id", "targeting", "dsa_beneficiary", "dsa_payor"),
    "adcreatives": ("id", "name", "object_story_spec"),
    "ads": ("id", "name", "status", "adset_id", "creative"),
    "adimages": ("id", "hash", "name", "status"),
}
_SDK_READ = {
    "campaigns": "get_campaigns",
    "adsets": "get_ad_sets",
    "adcreatives": "get_ad_creatives",
    "ads": "get_ads",
    "adimages": "get_ad_images",
}
_EDGE = {
    "campaign": "campaigns",
    "adset": "adsets",
    "adcreative": "adcreatives",
    "ad": "ads",
    "adimage": "adimages",
}
_CREATE_FIELDS = {
    "campaign": (
        "name",
        "status",
        "objective",
        "special_ad_categories",
        "special_ad_category_country",
        "daily_budget",
        "bid_strategy",
    ),
    "adset": (
        "name",
        "status",
        "targeting",
        "optimization_goal",
        "billing_event",
        "destination_type",
        "dsa_beneficiary",
        "dsa_payor",
    ),
    "adcreative": ("name", "object_story_spec"),
    "ad": ("name", "status"),
}
Guard = Callable[[Sequence[PlanOperation]], None]


@dataclass(frozen=True)
class ItemError:
    key: str
    code: int | None
    message: str


class MetaCallFailed(PlatformCallFailed):
    """A batch (or a read) that did not fully succeed. See the module docstring for the three cases."""

    def __init__(
        self,
        status: str,
        errors: Sequence[ItemError] = (),
        *,
        quota: bool = False,
        transient: bool = False,
        quota_delay: float | None = None,
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.errors = list(errors)
        self._quota, self._transient = quota, transient
        self.quota_delay = quota_delay
        self.request_id = request_id
        summary = "; ".join(f"{e.key}: {e.code} {e.message}" for e in self.errors[:5]) or status
        super().__init__(f"Meta {status}: {summary}")

    @property
    def is_quota(self) -> bool:
        return self._quota

    @property
    def is_transient(self) -> bool:
        return self._transient

    def per_object(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for error in self.errors:
            grouped.setdefault(error.key, []).append(f"{error.code}: {error.message}")
        return grouped

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "request_id": self.request_id,
            "quota_delay": self.quota_delay,
            "errors": [e.__dict__ for e in self.errors[:50]],
        }


@dataclass
class Usage:
    """The highest usage percentage and time to regain access the last reply's headers gave."""

    percent: int = 0
    regain_seconds: float = 0.0

    @classmethod
    def from_headers(cls, headers: Mapping[str, str] | Sequence[Mapping[str, str]] | None) -> Usage:
        pairs = (
            {str(h.get("name", "")).lower(): h.get("value", "") for h in headers}
            if isinstance(headers, list | tuple)
            else {str(k).lower(): v for k, v in (headers or {}).items()}  # type: ignore[union-attr]
        )
        usage = cls()
        for name in ("x-business-use-case-usage", "x-app-usage", "x-ad-account-usage"):
            try:
                value = json.loads(pairs.get(name) or "{}")
            except ValueError:
                continue
            entries = (
                [entry for items in value.values() for entry in items]
                if name == "x-business-use-case-usage"
                else [value]
            )
            for entry in entries:
                for key in ("call_count", "total_cputime", "total_time", "acc_id_util_pct"):
                    usage.percent = max(usage.percent, int(entry.get(key) or 0))
                usage.regain_seconds = max(
                    usage.regain_seconds,
                    60.0 * float(entry.get("estimated_time_to_regain_access") or 0),
                    float(entry.get("reset_time_duration") or 0) if usage.percent >= 100 else 0.0,
                )
        return usage

    @property
    def wait_seconds(self) -> float:
        if self.regain_seconds:
            return self.regain_seconds
        return DEFAULT_THROTTLE_SECONDS if self.percent >= NEAR_LIMIT_PERCENT else 0.0


@dataclass
class BatchOutcome:
    ids: dict[str, str] = field(default_factory=dict)  # key → id (image: hash) of what each item wrote

    @property
    def resource_names(self) -> list[str]:  # what the apply log keeps of a request's result
        return [f"{key}={value}" for key, value in self.ids.items()]


class MetaPushAccount:
    """One Meta ad account as the push sees it, through an initialised `FacebookAdsApi`."""

    platform = "meta"
    read_kind = "Graph read-back (campaigns, adsets, adcreatives, ads, adimages)"
    write_kind = "Graph batch"
    validates = False  # Graph has no dry run of a batch; the budget guard and policy checks run before

    def __init__(
        self,
        api: FacebookAdsApi,
        account_id: str,
        guard: BudgetGuard,
        images_dir: Path,
        currency_minor_micros: int = 10_000,
        extra_guards: Sequence[Guard] = (),
    ) -> None:
        self.api = api
        self.customer_id = account_id if account_id.startswith("act_") else f"act_{account_id}"
        self.guard = guard
        self.images_dir = images_dir
        self.minor_micros = currency_minor_micros
        # The seam for the kill switch's pause re-check: each guard sees every batch right before it leaves.
        self.guards: list[Guard] = [self._check_budgets, *extra_guards]
        self.usage = Usage()

    # -- reading ------------------------------------------------------------------------------------
    def read_tree(self) -> Tree:
        """The SafePassage-named part of the account, as Graph reports it now."""
        rows = {edge: self._read(edge) for edge in READ_FIELDS}
        tree = Tree(shape=META)
        key_by_id: dict[str, str] = {}
        for image in rows["adimages"]:
            key = image_name(str(image["hash"]))
            tree.add(
                Node(
                    "adimage",
                    key,
                    "",
                    {"name": image.get("name", ""), "hash": image["hash"]},
                    None,
                    str(image["id"]),
                )
            )
            key_by_id[str(image["id"])] = key
        for campaign in rows["campaigns"]:
            parts = parse_name(str(campaign.get("name", "")))
            if parts is None:
                continue
            fields = {
                "name": campaign["name"],
                "status": campaign.get("status"),
                "objective": campaign.get("objective"),
                "special_ad_categories": list(campaign.get("special_ad_categories") or []),
                "daily_budget": int(campaign.get("daily_budget") or 0),
            }
            tree.add(Node("campaign", campaign["name"], parts[0], fields, None, str(campaign["id"])))
            key_by_id[str(campaign["id"])] = campaign["name"]
        for ad_set in rows["adsets"]:
            owner = key_by_id.get(str(ad_set.get("campaign_id")))
            if owner is None or parse_name(str(ad_set.get("name", ""))) is None:
                continue
            fields = {
                "name": ad_set["name"],
                "status": ad_set.get("status"),
                "targeting": managed_targeting(ad_set.get("targeting")),
                "dsa_beneficiary": ad_set.get("dsa_beneficiary"),
                "dsa_payor": ad_set.get("dsa_payor"),
            }
            tree.add(
                Node("adset", ad_set["name"], tree.nodes[owner].country, fields, owner, str(ad_set["id"]))
            )
            key_by_id[str(ad_set["id"])] = ad_set["name"]
        content_by_creative: dict[str, str] = {}
        for creative in rows["adcreatives"]:
            parts = parse_name(str(creative.get("name", "")))
            if parts is None:
                continue
            link_data: dict[str, Any] = dict((creative.get("object_story_spec") or {}).get("link_data") or {})
            content_hash = creative_content_hash(link_data)
            image_hash = link_data.get("image_hash")
            links = {"adimage": image_name(str(image_hash))} if image_hash else {}
            tree.add(
                Node(
                    "adcreative",
                    creative["name"],
                    parts[0],
                    {"name": creative["name"], "content_hash": content_hash},
                    None,
                    str(creative["id"]),
                    links,
                )
            )
            key_by_id[str(creative["id"])] = creative["name"]
            content_by_creative[str(creative["id"])] = content_hash
        for ad in rows["ads"]:
            owner = key_by_id.get(str(ad.get("adset_id")))
            creative_id = str((ad.get("creative") or {}).get("id", ""))
            if owner is None or parse_name(str(ad.get("name", ""))) is None:
                continue
            fields = {
                "name": ad["name"],
                "status": ad.get("status"),
                "content_hash": content_by_creative.get(creative_id, ""),
            }
            links = {"adcreative": key_by_id[creative_id]} if creative_id in key_by_id else {}
            tree.add(Node("ad", ad["name"], tree.nodes[owner].country, fields, owner, str(ad["id"]), links))
        return tree

    def _read(self, edge: str) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": 500}
        if edge != "adimages":
            params["filtering"] = [{"field": "name", "operator": "CONTAIN", "value": "SP|"}]
        account = AdAccount(self.customer_id, api=self.api)
        try:
            cursor = getattr(account, _SDK_READ[edge])(fields=list(READ_FIELDS[edge]), params=params)
            return [dict(row.export_all_data()) for row in cursor]
        except FacebookRequestError as error:
            raise classify(error, "read " + edge) from None  # the SDK's error carries the token in its URL
        except requests.RequestException as error:
            raise MetaCallFailed(
                type(error).__name__, [ItemError("read " + edge, None, "no answer")], transient=True
            ) from None

    # -- writing ------------------------------------------------------------------------------------
    def requests(self, operations: Sequence[PlanOperation]) -> list[list[PlanOperation]]:
        """Batches of ≤50 of the operations whose parents already exist (the rest wait for a re-read)."""
        ready = [op for op in operations if not any(ref.startswith(PENDING) for ref in op.refs.values())]
        return [list(ready[start : start + MAX_BATCH]) for start in range(0, len(ready), MAX_BATCH)]

    def mutate(self, operations: Sequence[PlanOperation], *, validate_only: bool = False) -> BatchOutcome:
        """One Graph batch. Every guard has the last word before it leaves."""
        if validate_only:
            raise ValueError("Graph batches have no validate_only")
        if len(operations) > MAX_BATCH:
            raise ValueError(f"{len(operations)} operations: a Graph batch holds at most {MAX_BATCH}")
        for guard in self.guards:
            guard(operations)
        wait = self.usage.wait_seconds
        if wait:
            self.usage = Usage()  # the wait is taken once; the next reply says where usage stands
            raise MetaCallFailed("usage near the limit: not sent", quota=True, quota_delay=wait)
        items = [self._item(op) for op in operations]
        try:
            response = self.api.call("POST", (), params={"batch": items})
        except FacebookRequestError as error:
            raise classify(error, "(batch)") from None  # the SDK's error carries the token in its URL
        except requests.RequestException as error:
            # Unknown whether any item ran: re-read, never resend blindly.
            raise MetaCallFailed(
                type(error).__name__, [ItemError("(batch)", None, "no answer")], transient=True
            ) from None
        self.usage = Usage.from_headers(response.headers())
        outcome = BatchOutcome()
        errors: list[ItemError] = []
        throttled = transient = False
        delays: list[float] = []
        for op, result in zip(operations, response.json(), strict=True):
            if result is None:
                errors.append(ItemError(op.key, None, "no answer for this item (it may have been applied)"))
                transient = True
                continue
            body = json.loads(result.get("body") or "null")
            if int(result.get("code", 0)) == 200 and not (isinstance(body, dict) and "error" in body):
                outcome.ids[op.key] = _created_id(body)
                continue
            graph_error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
            code = graph_error.get("code")
            message = str(graph_error.get("error_user_msg") or graph_error.get("message") or "")
            errors.append(ItemError(op.key, code, message))
            if code in THROTTLE_CODES:
                throttled = True
                delays.append(
                    Usage.from_headers(result.get("headers")).wait_seconds or DEFAULT_THROTTLE_SECONDS
                )
            elif graph_error.get("is_transient") or int(result.get("code", 0)) >= 500:
                transient = True
        if errors:
            raise MetaCallFailed(
                "throttled items" if throttled else ("unanswered items" if transient else "refused items"),
                errors,
                transient=throttled or transient,  # other items ran: re-read and re-plan
                quota_delay=max(delays) if delays else None,
            )
        return outcome

    def _item(self, op: PlanOperation) -> dict[str, Any]:
        if op.action == "remove":
            return {"method": "DELETE", "relative_url": op.resource_name}
        if op.action == "update":
            return {"method": "POST", "relative_url": op.resource_name, "body": _form(op.fields)}
        if op.kind == "adimage":
            data = (self.images_dir / str(op.fields["path"])).read_bytes()
            params: dict[str, Any] = {"bytes": base64.b64encode(data).decode(), "name": op.fields["name"]}
        else:
            params = {name: op.fields[name] for name in _CREATE_FIELDS[op.kind] if name in op.fields}
            if op.kind == "adset":
                params["campaign_id"] = op.refs["campaign"]
            elif op.kind == "ad":
                params["adset_id"] = op.refs["adset"]
                params["creative"] = {"creative_id": op.refs["adcreative"]}
        return {
            "method": "POST",
            "relative_url": f"{self.customer_id}/{_EDGE[op.kind]}",
            "body": _form(params),
        }

    def _check_budgets(self, operations: Sequence[PlanOperation]) -> None:
        """The budget guard (config/budget.yaml caps) over the campaign budgets in this batch."""
        self.guard.check(
            [
                SimpleNamespace(
                    kind="campaign_budget",
                    key=op.key,
                    country=op.country,
                    fields={"amount_micros": int(op.fields["daily_budget"]) * self.minor_micros},
                )
                for op in operations
                if op.kind == META.budget_kind and "daily_budget" in op.fields
            ]
        )


def _form(params: Mapping[str, Any]) -> str:
    return urlencode(
        {k: json.dumps(v) if isinstance(v, dict | list | tuple) else str(v) for k, v in params.items()}
    )


def _created_id(body: Any) -> str:
    if isinstance(body, dict) and "images" in body:
        return ",".join(str(image.get("hash")) for image in body["images"].values())
    return str(body.get("id", "")) if isinstance(body, dict) else ""


def classify(error: FacebookRequestError, key: str) -> MetaCallFailed:
    """A whole request refused: throttled (nothing ran), transient, or refused, with the server's wait."""
    code = error.api_error_code()
    usage = Usage.from_headers(error.http_headers())
    status = f"code {code}" if code is not None else f"HTTP {error.http_status()}"
    item = ItemError(key, code, str(error.api_error_message() or ""))
    if code in THROTTLE_CODES:
        return MetaCallFailed(
            status, [item], quota=True, quota_delay=usage.wait_seconds or DEFAULT_THROTTLE_SECONDS
        )
    transient = bool(error.api_transient_error()) or (error.http_status() or 0) >= 500
    return MetaCallFailed(status, [item], transient=transient)
