"""Per-customer state of the Google Ads emulator and the mutate rules the real API enforces.

Resources are kept as raw protobuf messages (the classes shipped in the google-ads wheel) keyed by
resource name. A mutate runs in a `Transaction` that overlays pending writes on the committed state:
each operation is validated completely before it writes, so a failed operation leaves no trace
(partial failure) and an atomic request simply drops the overlay. Name uniqueness is kept in
indexes so an operation costs O(1) however large the account is.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.ads.googleads.v26.enums.types import (
    ad_group_ad_status,
    ad_group_status,
    ad_group_type,
    budget_delivery_method,
    budget_period,
    budget_status,
    campaign_status,
    conversion_action_category,
    conversion_action_status,
    conversion_action_type,
    criterion_type,
    eu_political_advertising_status,
    label_status,
)
from google.ads.googleads.v26.resources.types import (
    ad,
    ad_group,
    ad_group_ad,
    ad_group_criterion,
    campaign,
    campaign_budget,
    campaign_criterion,
    campaign_label,
    conversion_action,
    customer,
    label,
)
from google.ads.googleads.v26.services.types import (
    ad_group_ad_service,
    ad_group_criterion_service,
    ad_group_service,
    ad_service,
    campaign_budget_service,
    campaign_criterion_service,
    campaign_label_service,
    campaign_service,
    conversion_action_service,
    label_service,
)
from google.protobuf.message import Message

from ad_emulators.google_ads.constants import (
    COUNTRY_BY_GEO_ID,
    GEO_TARGET_PREFIX,
    LANGUAGE_BY_ID,
    LANGUAGE_PREFIX,
)
from ad_emulators.google_ads.errors import AdsError, PathElement

MAX_MUTATE_OPERATIONS = 10_000
MIN_CURRENCY_UNIT_MICROS = 10_000  # EUR: amounts are whole cents

CampaignStatus = campaign_status.CampaignStatusEnum.CampaignStatus
AdGroupStatus = ad_group_status.AdGroupStatusEnum.AdGroupStatus
AdGroupAdStatus = ad_group_ad_status.AdGroupAdStatusEnum.AdGroupAdStatus
BudgetStatus = budget_status.BudgetStatusEnum.BudgetStatus
LabelStatus = label_status.LabelStatusEnum.LabelStatus
ConversionActionStatus = conversion_action_status.ConversionActionStatusEnum.ConversionActionStatus
CriterionType = criterion_type.CriterionTypeEnum.CriterionType
EuPolitical = eu_political_advertising_status.EuPoliticalAdvertisingStatusEnum.EuPoliticalAdvertisingStatus

ENABLED = 2  # the same number in every status enum used here; REMOVED is not (3 or 4)


@dataclass(frozen=True)
class ResourceKind:
    name: str  # snake_case resource name, as in GAQL FROM and MutateOperation fields
    collection: str  # the resource-name collection, e.g. "campaignBudgets"
    pb: type[Message]
    service: str
    method: str
    request_pb: type[Message]
    response_pb: type[Message]
    result_pb: type[Message]
    composite: bool = False  # resource id is "{parent_id}~{id}"
    deleted_on_remove: bool = False  # criteria and label links vanish; the rest turn REMOVED

    @property
    def operation_field(self) -> str:
        return f"{self.name}_operation"

    @property
    def result_field(self) -> str:
        return f"{self.name}_result"


def _kind(
    name: str, collection: str, resource: Any, service_module: Any, service: str, plural: str, **options: Any
) -> ResourceKind:
    singular = plural[:-1] if not plural.endswith("Criteria") else plural[:-1] + "on"
    return ResourceKind(
        name=name,
        collection=collection,
        pb=resource.pb(),
        service=service,
        method=f"Mutate{plural}",
        request_pb=getattr(service_module, f"Mutate{plural}Request").pb(),
        response_pb=getattr(service_module, f"Mutate{plural}Response").pb(),
        result_pb=getattr(service_module, f"Mutate{singular}Result").pb(),
        **options,
    )


KINDS: dict[str, ResourceKind] = {
    kind.name: kind
    for kind in (
        _kind(
            "campaign_budget",
            "campaignBudgets",
            campaign_budget.CampaignBudget,
            campaign_budget_service,
            "CampaignBudgetService",
            "CampaignBudgets",
        ),
        _kind("campaign", "campaigns", campaign.Campaign, campaign_service, "CampaignService", "Campaigns"),
        _kind("ad_group", "adGroups", ad_group.AdGroup, ad_group_service, "AdGroupService", "AdGroups"),
        _kind(
            "ad_group_ad",
            "adGroupAds",
            ad_group_ad.AdGroupAd,
            ad_group_ad_service,
            "AdGroupAdService",
            "AdGroupAds",
            composite=True,
        ),
        _kind(
            "campaign_criterion",
            "campaignCriteria",
            campaign_criterion.CampaignCriterion,
            campaign_criterion_service,
            "CampaignCriterionService",
            "CampaignCriteria",
            composite=True,
            deleted_on_remove=True,
        ),
        _kind("label", "labels", label.Label, label_service, "LabelService", "Labels"),
        _kind(
            "campaign_label",
            "campaignLabels",
            campaign_label.CampaignLabel,
            campaign_label_service,
            "CampaignLabelService",
            "CampaignLabels",
            composite=True,
            deleted_on_remove=True,
        ),
        _kind(
            "ad_group_criterion",
            "adGroupCriteria",
            ad_group_criterion.AdGroupCriterion,
            ad_group_criterion_service,
            "AdGroupCriterionService",
            "AdGroupCriteria",
            composite=True,
            deleted_on_remove=True,
        ),
        # Ads live inside ad group ads; AdService only updates them (e.g. new RSA texts).
        _kind("ad", "ads", ad.Ad, ad_service, "AdService", "Ads"),
        _kind(
            "conversion_action",
            "conversionActions",
            conversion_action.ConversionAction,
            conversion_action_service,
            "ConversionActionService",
            "ConversionActions",
        ),
    )
}
KIND_BY_COLLECTION = {kind.collection: kind for kind in KINDS.values()}
CustomerPb = customer.Customer.pb()


class OperationFailed(Exception):
    def __init__(self, *errors: AdsError) -> None:
        super().__init__("; ".join(f"{e.category}.{e.code}" for e in errors))
        self.errors = list(errors)


def _fail(category: str, code: str, message: str, *path: str | PathElement) -> OperationFailed:
    elements = tuple(p if isinstance(p, tuple) else (p, None) for p in path)
    return OperationFailed(AdsError(category, code, message, elements))


def resource_id(resource_name: str) -> str:
    return resource_name.rsplit("/", 1)[-1]


@dataclass
class CustomerState:
    customer_id: str
    descriptive_name: str
    currency_code: str = "EUR"
    time_zone: str = "Europe/Warsaw"
    resources: dict[str, dict[str, Message]] = field(default_factory=lambda: {k: {} for k in KINDS})
    # index name -> key -> owning resource name
    names: dict[str, dict[Any, str]] = field(default_factory=dict)
    # resource name -> [(sandbox time ISO, snapshot)] for the fields serving depends on
    history: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)

    def customer_pb(self) -> Message:
        message = CustomerPb(
            resource_name=f"customers/{self.customer_id}",
            id=int(self.customer_id),
            descriptive_name=self.descriptive_name,
            currency_code=self.currency_code,
            time_zone=self.time_zone,
            manager=False,
            test_account=True,
        )
        message.status = ENABLED
        return message


def _snapshot(kind: str, message: Any) -> dict[str, Any] | None:
    """The fields the delivery simulation needs, recorded with the sandbox time of each change."""
    if kind == "campaign":
        return {
            "status": int(message.status),
            "budget": message.campaign_budget,
            "start": message.start_date_time,
            "end": message.end_date_time,
        }
    if kind == "campaign_budget":
        return {"status": int(message.status), "amount_micros": int(message.amount_micros)}
    if kind in ("ad_group", "ad_group_ad"):
        return {"status": int(message.status)}
    return None


class Transaction:
    """Pending writes of one mutate request over one customer's committed state."""

    def __init__(self, store: GoogleAdsStore, state: CustomerState) -> None:
        self.store = store
        self.state = state
        self.customer_id = state.customer_id
        self.pending: dict[tuple[str, str], Message | None] = {}
        self.pending_names: dict[tuple[str, Any], str | None] = {}
        self.temporary: dict[str, str] = {}

    # -- overlay reads and writes ------------------------------------------------------------------
    def get(self, kind: str, name: str) -> Any:
        key = (kind, name)
        if key in self.pending:
            return self.pending[key]
        return self.state.resources[kind].get(name)

    def put(self, kind: str, name: str, message: Message | None) -> None:
        self.pending[(kind, name)] = message

    def name_owner(self, index: str, key: Any) -> str | None:
        if (index, key) in self.pending_names:
            return self.pending_names[(index, key)]
        return self.state.names.get(index, {}).get(key)

    def claim(self, index: str, key: Any, owner: str | None) -> None:
        self.pending_names[(index, key)] = owner

    def commit(self, now: dt.datetime) -> None:
        stamp = now.isoformat()
        for (kind, name), message in self.pending.items():
            bucket = self.state.resources[kind]
            if message is None:
                bucket.pop(name, None)
                continue
            bucket[name] = message
            snapshot = _snapshot(kind, message)
            if snapshot is not None:
                entries = self.state.history.setdefault(name, [])
                if not entries or entries[-1][1] != snapshot:
                    entries.append((stamp, snapshot))
        for (index, key), owner in self.pending_names.items():
            names = self.state.names.setdefault(index, {})
            if owner is None:
                names.pop(key, None)
            else:
                names[key] = owner

    # -- resource names ----------------------------------------------------------------------------
    def new_name(self, kind: ResourceKind, *parts: int) -> str:
        return f"customers/{self.customer_id}/{kind.collection}/{'~'.join(str(p) for p in parts)}"

    def resolve(self, reference: str, expected: str, *path: str) -> str:
        """A reference to another resource, with temporary names of this request replaced."""
        if reference in self.temporary:
            return self.temporary[reference]
        kind = KINDS[expected]
        prefix = f"customers/{self.customer_id}/{kind.collection}/"
        if not reference.startswith(prefix):
            raise _fail(
                "request_error", "RESOURCE_NAME_MALFORMED", f"Malformed resource name {reference!r}.", *path
            )
        if any(part.startswith("-") for part in resource_id(reference).split("~")):
            raise _fail(
                "mutate_error",
                "RESOURCE_NOT_FOUND",
                f"Temporary resource name {reference!r} was not created earlier in this request.",
                *path,
            )
        return reference

    def existing(self, reference: str, expected: str, *path: str, allow_removed: bool = False) -> Any:
        name = self.resolve(reference, expected, *path)
        message = self.get(expected, name)
        if message is None:
            raise _fail("mutate_error", "RESOURCE_NOT_FOUND", f"Resource {name!r} was not found.", *path)
        if not allow_removed and _removed(message):
            raise _fail(
                "operation_access_denied_error",
                "OPERATION_NOT_PERMITTED_FOR_REMOVED_RESOURCE",
                f"Resource {name!r} is removed.",
                *path,
            )
        return message

    def check_requested_name(self, requested: str, kind: ResourceKind, *path: str) -> None:
        """A create may only name itself with a temporary (negative) id, once per request."""
        if not requested:
            return
        prefix = f"customers/{self.customer_id}/{kind.collection}/"
        if not requested.startswith(prefix):
            raise _fail(
                "request_error", "RESOURCE_NAME_MALFORMED", f"Malformed resource name {requested!r}.", *path
            )
        identifier = resource_id(requested)
        if not identifier.startswith("-"):
            raise _fail(
                "mutate_error",
                "INCONSISTENT_FIELD_VALUES",
                "Only a temporary (negative) id may be given when creating.",
                *path,
            )
        if requested in self.temporary:
            raise _fail(
                "mutate_error",
                "ID_EXISTS_IN_MULTIPLE_MUTATES",
                f"Temporary id {identifier} is used twice in this request.",
                *path,
            )

    def bind_temporary(self, requested: str, real: str) -> None:
        if requested:
            self.temporary[requested] = real


def _removed_value(message: Any) -> int | None:
    status = message.DESCRIPTOR.fields_by_name.get("status")
    return None if status is None else int(status.enum_type.values_by_name["REMOVED"].number)


def _removed(message: Any) -> bool:
    value = _removed_value(message)
    return value is not None and int(message.status) == value


def _check_length(text: str, limit: int, *path: str | PathElement, minimum: int = 1) -> None:
    if len(text) < minimum:
        raise _fail("string_length_error", "EMPTY" if not text else "TOO_SHORT", "Text is too short.", *path)
    if len(text) > limit:
        raise _fail("string_length_error", "TOO_LONG", f"Text is longer than {limit} characters.", *path)


# ---- per-resource rules: each returns the message to store, raising OperationFailed first -------------
Validator = Callable[[Transaction, Any, Any, bool], None]


def _unique(tx: Transaction, index: str, key: Any, owner: str, old_key: Any, error: OperationFailed) -> None:
    """Check, then claim: call it after every other check of the operation."""
    holder = tx.name_owner(index, key)
    if holder is not None and holder != owner:
        raise error
    _claim(tx, index, key, owner, old_key)


def _claim(tx: Transaction, index: str, key: Any, owner: str, old_key: Any) -> None:
    if old_key is not None and old_key != key:
        _release(tx, index, old_key, owner)
    tx.claim(index, key, owner)


def _release(tx: Transaction, index: str, key: Any, owner: str) -> None:
    if tx.name_owner(index, key) == owner:
        tx.claim(index, key, None)


def _budget(tx: Transaction, new: Any, old: Any, creating: bool) -> None:
    if creating and not new.HasField("amount_micros"):
        raise _fail("field_error", "REQUIRED", "The required field was not present.", "amount_micros")
    amount = int(new.amount_micros)
    if amount < 0:
        raise _fail(
            "campaign_budget_error", "NEGATIVE_MONEY_AMOUNT", "Budget amount is negative.", "amount_micros"
        )
    if amount < MIN_CURRENCY_UNIT_MICROS:
        raise _fail(
            "campaign_budget_error",
            "MONEY_AMOUNT_LESS_THAN_CURRENCY_MINIMUM_CPC",
            "Budget amount is below the currency minimum.",
            "amount_micros",
        )
    if amount % MIN_CURRENCY_UNIT_MICROS:
        raise _fail(
            "campaign_budget_error",
            "NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT",
            "Budget amount must be a multiple of the minimum currency unit.",
            "amount_micros",
        )
    if new.name:
        _check_length(new.name, 255, "name")
    if creating:
        new.status = ENABLED
        if not new.delivery_method:
            new.delivery_method = (
                budget_delivery_method.BudgetDeliveryMethodEnum.BudgetDeliveryMethod.STANDARD
            )
        if not new.period:
            new.period = budget_period.BudgetPeriodEnum.BudgetPeriod.DAILY
        if not new.HasField("explicitly_shared"):
            new.explicitly_shared = True
    if new.name and not _removed(new):
        _unique(
            tx,
            "campaign_budget",
            new.name,
            new.resource_name,
            old.name if old is not None else None,
            _fail("campaign_budget_error", "DUPLICATE_NAME", "Budget name is already in use.", "name"),
        )


def _campaign(tx: Transaction, new: Any, old: Any, creating: bool) -> None:
    if not new.name:
        raise _fail("field_error", "REQUIRED", "The required field was not present.", "name")
    _check_length(new.name, 255, "name")
    if creating:
        if not new.contains_eu_political_advertising:
            raise _fail(
                "field_error",
                "REQUIRED",
                "The required field was not present: contains_eu_political_advertising.",
                "contains_eu_political_advertising",
            )
        if not new.advertising_channel_type:
            raise _fail(
                "field_error", "REQUIRED", "The required field was not present.", "advertising_channel_type"
            )
        if not new.campaign_budget:
            raise _fail("field_error", "REQUIRED", "The required field was not present.", "campaign_budget")
        if not new.status:
            new.status = ENABLED
    if old is not None and _removed(old):
        raise _fail(
            "operation_access_denied_error",
            "OPERATION_NOT_PERMITTED_FOR_REMOVED_RESOURCE",
            "The campaign is removed.",
        )
    budget_changed = old is not None and new.campaign_budget != old.campaign_budget
    if creating or budget_changed:
        new.campaign_budget = tx.resolve(new.campaign_budget, "campaign_budget", "campaign_budget")
        budget = tx.existing(new.campaign_budget, "campaign_budget", "campaign_budget", allow_removed=True)
        if _removed(budget):
            raise _fail(
                "campaign_budget_error",
                "CAMPAIGN_BUDGET_REMOVED",
                "The budget is removed.",
                "campaign_budget",
            )
    else:
        budget = tx.get("campaign_budget", new.campaign_budget)
    new.missing_eu_political_advertising_declaration = not new.contains_eu_political_advertising
    # Names are unique among all campaigns of the account, removed ones included.
    holder = tx.name_owner("campaign", new.name)
    if holder is not None and holder != new.resource_name:
        raise _fail(
            "campaign_error", "DUPLICATE_CAMPAIGN_NAME", "A campaign with this name already exists.", "name"
        )
    # A budget that is not explicitly shared serves one campaign at most.
    implicit = budget is not None and not budget.explicitly_shared and not _removed(new)
    user = tx.name_owner("budget_user", new.campaign_budget) if implicit else None
    if user is not None and user != new.resource_name:
        raise _fail(
            "campaign_budget_error",
            "CANNOT_USE_IMPLICITLY_SHARED_CAMPAIGN_BUDGET_WITH_MULTIPLE_CAMPAIGNS",
            "This budget is not shared and already serves another campaign.",
            "campaign_budget",
        )
    _claim(tx, "campaign", new.name, new.resource_name, old.name if old is not None else None)
    if old is not None and (budget_changed or _removed(new)):
        _release(tx, "budget_user", old.campaign_budget, new.resource_name)
    if implicit:
        tx.claim("budget_user", new.campaign_budget, new.resource_name)


def _ad_group(tx: Transaction, new: Any, old: Any, creating: bool) -> None:
    if creating:
        if not new.campaign:
            raise _fail("field_error", "REQUIRED", "The required field was not present.", "campaign")
        new.campaign = tx.resolve(new.campaign, "campaign", "campaign")
        tx.existing(new.campaign, "campaign", "campaign")
        if not new.status:
            new.status = ENABLED
        if not new.type_:
            new.type_ = ad_group_type.AdGroupTypeEnum.AdGroupType.SEARCH_STANDARD
    elif new.campaign != old.campaign:
        raise _fail("field_error", "IMMUTABLE_FIELD", "The field cannot be modified.", "campaign")
    if not new.name:
        raise _fail("ad_group_error", "MISSING_ADGROUP_NAME", "The ad group name is missing.", "name")
    _check_length(new.name, 255, "name")
    key, old_key = (new.campaign, new.name), (old.campaign, old.name) if old is not None else None
    if _removed(new):
        if old_key is not None and tx.name_owner("ad_group", old_key) == new.resource_name:
            tx.claim("ad_group", old_key, None)
        return
    _unique(
        tx,
        "ad_group",
        key,
        new.resource_name,
        old_key,
        _fail(
            "ad_group_error",
            "DUPLICATE_ADGROUP_NAME",
            "An ad group with this name exists in the campaign.",
            "name",
        ),
    )


def _responsive_search_ad(rsa: Any, base: tuple[str, ...] = ("ad", "responsive_search_ad")) -> None:
    for field_name, low, high, limit in (("headlines", 3, 15, 30), ("descriptions", 2, 4, 90)):
        items = getattr(rsa, field_name)
        if len(items) < low:
            raise _fail("collection_size_error", "TOO_FEW", f"Too few {field_name}.", *base, field_name)
        if len(items) > high:
            raise _fail("collection_size_error", "TOO_MANY", f"Too many {field_name}.", *base, field_name)
        for index, asset in enumerate(items):
            _check_length(asset.text, limit, *base, (field_name, index), "text")
    for path_field in ("path1", "path2"):
        _check_length(getattr(rsa, path_field), 15, *base, path_field, minimum=0)
    if rsa.path2 and not rsa.path1:
        raise _fail(
            "ad_error", "CANNOT_SET_PATH2_WITHOUT_PATH1", "path2 is set without path1.", *base, "path2"
        )


def _ad_group_ad(tx: Transaction, new: Any, old: Any, creating: bool) -> None:
    if creating:
        if not new.ad_group:
            raise _fail("field_error", "REQUIRED", "The required field was not present.", "ad_group")
        new.ad_group = tx.resolve(new.ad_group, "ad_group", "ad_group")
        tx.existing(new.ad_group, "ad_group", "ad_group")
        if not new.HasField("ad"):
            raise _fail("field_error", "REQUIRED", "The required field was not present.", "ad")
        if new.ad.WhichOneof("ad_data") != "responsive_search_ad":
            raise _fail("ad_error", "INVALID_AD_TYPE", "Only responsive search ads are supported.", "ad")
        if not new.ad.final_urls:
            raise _fail(
                "ad_error", "CANNOT_SET_WITHOUT_FINAL_URLS", "An ad needs final URLs.", "ad", "final_urls"
            )
        if not new.status:
            new.status = ENABLED
    elif new.ad != old.ad:
        raise _fail("field_error", "IMMUTABLE_FIELD", "The ad of an ad group ad cannot be modified.", "ad")
    _responsive_search_ad(new.ad.responsive_search_ad)


def _campaign_criterion(tx: Transaction, new: Any, old: Any, creating: bool) -> None:
    if not creating:
        if new.campaign != old.campaign or new.WhichOneof("criterion") != old.WhichOneof("criterion"):
            raise _fail("field_error", "IMMUTABLE_FIELD", "The criterion cannot be modified.")
        return
    if not new.campaign:
        raise _fail("field_error", "REQUIRED", "The required field was not present.", "campaign")
    new.campaign = tx.resolve(new.campaign, "campaign", "campaign")
    owner = tx.existing(new.campaign, "campaign", "campaign")
    which = new.WhichOneof("criterion")
    if which == "location":
        new.criterion_id = _constant_id(
            new.location.geo_target_constant,
            GEO_TARGET_PREFIX,
            COUNTRY_BY_GEO_ID,
            "geo target constant",
            ("location", "geo_target_constant"),
        )
        new.type_ = CriterionType.LOCATION
    elif which == "language":
        new.criterion_id = _constant_id(
            new.language.language_constant,
            LANGUAGE_PREFIX,
            LANGUAGE_BY_ID,
            "language constant",
            ("language", "language_constant"),
        )
        new.type_ = CriterionType.LANGUAGE
    elif which == "proximity":
        if new.proximity.radius <= 0:
            raise _fail(
                "criterion_error",
                "INVALID_PROXIMITY_RADIUS",
                "Radius must be positive.",
                "proximity",
                "radius",
            )
        if not new.proximity.HasField("geo_point") and not new.proximity.HasField("address"):
            raise _fail(
                "criterion_error",
                "PROXIMITY_GEOPOINT_AND_ADDRESS_BOTH_CANNOT_BE_NULL",
                "A proximity needs a geo point or an address.",
                "proximity",
            )
        new.criterion_id, new.type_ = tx.store.allocate_id(), CriterionType.PROXIMITY
    elif which == "keyword":
        if not new.negative:
            raise _fail(
                "campaign_criterion_error",
                "OPERATOR_NOT_SUPPORTED_FOR_CRITERION_TYPE",
                "Campaign-level keywords must be negative.",
                "negative",
            )
        _keyword(new.keyword, "keyword")
        new.criterion_id, new.type_ = tx.store.allocate_id(), CriterionType.KEYWORD
    else:
        raise _fail(
            "campaign_criterion_error",
            "CONCRETE_TYPE_REQUIRED",
            "Only location, language, proximity and negative keyword criteria are supported.",
        )
    if which in ("location", "proximity") and owner.missing_eu_political_advertising_declaration:
        raise _fail(
            "criterion_error",
            "MISSING_EU_POLITICAL_ADVERTISING_SELF_DECLARATION",
            "The campaign has no EU political advertising declaration.",
            which,
        )
    new.resource_name = tx.new_name(
        KINDS["campaign_criterion"], int(resource_id(new.campaign)), new.criterion_id
    )
    if tx.get("campaign_criterion", new.resource_name) is not None:
        raise _fail(
            "mutate_error", "RESOURCE_ALREADY_EXISTS", "The campaign already has this criterion.", which
        )
    new.status = 2  # CampaignCriterionStatus.ENABLED


_KEYWORD_FORBIDDEN = set("!@%,*")


def _keyword(keyword: Any, *path: str) -> None:
    text = keyword.text
    if not text.strip():
        raise _fail("field_error", "REQUIRED", "The keyword text is missing.", *path, "text")
    if len(text) > 80:
        raise _fail(
            "criterion_error", "KEYWORD_TEXT_TOO_LONG", "Keyword text is over 80 characters.", *path, "text"
        )
    if len(text.split()) > 10:
        raise _fail(
            "criterion_error", "KEYWORD_HAS_TOO_MANY_WORDS", "Keyword has over 10 words.", *path, "text"
        )
    if _KEYWORD_FORBIDDEN & set(text):
        raise _fail(
            "criterion_error", "KEYWORD_HAS_INVALID_CHARS", "Keyword has invalid characters.", *path, "text"
        )
    if not keyword.match_type:
        raise _fail("field_error", "REQUIRED", "The match type is missing.", *path, "match_type")


def _ad_group_criterion(tx: Transaction, new: Any, old: Any, creating: bool) -> None:
    if not creating:
        if new.ad_group != old.ad_group or new.keyword != old.keyword or new.negative != old.negative:
            raise _fail("field_error", "IMMUTABLE_FIELD", "Only status and bids of a criterion can change.")
        return
    if not new.ad_group:
        raise _fail("field_error", "REQUIRED", "The required field was not present.", "ad_group")
    new.ad_group = tx.resolve(new.ad_group, "ad_group", "ad_group")
    tx.existing(new.ad_group, "ad_group", "ad_group")
    if new.WhichOneof("criterion") != "keyword":
        raise _fail(
            "ad_group_criterion_error",
            "CANNOT_ADD_CRITERIA_TYPE",
            "Only keyword criteria are supported.",
            "criterion",
        )
    _keyword(new.keyword, "keyword")
    key = (new.ad_group, new.keyword.text.lower(), int(new.keyword.match_type), new.negative)
    if tx.name_owner("keyword", key) is not None:
        raise _fail(
            "mutate_error", "RESOURCE_ALREADY_EXISTS", "The ad group already has this keyword.", "keyword"
        )
    new.criterion_id = tx.store.allocate_id()
    new.type_ = CriterionType.KEYWORD
    new.status = new.status or ENABLED
    new.resource_name = tx.new_name(
        KINDS["ad_group_criterion"], int(resource_id(new.ad_group)), new.criterion_id
    )
    tx.claim("keyword", key, new.resource_name)


def _label(tx: Transaction, new: Any, old: Any, creating: bool) -> None:
    if not new.name:
        raise _fail("field_error", "REQUIRED", "The required field was not present.", "name")
    _check_length(new.name, 80, "name")
    if creating:
        new.status = LabelStatus.ENABLED
    _unique(
        tx,
        "label",
        new.name,
        new.resource_name,
        old.name if old is not None else None,
        _fail("label_error", "DUPLICATE_NAME", "A label with this name already exists.", "name"),
    )


def _campaign_label(tx: Transaction, new: Any, old: Any, creating: bool) -> None:
    if not creating:
        raise _fail(
            "operation_access_denied_error",
            "UPDATE_OPERATION_NOT_PERMITTED",
            "Campaign labels cannot be updated.",
        )
    for field_name in ("campaign", "label"):
        if not getattr(new, field_name):
            raise _fail("field_error", "REQUIRED", "The required field was not present.", field_name)
        setattr(new, field_name, tx.resolve(getattr(new, field_name), field_name, field_name))
        tx.existing(getattr(new, field_name), field_name, field_name)
    new.resource_name = tx.new_name(
        KINDS["campaign_label"], int(resource_id(new.campaign)), int(resource_id(new.label))
    )
    if tx.get("campaign_label", new.resource_name) is not None:
        raise _fail(
            "campaign_error", "CAMPAIGN_LABEL_ALREADY_EXISTS", "The campaign already has this label.", "label"
        )


def _conversion_action(tx: Transaction, new: Any, old: Any, creating: bool) -> None:
    if not new.name:
        raise _fail("field_error", "REQUIRED", "The required field was not present.", "name")
    _check_length(new.name, 100, "name")
    if creating:
        new.status = new.status or ConversionActionStatus.ENABLED
        if not new.type_:
            new.type_ = conversion_action_type.ConversionActionTypeEnum.ConversionActionType.WEBPAGE
        if not new.category:
            new.category = (
                conversion_action_category.ConversionActionCategoryEnum.ConversionActionCategory.DEFAULT
            )
        if not new.HasField("include_in_conversions_metric"):
            new.include_in_conversions_metric = True
        if not new.HasField("primary_for_goal"):
            new.primary_for_goal = True
    key_owner = new.resource_name
    if _removed(new):
        if old is not None and tx.name_owner("conversion_action", old.name) == key_owner:
            tx.claim("conversion_action", old.name, None)
        return
    _unique(
        tx,
        "conversion_action",
        new.name,
        key_owner,
        old.name if old is not None else None,
        _fail(
            "conversion_action_error", "DUPLICATE_NAME", "A conversion action with this name exists.", "name"
        ),
    )


VALIDATORS: dict[str, Validator] = {
    "ad_group_criterion": _ad_group_criterion,
    "campaign_budget": _budget,
    "campaign": _campaign,
    "ad_group": _ad_group,
    "ad_group_ad": _ad_group_ad,
    "campaign_criterion": _campaign_criterion,
    "label": _label,
    "campaign_label": _campaign_label,
    "conversion_action": _conversion_action,
}


def _merge_masked(existing: Message, update: Message, paths: list[str]) -> Message:
    merged = type(existing)()
    merged.CopyFrom(existing)
    for path in paths:
        source, target = update, merged
        parts = path.split(".")
        for part in parts[:-1]:
            source, target = getattr(source, part), getattr(target, part)
        leaf = parts[-1]
        descriptor = target.DESCRIPTOR.fields_by_name.get(leaf)
        if descriptor is None:
            raise _fail(
                "field_mask_error",
                "FIELD_NOT_FOUND",
                f"Unknown field {path!r} in update_mask.",
                "update_mask",
            )
        if descriptor.is_repeated:
            del getattr(target, leaf)[:]
            getattr(target, leaf).extend(getattr(source, leaf))
        elif descriptor.message_type is not None:
            if source.HasField(leaf):
                getattr(target, leaf).CopyFrom(getattr(source, leaf))
            else:
                target.ClearField(leaf)
        elif descriptor.has_presence and not source.HasField(leaf):
            target.ClearField(leaf)
        else:
            setattr(target, leaf, getattr(source, leaf))
    return merged


def apply_operation(tx: Transaction, kind: ResourceKind, operation: Any) -> tuple[str, Message]:
    """Validate and stage one create/update/remove; returns (resource name, stored message)."""
    if kind.name == "ad":
        return _update_ad(tx, operation)
    apply = APPLY.get(operation.WhichOneof("operation"))
    if apply is None:
        raise _fail("request_error", "OPERATION_REQUIRED", "The operation is empty.")
    return apply(tx, kind, operation)


def _create(tx: Transaction, kind: ResourceKind, operation: Any) -> tuple[str, Message]:
    new = kind.pb()
    new.CopyFrom(operation.create)
    requested = new.resource_name
    tx.check_requested_name(requested, kind, "create", "resource_name")
    if kind.composite:
        new.resource_name = ""
        if kind.name == "ad_group_ad":
            ad_id = tx.store.allocate_id()
            new.ad.id = ad_id
            new.ad.resource_name = f"customers/{tx.customer_id}/ads/{ad_id}"
            new.ad.type_ = 15  # AdType.RESPONSIVE_SEARCH_AD
    else:
        new.id = tx.store.allocate_id()
        new.resource_name = tx.new_name(kind, new.id)
    try:
        VALIDATORS[kind.name](tx, new, None, True)
    except OperationFailed as failed:
        raise OperationFailed(*(e.at(("create", None)) for e in failed.errors)) from None
    if kind.name == "ad_group_ad":
        new.resource_name = tx.new_name(kind, int(resource_id(new.ad_group)), new.ad.id)
        tx.claim("ad", new.ad.id, new.resource_name)
    tx.put(kind.name, new.resource_name, new)
    tx.bind_temporary(requested, new.resource_name)
    if kind.name == "campaign_label":
        owner = kind_copy(tx.get("campaign", new.campaign))
        owner.labels.append(new.label)
        tx.put("campaign", owner.resource_name, owner)
    return new.resource_name, new


def _update(tx: Transaction, kind: ResourceKind, operation: Any) -> tuple[str, Message]:
    if not operation.update.resource_name:
        raise _fail(
            "request_error",
            "RESOURCE_NAME_MISSING",
            "Resource name is missing.",
            "update",
            "resource_name",
        )
    name = tx.resolve(operation.update.resource_name, kind.name, "update", "resource_name")
    old = tx.get(kind.name, name)
    if old is None:
        raise _fail(
            "mutate_error",
            "RESOURCE_NOT_FOUND",
            f"Resource {name!r} was not found.",
            "update",
            "resource_name",
        )
    paths = list(operation.update_mask.paths)
    if not paths:
        raise _fail("field_mask_error", "FIELD_MASK_MISSING", "The update mask is missing.", "update_mask")
    for immutable in ("resource_name", "id"):
        if immutable in paths:
            raise _fail(
                "field_error", "IMMUTABLE_FIELD", "The field cannot be modified.", "update", immutable
            )
    new = _merge_masked(old, operation.update, paths)
    new.resource_name = name
    try:
        VALIDATORS[kind.name](tx, new, old, False)
    except OperationFailed as failed:
        raise OperationFailed(*(e.at(("update", None)) for e in failed.errors)) from None
    tx.put(kind.name, name, new)
    return name, new


def _remove(tx: Transaction, kind: ResourceKind, operation: Any) -> tuple[str, Message]:
    name = tx.resolve(operation.remove, kind.name, "remove")
    old = tx.get(kind.name, name)
    if old is None or _removed(old):
        raise _fail("mutate_error", "RESOURCE_NOT_FOUND", f"Resource {name!r} was not found.", "remove")
    if kind.deleted_on_remove:
        return _delete(tx, kind, name, old)
    new = kind_copy(old)
    new.status = _removed_value(new)
    release = RELEASED_ON_REMOVE.get(kind.name)
    if release is not None:
        release(tx, old, name)
    tx.put(kind.name, name, new)
    return name, new


def _delete(tx: Transaction, kind: ResourceKind, name: str, old: Message) -> tuple[str, Message]:
    """Kinds the API deletes outright on remove (criteria, campaign labels), freeing what they held."""
    tx.put(kind.name, name, None)
    if kind.name == "ad_group_criterion":
        key = (old.ad_group, old.keyword.text.lower(), int(old.keyword.match_type), old.negative)
        tx.claim("keyword", key, None)
    if kind.name == "campaign_label":
        owner = kind_copy(tx.get("campaign", old.campaign))
        kept = [label_name for label_name in owner.labels if label_name != old.label]
        del owner.labels[:]
        owner.labels.extend(kept)
        tx.put("campaign", owner.resource_name, owner)
    return name, old


APPLY: dict[str, Callable[[Transaction, ResourceKind, Any], tuple[str, Message]]] = {
    "create": _create,
    "update": _update,
    "remove": _remove,
}
# What a removed (status REMOVED) object stops holding: its unique name, or its share of a budget.
RELEASED_ON_REMOVE: dict[str, Callable[[Transaction, Any, str], None]] = {
    "label": lambda tx, old, _name: tx.claim("label", old.name, None),
    "campaign_budget": lambda tx, old, _name: (
        tx.claim("campaign_budget", old.name, None) if old.name else None
    ),
    "ad_group": lambda tx, old, _name: tx.claim("ad_group", (old.campaign, old.name), None),
    "campaign": lambda tx, old, name: _release(tx, "budget_user", old.campaign_budget, name),
    "conversion_action": lambda tx, old, _name: tx.claim("conversion_action", old.name, None),
}


def _update_ad(tx: Transaction, operation: Any) -> tuple[str, Message]:
    name = operation.update.resource_name
    if not name:
        raise _fail(
            "request_error", "RESOURCE_NAME_MISSING", "Resource name is missing.", "update", "resource_name"
        )
    identifier = resource_id(name)
    if not name.startswith(f"customers/{tx.customer_id}/ads/") or not identifier.isdigit():
        raise _fail(
            "request_error",
            "RESOURCE_NAME_MALFORMED",
            f"Malformed resource name {name!r}.",
            "update",
            "resource_name",
        )
    owner = tx.name_owner("ad", int(identifier))
    holder = tx.get("ad_group_ad", owner) if owner is not None else None
    if holder is None:
        raise _fail(
            "mutate_error",
            "RESOURCE_NOT_FOUND",
            f"Resource {name!r} was not found.",
            "update",
            "resource_name",
        )
    if _removed(holder):
        raise _fail(
            "operation_access_denied_error",
            "OPERATION_NOT_PERMITTED_FOR_REMOVED_RESOURCE",
            "The ad is removed.",
            "update",
        )
    paths = list(operation.update_mask.paths)
    if not paths:
        raise _fail("field_mask_error", "FIELD_MASK_MISSING", "The update mask is missing.", "update_mask")
    for immutable in ("resource_name", "id", "type"):
        if immutable in paths:
            raise _fail(
                "field_error", "IMMUTABLE_FIELD", "The field cannot be modified.", "update", immutable
            )
    new_ad = _merge_masked(holder.ad, operation.update, paths)
    new_ad.resource_name = name
    _responsive_search_ad(new_ad.responsive_search_ad, ("update", "responsive_search_ad"))
    if not new_ad.final_urls:
        raise _fail(
            "ad_error", "CANNOT_SET_WITHOUT_FINAL_URLS", "An ad needs final URLs.", "update", "final_urls"
        )
    updated = kind_copy(holder)
    updated.ad.CopyFrom(new_ad)
    tx.put("ad_group_ad", updated.resource_name, updated)
    return name, new_ad


def kind_copy(message: Any) -> Any:
    duplicate = type(message)()
    duplicate.CopyFrom(message)
    return duplicate


# ---- the store --------------------------------------------------------------------------------------
class GoogleAdsStore:
    """All customers' state, persisted as JSON (protobufs base64-encoded) when a path is given."""

    def __init__(self, path: Path | None, customer_ids: tuple[str, ...]) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.next_id = 1_000_001
        self.customers: dict[str, CustomerState] = {}
        self.version = 0
        if path is not None and path.exists():
            self._load(path)
        for number, customer_id in enumerate(customer_ids, start=1):
            self.customers.setdefault(
                customer_id, CustomerState(customer_id, f"SafePassage sandbox account {number}")
            )

    def allocate_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def customer(self, customer_id: str) -> CustomerState | None:
        return self.customers.get(customer_id)

    def reset(self) -> None:
        with self.lock:
            for customer_id, state in list(self.customers.items()):
                self.customers[customer_id] = CustomerState(customer_id, state.descriptive_name)
            self.version += 1
            self.save()

    def iter_resources(self, customer_id: str, kind: str) -> Iterator[Any]:
        return iter(self.customers[customer_id].resources[kind].values())

    def committed(self) -> None:
        self.version += 1
        self.save()

    # -- persistence -------------------------------------------------------------------------------
    def save(self) -> None:
        if self.path is None:
            return
        document = {
            "next_id": self.next_id,
            "customers": {
                customer_id: {
                    "descriptive_name": state.descriptive_name,
                    "resources": {
                        kind: [base64.b64encode(m.SerializeToString()).decode() for m in bucket.values()]
                        for kind, bucket in state.resources.items()
                    },
                    "history": state.history,
                }
                for customer_id, state in self.customers.items()
            },
        }
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, separators=(",", ":")))
        os.replace(temporary, self.path)

    def _load(self, path: Path) -> None:
        document = json.loads(path.read_text())
        self.next_id = int(document["next_id"])
        for customer_id, saved in document["customers"].items():
            state = CustomerState(customer_id, saved["descriptive_name"])
            for kind, encoded in saved["resources"].items():
                for item in encoded:
                    message = KINDS[kind].pb.FromString(base64.b64decode(item))
                    state.resources[kind][message.resource_name] = message
            state.history = {
                name: [(at, snap) for at, snap in entries] for name, entries in saved["history"].items()
            }
            _rebuild_names(state)
            self.customers[customer_id] = state


def _rebuild_names(state: CustomerState) -> None:
    names: dict[str, dict[Any, str]] = {
        k: {} for k in ("campaign", "campaign_budget", "ad_group", "label", "conversion_action")
    }
    names["budget_user"] = {}
    budgets = state.resources["campaign_budget"]
    for message in state.resources["campaign"].values():
        names["campaign"][message.name] = message.resource_name
        budget = budgets.get(message.campaign_budget)
        if not _removed(message) and budget is not None and not budget.explicitly_shared:
            names["budget_user"][message.campaign_budget] = message.resource_name
    for kind in ("campaign_budget", "label", "conversion_action"):
        for message in state.resources[kind].values():
            if message.name and not _removed(message):
                names[kind][message.name] = message.resource_name
    names["keyword"] = {
        (m.ad_group, m.keyword.text.lower(), int(m.keyword.match_type), m.negative): m.resource_name
        for m in state.resources["ad_group_criterion"].values()
    }
    names["ad"] = {
        message.ad.id: message.resource_name for message in state.resources["ad_group_ad"].values()
    }
    for message in state.resources["ad_group"].values():
        if not _removed(message):
            names["ad_group"][(message.campaign, message.name)] = message.resource_name
    state.names = names


def _constant_id(
    reference: str, prefix: str, known: Mapping[int, Any], kind: str, field: tuple[str, str]
) -> int:
    """The id in `prefix{id}` if the emulator knows that constant; else INVALID_CRITERION_ID."""
    constant_id = reference.removeprefix(prefix)
    if not reference.startswith(prefix) or not constant_id.isdigit() or int(constant_id) not in known:
        raise _fail("criterion_error", "INVALID_CRITERION_ID", f"Unknown {kind} {reference!r}.", *field)
    return int(constant_id)
