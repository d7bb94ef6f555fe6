"""State of the emulated Meta ad accounts: campaigns, ad sets, creatives, ads and report runs.

Every object keeps its versions stamped with the simulated time of each change (status, budget,
targeting, schedule), so delivery can be simulated for any past date range. The whole state is one
JSON file in the state directory, rewritten atomically after each change.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import hashlib
import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ad_emulators import simulation
from ad_emulators.clock import EmulatorClock, as_utc
from ad_emulators.meta import targeting as meta_targeting
from ad_emulators.meta.errors import (
    GraphError,
    invalid_parameter,
    nonexisting_field,
    unsupported_request,
)

STATE_FILE = "meta_state.json"
DEFAULT_ACCOUNT = "act_100000000000001"
FIRST_ID = 120_210_000_000_000_000
STATUSES = ("ACTIVE", "PAUSED", "DELETED", "ARCHIVED")
OBJECTIVES = (
    "OUTCOME_AWARENESS",
    "OUTCOME_TRAFFIC",
    "OUTCOME_ENGAGEMENT",
    "OUTCOME_LEADS",
    "OUTCOME_SALES",
    "OUTCOME_APP_PROMOTION",
)
SPECIAL_AD_CATEGORIES = (
    "NONE",
    "EMPLOYMENT",
    "HOUSING",
    "CREDIT",
    "FINANCIAL_PRODUCTS_SERVICES",
    "ISSUES_ELECTIONS_POLITICS",
    "ONLINE_GAMBLING_AND_GAMING",
)
BUDGET_CHANGES_PER_HOUR = 4
# fields a version keeps: what delivery depends on
TRACKED = ("status", "daily_budget", "lifetime_budget", "targeting", "start_time", "end_time", "creative")

WRITABLE: dict[str, tuple[str, ...]] = {
    "campaign": (
        "name",
        "objective",
        "status",
        "special_ad_categories",
        "special_ad_category_country",
        "daily_budget",
        "lifetime_budget",
        "bid_strategy",
        "buying_type",
        "start_time",
        "stop_time",
    ),
    "adset": (
        "name",
        "campaign_id",
        "status",
        "daily_budget",
        "lifetime_budget",
        "billing_event",
        "optimization_goal",
        "bid_amount",
        "bid_strategy",
        "targeting",
        "start_time",
        "end_time",
        "dsa_beneficiary",
        "dsa_payor",
        "destination_type",
        "promoted_object",
        "pacing_type",
    ),
    "adcreative": ("name", "object_story_spec", "url_tags", "status", "title", "body"),
    "adimage": ("name", "status"),
    "ad": ("name", "adset_id", "creative", "status", "tracking_specs", "conversion_specs"),
}
COMPUTED: dict[str, tuple[str, ...]] = {
    "campaign": ("id", "account_id", "configured_status", "effective_status", "created_time", "updated_time"),
    "adset": (
        "id",
        "account_id",
        "campaign",
        "configured_status",
        "effective_status",
        "created_time",
        "updated_time",
        "budget_remaining",
    ),
    "adcreative": ("id", "account_id", "link_url", "call_to_action_type", "object_type"),
    "adimage": ("id", "account_id", "hash", "url", "width", "height", "created_time", "updated_time"),
    "ad": (
        "id",
        "account_id",
        "campaign_id",
        "campaign",
        "adset",
        "configured_status",
        "effective_status",
        "created_time",
        "updated_time",
    ),
    "adreportrun": (
        "id",
        "account_id",
        "async_status",
        "async_percent_completion",
        "date_start",
        "date_stop",
        "time_ref",
        "time_completed",
        "emails",
        "friendly_name",
        "is_bookmarked",
        "is_running",
        "schedule_id",
        "report_run_id",
    ),
}
ACCOUNT_FIELDS = (
    "id",
    "account_id",
    "name",
    "currency",
    "timezone_name",
    "timezone_offset_hours_utc",
    "account_status",
    "amount_spent",
    "balance",
    "spend_cap",
    "disable_reason",
    "business",
)
NODE_TYPES = {
    "campaign": "Campaign",
    "adset": "AdSet",
    "adcreative": "AdCreative",
    "adimage": "AdImage",
    "ad": "Ad",
    "adreportrun": "AdReportRun",
    "account": "AdAccount",
}


def meta_time(value: dt.datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S+0000")


def parse_time(value: str | int | float) -> dt.datetime:
    if isinstance(value, int | float) or str(value).isdigit():
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    text = str(value).strip()
    if len(text) >= 5 and text[-5] in "+-" and ":" not in text[-5:]:
        text = f"{text[:-2]}:{text[-2:]}"
    return as_utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))


@dataclass(frozen=True)
class AccountSpec:
    name: str = "SafePassage sandbox"
    currency: str = "EUR"


def parse_value(value: Any) -> Any:
    """Form values arrive as strings; lists and objects JSON-encoded (as the SDK sends them)."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _minor_units(params: Mapping[str, Any], key: str, type_name: str) -> int | None:
    if key not in params or params[key] in (None, ""):
        return None
    try:
        amount = int(str(params[key]))
    except ValueError:
        raise invalid_parameter(
            f"{key} must be a whole number of minor currency units", field=(key,)
        ) from None
    if amount < 100:
        raise invalid_parameter(
            f"The {type_name} {key} must be at least 100 (1.00 in the account currency)",
            field=(key,),
            title="Budget too low",
        )
    return amount


class MetaStore:
    def __init__(
        self, state_dir: Path | None, clock: EmulatorClock, accounts: Mapping[str, AccountSpec] | None = None
    ) -> None:
        self.lock = threading.RLock()
        self._one_save = threading.local()  # per request thread: depth of one_save(), and unsaved changes
        self.clock = clock
        self.path = Path(state_dir) / STATE_FILE if state_dir is not None else None
        self.version = 0
        self.data: dict[str, Any] = {"next_id": FIRST_ID, "accounts": {}, "objects": {}}
        if self.path is not None and self.path.exists():
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
        self._add_accounts(accounts)

    def _add_accounts(self, accounts: Mapping[str, AccountSpec] | None) -> None:
        for account_id, spec in (accounts or {DEFAULT_ACCOUNT: AccountSpec()}).items():
            number = account_id.removeprefix("act_")
            self.data["accounts"].setdefault(number, {"name": spec.name, "currency": spec.currency})

    def reset(self, accounts: Mapping[str, AccountSpec] | None = None) -> None:
        self.data = {"next_id": FIRST_ID, "accounts": {}, "objects": {}}
        self._add_accounts(accounts)
        self.save()

    # ------------------------------------------------------------------ persistence
    def save(self) -> None:
        self.version += 1
        if self.path is None:
            return
        if getattr(self._one_save, "depth", 0):
            self._one_save.unsaved = True
            return
        self._write()

    @contextmanager
    def one_save(self) -> Iterator[None]:
        """The changes made inside are written to the state file once, when the block ends: a batch
        of 50 writes it once, not 50 times (each write dumps the whole store). The file is written
        before the request is answered, so what a client was told is on disk."""
        self._one_save.depth = getattr(self._one_save, "depth", 0) + 1
        try:
            yield
        finally:
            self._one_save.depth -= 1
            if not self._one_save.depth and getattr(self._one_save, "unsaved", False):
                self._one_save.unsaved = False
                self._write()

    def _write(self) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        temporary.write_text(json.dumps(self.data), encoding="utf-8")
        temporary.replace(self.path)

    def new_id(self) -> str:
        value = self.data["next_id"]
        self.data["next_id"] = value + 1
        return str(value)

    # ------------------------------------------------------------------ lookups
    def account(self, node: str) -> tuple[str, dict[str, Any]]:
        number = node.removeprefix("act_")
        if not node.startswith("act_") or number not in self.data["accounts"]:
            raise unsupported_request("GET", node)
        return number, self.data["accounts"][number]

    def get(self, object_id: str, method: str = "GET") -> dict[str, Any]:
        found = self.data["objects"].get(object_id)
        if found is None:
            raise unsupported_request(method, object_id)
        return found

    def objects(self, type_name: str, account: str | None = None) -> Iterable[dict[str, Any]]:
        for record in self.data["objects"].values():
            if record["type"] == type_name and (account is None or record["account_id"] == account):
                yield record

    # ------------------------------------------------------------------ writes
    def create(self, type_name: str, account: str, params: Mapping[str, Any]) -> dict[str, Any]:
        fields = {key: parse_value(params[key]) for key in WRITABLE[type_name] if key in params}
        now = self.clock.now()
        record: dict[str, Any] = {
            "id": "",
            "type": type_name,
            "account_id": account,
            "created_time": meta_time(now),
            "updated_time": meta_time(now),
            "fields": fields,
            "versions": [],
            "budget_changes": [],
        }
        validator = getattr(self, f"_validate_{type_name}")
        record["fields"] = validator(account, fields, None)
        record["id"] = self.new_id()
        record["versions"].append({"at": now.isoformat(), **self._tracked(record["fields"])})
        self.data["objects"][record["id"]] = record
        self.save()
        return record

    def upload_image(self, account: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """`POST act_<id>/adimages` with `bytes` (base64): an AdImage named by the MD5 of its bytes.
        The same bytes again return the same image (Meta deduplicates by hash)."""
        try:
            data = base64.b64decode(str(params.get("bytes") or ""), validate=True)
        except (ValueError, binascii.Error):
            raise invalid_parameter("bytes must be the base64 of an image file", field=("bytes",)) from None
        if not data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8")):
            raise invalid_parameter(
                "bytes is not a PNG, JPEG or GIF image", field=("bytes",), title="Invalid image"
            )
        image_hash = hashlib.md5(data, usedforsecurity=False).hexdigest()
        for record in self.objects("adimage", account):
            if record["fields"]["hash"] == image_hash and record["fields"].get("status") != "DELETED":
                return record
        now = self.clock.now()
        name = str(params.get("name") or f"{image_hash}.png")
        image: dict[str, Any] = {
            "id": self.new_id(),
            "type": "adimage",
            "account_id": account,
            "created_time": meta_time(now),
            "updated_time": meta_time(now),
            "fields": {
                "name": name,
                "hash": image_hash,
                "url": f"https://sandbox.invalid/adimages/{image_hash}",
                "status": "ACTIVE",
                "bytes_length": len(data),
            },
            "versions": [],
            "budget_changes": [],
        }
        self.data["objects"][image["id"]] = image
        self.save()
        return image

    def image_hashes(self, account: str) -> set[str]:
        return {
            r["fields"]["hash"]
            for r in self.objects("adimage", account)
            if r["fields"].get("status") != "DELETED"
        }

    def update(self, object_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        record = self.get(object_id, "POST")
        type_name = record["type"]
        if type_name not in WRITABLE:
            raise unsupported_request("POST", object_id)
        if record["fields"].get("status") == "DELETED":
            raise invalid_parameter("This object was deleted and can no longer be edited.", field=("status",))
        changes = {key: parse_value(params[key]) for key in WRITABLE[type_name] if key in params}
        for frozen in ("campaign_id", "adset_id"):
            if frozen in changes and changes[frozen] != record["fields"].get(frozen):
                raise invalid_parameter(f"{frozen} cannot be changed after creation", field=(frozen,))
        merged = {**record["fields"], **changes}
        merged = getattr(self, f"_validate_{type_name}")(record["account_id"], merged, record)
        now = self.clock.now()
        self._check_budget_rule(record, merged, now)
        record["fields"] = merged
        record["updated_time"] = meta_time(now)
        tracked = self._tracked(merged)
        if any(record["versions"][-1].get(key) != value for key, value in tracked.items()):
            record["versions"].append({"at": now.isoformat(), **tracked})
        self.save()
        return record

    def delete(self, object_id: str) -> None:
        self.update(object_id, {"status": "DELETED"})

    @staticmethod
    def _tracked(fields: Mapping[str, Any]) -> dict[str, Any]:
        return {key: copy.deepcopy(fields[key]) for key in TRACKED if key in fields}

    def _check_budget_rule(self, record: dict[str, Any], merged: Mapping[str, Any], now: dt.datetime) -> None:
        if record["type"] not in ("adset", "campaign"):
            return
        before = record["fields"]
        changed = any(
            str(merged.get(key)) != str(before.get(key)) for key in ("daily_budget", "lifetime_budget")
        )
        if not changed:
            return
        hour_ago = now - dt.timedelta(hours=1)
        recent = [at for at in record["budget_changes"] if dt.datetime.fromisoformat(at) > hour_ago]
        if len(recent) >= BUDGET_CHANGES_PER_HOUR:
            raise GraphError(
                "(#17) User request limit reached",
                code=17,
                is_transient=True,
                user_title="Budget change limit reached",
                user_message=(
                    f"The budget of this {'ad set' if record['type'] == 'adset' else 'campaign'} was already "
                    f"changed {len(recent)} times in the last hour; at most {BUDGET_CHANGES_PER_HOUR} "
                    "changes an hour are allowed. Try again later."
                ),
            )
        record["budget_changes"] = [*recent, now.isoformat()]

    # ------------------------------------------------------------------ validation per type
    def _status(self, fields: dict[str, Any], default: str) -> None:
        status = fields.setdefault("status", default)
        if status not in STATUSES:
            raise invalid_parameter(f"status must be one of {', '.join(STATUSES)}", field=("status",))

    def _validate_campaign(self, account: str, fields: dict[str, Any], existing: Any) -> dict[str, Any]:
        if "special_ad_categories" not in fields:
            raise GraphError(
                "(#100) The parameter special_ad_categories is required",
                user_title="Special ad categories required",
                user_message="Declare special_ad_categories on every campaign ([] or NONE if none applies).",
                blame_field=("special_ad_categories",),
            )
        categories = fields["special_ad_categories"]
        if not isinstance(categories, list) or not set(categories) <= set(SPECIAL_AD_CATEGORIES):
            raise invalid_parameter(
                f"special_ad_categories accepts {list(SPECIAL_AD_CATEGORIES)}",
                field=("special_ad_categories",),
            )
        if not fields.get("name"):
            raise invalid_parameter("A campaign needs a name", field=("name",))
        if fields.get("objective") not in OBJECTIVES:
            raise invalid_parameter(f"objective must be one of {', '.join(OBJECTIVES)}", field=("objective",))
        self._status(fields, "ACTIVE")
        for key in ("daily_budget", "lifetime_budget"):
            amount = _minor_units(fields, key, "campaign")
            if amount is not None:
                fields[key] = str(amount)
        return fields

    def _validate_adset(self, account: str, fields: dict[str, Any], existing: Any) -> dict[str, Any]:
        if not fields.get("name"):
            raise invalid_parameter("An ad set needs a name", field=("name",))
        campaign = self.data["objects"].get(str(fields.get("campaign_id", "")))
        if campaign is None or campaign["type"] != "campaign" or campaign["account_id"] != account:
            raise invalid_parameter(
                "campaign_id must name a campaign of this ad account", field=("campaign_id",)
            )
        fields["campaign_id"] = campaign["id"]
        if campaign["fields"].get("status") == "DELETED":
            raise invalid_parameter("The campaign was deleted", field=("campaign_id",))
        if "targeting" not in fields:
            raise invalid_parameter("An ad set needs targeting", field=("targeting",))
        fields["targeting"] = meta_targeting.validate(fields["targeting"])
        has_campaign_budget = any(campaign["fields"].get(key) for key in ("daily_budget", "lifetime_budget"))
        budgets = {key: _minor_units(fields, key, "ad set") for key in ("daily_budget", "lifetime_budget")}
        if has_campaign_budget and any(budgets.values()):
            raise invalid_parameter(
                "The campaign has a budget; its ad sets cannot have their own", field=("daily_budget",)
            )
        if not has_campaign_budget and not any(budgets.values()):
            raise invalid_parameter(
                "Your ad set must have a daily_budget or a lifetime_budget",
                field=("daily_budget",),
                title="Budget required",
            )
        if all(budgets.values()):
            raise invalid_parameter(
                "Give a daily_budget or a lifetime_budget, not both", field=("lifetime_budget",)
            )
        for key, amount in budgets.items():
            if amount is not None:
                fields[key] = str(amount)
        if budgets["lifetime_budget"] and not fields.get("end_time"):
            raise invalid_parameter("An ad set with a lifetime_budget needs an end_time", field=("end_time",))
        for key in ("start_time", "end_time"):
            if fields.get(key):
                try:
                    fields[key] = meta_time(parse_time(fields[key]))
                except ValueError:
                    raise invalid_parameter(f"{key} must be an ISO 8601 time", field=(key,)) from None
        if fields.get("start_time") and fields.get("end_time") and fields["end_time"] <= fields["start_time"]:
            raise invalid_parameter("end_time must be after start_time", field=("end_time",))
        if meta_targeting.targets_eu(fields["targeting"]) and not (
            fields.get("dsa_beneficiary") and fields.get("dsa_payor")
        ):
            raise invalid_parameter(
                "Ads that target the European Union must name who benefits from them and who pays for them "
                "(dsa_beneficiary and dsa_payor).",
                field=("dsa_beneficiary",),
                title="Beneficiary and payer required",
            )
        fields.setdefault("billing_event", "IMPRESSIONS")
        fields.setdefault("optimization_goal", "REACH")
        fields.setdefault("start_time", meta_time(self.clock.now()))
        self._status(fields, "ACTIVE")
        return fields

    def _validate_adcreative(self, account: str, fields: dict[str, Any], existing: Any) -> dict[str, Any]:
        spec = fields.get("object_story_spec")
        if not isinstance(spec, dict) or not spec.get("page_id"):
            raise invalid_parameter(
                "object_story_spec with a page_id is required", field=("object_story_spec",)
            )
        link_data = spec.get("link_data")
        if not isinstance(link_data, dict):
            raise invalid_parameter(
                "object_story_spec.link_data is required for link ads",
                field=("object_story_spec", "link_data"),
            )
        link = str(link_data.get("link", ""))
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise invalid_parameter(
                "link_data.link must be a full http(s) URL", field=("object_story_spec", "link_data", "link")
            )
        image_hash = link_data.get("image_hash")
        if image_hash is not None and image_hash not in self.image_hashes(account):
            raise invalid_parameter(
                f"Image with hash {image_hash} is not in this ad account's image library",
                field=("object_story_spec", "link_data", "image_hash"),
                title="Invalid image hash",
            )
        action = link_data.get("call_to_action")
        if action is not None and (not isinstance(action, dict) or not action.get("type")):
            raise invalid_parameter(
                "call_to_action needs a type", field=("object_story_spec", "link_data", "call_to_action")
            )
        self._status(fields, "ACTIVE")
        return fields

    def _validate_adimage(self, account: str, fields: dict[str, Any], existing: Any) -> dict[str, Any]:
        self._status(fields, "ACTIVE")
        return fields

    def _validate_ad(self, account: str, fields: dict[str, Any], existing: Any) -> dict[str, Any]:
        if not fields.get("name"):
            raise invalid_parameter("An ad needs a name", field=("name",))
        adset = self.data["objects"].get(str(fields.get("adset_id", "")))
        if adset is None or adset["type"] != "adset" or adset["account_id"] != account:
            raise invalid_parameter("adset_id must name an ad set of this ad account", field=("adset_id",))
        fields["adset_id"] = adset["id"]
        creative = fields.get("creative")
        creative_id = creative.get("creative_id") if isinstance(creative, dict) else None
        found = self.data["objects"].get(str(creative_id))
        if found is None or found["type"] != "adcreative" or found["account_id"] != account:
            raise invalid_parameter(
                'creative must be {"creative_id": <id of a creative of this account>}', field=("creative",)
            )
        fields["creative"] = {"creative_id": found["id"]}
        self._status(fields, "ACTIVE")
        return fields

    # ------------------------------------------------------------------ reads
    def effective_status(self, record: Mapping[str, Any]) -> str:
        status = record["fields"].get("status", "ACTIVE")
        if status in ("DELETED", "ARCHIVED") or record["type"] not in ("adset", "ad"):
            return status
        if record["type"] == "ad":
            adset = self.data["objects"][record["fields"]["adset_id"]]
            parent = self.effective_status(adset)
            if parent != "ACTIVE":
                return parent if parent in ("CAMPAIGN_PAUSED", "ADSET_PAUSED") else "ADSET_PAUSED"
            return status
        campaign = self.data["objects"][record["fields"]["campaign_id"]]
        if campaign["fields"].get("status") != "ACTIVE":
            return "CAMPAIGN_PAUSED"
        return status

    def render(self, record: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
        type_name = record["type"]
        known = set(WRITABLE.get(type_name, ())) | set(COMPUTED[type_name])
        out: dict[str, Any] = {}
        for name in fields:
            if name not in known:
                raise nonexisting_field(name, NODE_TYPES[type_name])
            value = self._field(record, name)
            if value is not None:
                out[name] = value
        out["id"] = record["id"]
        return out

    def _field(self, record: Mapping[str, Any], name: str) -> Any:
        fields = record["fields"]
        if name == "id":
            return record["id"]
        if name == "account_id":
            return record["account_id"]
        if name in ("created_time", "updated_time"):
            return record.get(name)
        if name == "configured_status":
            return fields.get("status")
        if name == "effective_status":
            return self.effective_status(record)
        if name == "campaign":
            campaign_id = (
                fields.get("campaign_id") or self.data["objects"][fields["adset_id"]]["fields"]["campaign_id"]
            )
            return {"id": campaign_id}
        if name == "campaign_id" and record["type"] == "ad":
            return self.data["objects"][fields["adset_id"]]["fields"]["campaign_id"]
        if name == "adset":
            return {"id": fields["adset_id"]}
        if name == "creative":
            return {"id": fields["creative"]["creative_id"]}
        if name == "budget_remaining":
            return fields.get("daily_budget") or fields.get("lifetime_budget") or "0"
        if record["type"] == "adcreative":
            link_data = fields.get("object_story_spec", {}).get("link_data", {})
            if name == "link_url":
                return link_data.get("link")
            if name == "call_to_action_type":
                return (link_data.get("call_to_action") or {}).get("type")
            if name == "object_type":
                return "SHARE"
        value = fields.get(name)
        if (
            name in ("daily_budget", "lifetime_budget")
            and value is None
            and record["type"] in ("adset", "campaign")
        ):
            return "0"
        return value

    def render_account(self, number: str, fields: Iterable[str]) -> dict[str, Any]:
        account = self.data["accounts"][number]
        values = {
            "id": f"act_{number}",
            "account_id": number,
            "name": account["name"],
            "currency": account["currency"],
            "timezone_name": "Etc/UTC",
            "timezone_offset_hours_utc": 0,
            "account_status": 1,
            "amount_spent": "0",
            "balance": "0",
            "spend_cap": "0",
            "disable_reason": 0,
        }
        out = {}
        for name in fields:
            if name not in ACCOUNT_FIELDS:
                raise nonexisting_field(name, "AdAccount")
            if name in values:
                out[name] = values[name]
        out["id"] = values["id"]
        return out

    # ------------------------------------------------------------------ delivery
    def serving_units(self, account: str) -> list[simulation.ServingUnit]:
        """Every ad of the account as the simulation sees it, with its full simulated history."""
        currency = self.data["accounts"][account]["currency"]
        units = []
        for ad in self.objects("ad", account):
            adset = self.data["objects"][ad["fields"]["adset_id"]]
            campaign = self.data["objects"][adset["fields"]["campaign_id"]]
            creative = self.data["objects"][ad["fields"]["creative"]["creative_id"]]
            history = _unit_history(ad, adset, campaign)
            if not history:
                continue
            link_data = creative["fields"]["object_story_spec"]["link_data"]
            text = " | ".join(
                str(part)
                for part in (
                    link_data.get("message"),
                    link_data.get("name"),
                    link_data.get("description"),
                    (link_data.get("call_to_action") or {}).get("type"),
                )
                if part
            )
            uses_campaign_budget = any(
                campaign["fields"].get(key) for key in ("daily_budget", "lifetime_budget")
            )
            units.append(
                simulation.ServingUnit(
                    platform="meta",
                    ad_id=ad["id"],
                    budget_id=campaign["id"] if uses_campaign_budget else adset["id"],
                    final_url=str(link_data.get("link", "")),
                    history=tuple(history),
                    creative_text=text,
                    campaign_id=campaign["id"],
                    group_id=adset["id"],
                    currency=currency,
                    ad_key=_name_path(campaign, adset, ad),
                    budget_key=_name_path(campaign) if uses_campaign_budget else _name_path(campaign, adset),
                )
            )
        return units


def _name_path(*records: Mapping[str, Any]) -> str:
    """Where an object sits, by names (unique within an account), the same whatever ids it got."""
    return "/".join(f"{record['type']}:{record['fields'].get('name', record['id'])}" for record in records)


def _state_at(record: Mapping[str, Any], at: dt.datetime) -> dict[str, Any] | None:
    # versions are in write order; a clock set backwards can make simulated times non-monotonic
    current: dict[str, Any] | None = None
    current_at: dt.datetime | None = None
    for version in record["versions"]:
        version_at = dt.datetime.fromisoformat(version["at"])
        if version_at <= at and (current_at is None or version_at >= current_at):
            current, current_at = version, version_at
    return current


def _budget(adset: Mapping[str, Any] | None, campaign: Mapping[str, Any] | None) -> int:
    for version in (campaign, adset):
        if not version:
            continue
        if version.get("daily_budget"):
            return int(version["daily_budget"])
        if version.get("lifetime_budget") and version.get("end_time") and version.get("start_time"):
            days = max(
                1.0,
                (parse_time(version["end_time"]) - parse_time(version["start_time"])).total_seconds() / 86400,
            )
            return int(int(version["lifetime_budget"]) / days)
    return 0


def _unit_history(
    ad: Mapping[str, Any], adset: Mapping[str, Any], campaign: Mapping[str, Any]
) -> list[simulation.UnitState]:
    moments = {
        dt.datetime.fromisoformat(v["at"]) for record in (ad, adset, campaign) for v in record["versions"]
    }
    for version in adset["versions"]:
        for key in ("start_time", "end_time"):
            if version.get(key):
                moments.add(parse_time(version[key]))
    history: list[simulation.UnitState] = []
    for moment in sorted(moments):
        ad_state, adset_state, campaign_state = (
            _state_at(record, moment) for record in (ad, adset, campaign)
        )
        if adset_state is None or ad_state is None or campaign_state is None:
            continue
        states = (ad_state, adset_state, campaign_state)
        scheduled = parse_time(adset_state.get("start_time") or moment.isoformat()) <= moment and (
            not adset_state.get("end_time") or moment < parse_time(adset_state["end_time"])
        )
        active = scheduled and all(state.get("status", "ACTIVE") == "ACTIVE" for state in states)
        history.append(
            simulation.UnitState(
                since=moment,
                active=active,
                daily_budget_minor=_budget(adset_state, campaign_state),
                targeting=meta_targeting.to_simulation(adset_state["targeting"]),
            )
        )
    return history
