"""Google Ads through the official SDK: read the campaign tree back with GAQL, mutate it in bulk.

The push's and the kill switch's side of google-ads (the pull's is `google_ads_performance.py`, the
client factory `platform_clients.py`; no other module imports the SDK). It knows protobufs and error
shapes; what to send, when to retry and what to log is decided by `services.push`.

- Reads: one `SearchStream` per resource kind (a query counts as one operation however many rows).
- Writes: `GoogleAdsService.Mutate` with the whole tree per request (temporary resource names link
  children to parents created in the same request), atomic (`partial_failure` false), optionally
  `validate_only`. The budget guard and the kill switch's pause guard run inside `mutate`, right
  before the request leaves (the pauses are read at that moment, not when the plan was approved).
- Errors come back classified: quota (retry the same request after the server's delay), transient
  (unknown whether it committed: re-read and re-plan), or rejected operations, each named by key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.ads.googleads.client import GoogleAdsClient
from google.ads.googleads.errors import GoogleAdsException
from google.ads.googleads.v26.enums.types import (
    ad_group_ad_status,
    ad_group_status,
    ad_group_type,
    advertising_channel_type,
    budget_delivery_method,
    campaign_status,
    eu_political_advertising_status,
    positive_geo_target_type,
    proximity_radius_units,
)
from google.ads.googleads.v26.errors.types.errors import GoogleAdsFailure
from google.ads.googleads.v26.services.types.google_ads_service import MutateGoogleAdsRequest, MutateOperation
from google.api_core import exceptions as api_exceptions

from safepassage.adapters.redaction import scrub
from safepassage.domain.budgets import BudgetGuard
from safepassage.domain.geo import EVERY_COUNTRY, Geography, reaches
from safepassage.domain.pauses import PauseGuard
from safepassage.domain.push import Node, PlanOperation, PlatformCallFailed, Tree, parse_name
from safepassage.domain.push_google import (
    GOOGLE_ADS,
    MAX_OPERATIONS_PER_REQUEST,
    Proximity,
    ad_content_hash,
    ad_key,
    batches,
    criterion_key,
)

FAILURE_METADATA_KEY = "google.ads.googleads.v26.errors.googleadsfailure-bin"
GEO_PREFIX, LANGUAGE_PREFIX = "geoTargetConstants/", "languageConstants/"
_CAMPAIGN_STATUS = campaign_status.CampaignStatusEnum.CampaignStatus
_AD_GROUP_STATUS = ad_group_status.AdGroupStatusEnum.AdGroupStatus
_AD_STATUS = ad_group_ad_status.AdGroupAdStatusEnum.AdGroupAdStatus
_EU: Any = eu_political_advertising_status.EuPoliticalAdvertisingStatusEnum.EuPoliticalAdvertisingStatus
_STATUS_ENUM: dict[str, Any] = {
    "campaign": _CAMPAIGN_STATUS,
    "ad_group": _AD_GROUP_STATUS,
    "ad_group_ad": _AD_STATUS,
}
_TRANSIENT_CODES = {
    "TRANSIENT_ERROR",
    "INTERNAL_ERROR",
    "CONCURRENT_MODIFICATION",
    "RESOURCE_TEMPORARILY_EXHAUSTED",
}

QUERIES = {
    "campaign_budget": "SELECT campaign_budget.resource_name, campaign_budget.name, "
    "campaign_budget.amount_micros, campaign_budget.status FROM campaign_budget "
    "WHERE campaign_budget.name LIKE 'SP|%'",
    "campaign": "SELECT campaign.resource_name, campaign.name, campaign.status, campaign.campaign_budget, "
    "campaign.contains_eu_political_advertising FROM campaign WHERE campaign.name LIKE 'SP|%'",
    "campaign_criterion": "SELECT campaign_criterion.resource_name, campaign_criterion.campaign, "
    "campaign_criterion.type, campaign_criterion.location.geo_target_constant, "
    "campaign_criterion.language.language_constant, "
    "campaign_criterion.proximity.geo_point.latitude_in_micro_degrees, "
    "campaign_criterion.proximity.geo_point.longitude_in_micro_degrees, campaign_criterion.proximity.radius "
    "FROM campaign_criterion WHERE campaign.name LIKE 'SP|%'",
    "ad_group": "SELECT ad_group.resource_name, ad_group.name, ad_group.status, ad_group.campaign "
    "FROM ad_group WHERE campaign.name LIKE 'SP|%'",
    "ad_group_ad": "SELECT ad_group_ad.resource_name, ad_group_ad.ad_group, ad_group_ad.status, "
    "ad_group_ad.ad.final_urls, ad_group_ad.ad.responsive_search_ad.headlines, "
    "ad_group_ad.ad.responsive_search_ad.descriptions, ad_group_ad.ad.responsive_search_ad.path1, "
    "ad_group_ad.ad.responsive_search_ad.path2 FROM ad_group_ad WHERE campaign.name LIKE 'SP|%'",
}

# Campaigns SafePassage does not manage (the kill switch pauses those reaching the country too).
UNMANAGED_QUERIES = {
    "campaign": "SELECT campaign.resource_name, campaign.name, campaign.status FROM campaign "
    "WHERE campaign.name NOT LIKE 'SP|%' AND campaign.status = 'ENABLED'",
    "campaign_criterion": "SELECT campaign_criterion.campaign, campaign_criterion.type, "
    "campaign_criterion.negative, campaign_criterion.location.geo_target_constant, "
    "campaign_criterion.proximity.geo_point.latitude_in_micro_degrees, "
    "campaign_criterion.proximity.geo_point.longitude_in_micro_degrees, campaign_criterion.proximity.radius, "
    "campaign_criterion.proximity.radius_units FROM campaign_criterion WHERE campaign.name NOT LIKE 'SP|%'",
}


@dataclass(frozen=True)
class UnmanagedCampaign:
    resource_name: str
    name: str
    countries: tuple[str, ...]  # EVERY_COUNTRY ("*") when it targets no location or one not resolved


@dataclass(frozen=True)
class OperationError:
    index: int | None
    key: str | None
    code: str
    message: str


class GoogleAdsCallFailed(PlatformCallFailed):
    """A request failed as a whole. `retryable`: quota/transient; `quota_delay`: what the server asked."""

    def __init__(
        self,
        status: str,
        errors: Sequence[OperationError],
        request_id: str | None,
        quota_delay: float | None = None,
    ) -> None:
        self.status = status
        self.errors = list(errors)
        self.request_id = request_id
        self.quota_delay = quota_delay
        summary = "; ".join(f"{e.key or '-'}: {e.code} {e.message}" for e in self.errors[:5]) or status
        super().__init__(f"Google Ads {status}: {summary}")

    @property
    def is_quota(self) -> bool:
        return self.status == "RESOURCE_EXHAUSTED" or any(
            e.code == "RESOURCE_TEMPORARILY_EXHAUSTED" for e in self.errors
        )

    @property
    def is_transient(self) -> bool:
        """Retry after re-reading: the request may or may not have been committed."""
        if self.status in ("UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED", "ABORTED"):
            return True
        # An atomic request with one transient error committed nothing; the other errors are usually
        # its children failing to find a parent. Re-planning shows any real error at validate_only.
        return any(e.code in _TRANSIENT_CODES for e in self.errors)

    @property
    def retryable(self) -> bool:
        return self.is_quota or self.is_transient

    def per_object(self) -> dict[str, list[str]]:
        return group_by_key(self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "request_id": self.request_id,
            "quota_delay": self.quota_delay,
            "errors": [e.__dict__ for e in self.errors],
        }


@dataclass
class MutateOutcome:
    resource_names: list[str] = field(default_factory=list)
    request_id: str | None = None


class GoogleAdsAccount:
    """One customer (account) of Google Ads, through a client built by the client factory."""

    def __init__(
        self,
        client: GoogleAdsClient,
        customer_id: str,
        guard: BudgetGuard,
        pauses: PauseGuard | None = None,
    ) -> None:
        self.client = client
        self.customer_id = customer_id
        self.guard = guard
        self.pauses = pauses
        self._service = client.get_service("GoogleAdsService")

    # -- reading ------------------------------------------------------------------------------------
    platform = "google_ads"
    read_kind = "GAQL read-back (GoogleAdsService.SearchStream)"
    write_kind = "GoogleAdsService.Mutate"
    validates = True  # validate_only dry-runs the whole plan before anything is written

    def requests(self, operations: Sequence[PlanOperation]) -> list[list[PlanOperation]]:
        """As few atomic Mutate requests as 10,000 operations each allow."""
        return batches(operations, MAX_OPERATIONS_PER_REQUEST)

    def read_tree(self) -> Tree:
        """The SafePassage-named part of the account, as the platform reports it now."""
        rows = {kind: self._search(query) for kind, query in QUERIES.items()}
        tree = Tree(shape=GOOGLE_ADS)
        key_by_name: dict[str, str] = {}
        for row in rows["campaign_budget"]:
            budget = row.campaign_budget
            parts = parse_name(budget.name)
            if parts is None:
                continue
            key_by_name[budget.resource_name] = budget.name
            tree.add(
                Node(
                    "campaign_budget",
                    budget.name,
                    parts[0],
                    {
                        "name": budget.name,
                        "amount_micros": int(budget.amount_micros),
                        "status": budget.status.name,
                    },
                    resource_name=budget.resource_name,
                )
            )
        for row in rows["campaign"]:
            campaign = row.campaign
            parts = parse_name(campaign.name)
            if parts is None:
                continue
            key_by_name[campaign.resource_name] = campaign.name
            fields = {
                "name": campaign.name,
                "status": campaign.status.name,
                "contains_eu_political_advertising": campaign.contains_eu_political_advertising.name,
            }
            tree.add(
                Node(
                    "campaign",
                    campaign.name,
                    parts[0],
                    fields,
                    key_by_name.get(campaign.campaign_budget),
                    campaign.resource_name,
                )
            )
        for row in rows["campaign_criterion"]:
            criterion = row.campaign_criterion
            owner = key_by_name.get(criterion.campaign)
            if owner is None:
                continue
            criterion_fields = _criterion_fields(criterion)
            if criterion_fields is None:
                continue
            tree.add(
                Node(
                    "campaign_criterion",
                    criterion_key(owner, criterion_fields),
                    tree.nodes[owner].country,
                    criterion_fields,
                    owner,
                    criterion.resource_name,
                )
            )
        for row in rows["ad_group"]:
            group = row.ad_group
            owner = key_by_name.get(group.campaign)
            if owner is None or parse_name(group.name) is None or group.status.name == "REMOVED":
                continue  # a removed ad group frees its name; it is history, not state
            key_by_name[group.resource_name] = group.name
            tree.add(
                Node(
                    "ad_group",
                    group.name,
                    tree.nodes[owner].country,
                    {"name": group.name, "status": group.status.name},
                    owner,
                    group.resource_name,
                )
            )
        for row in rows["ad_group_ad"]:
            ad = row.ad_group_ad
            owner = key_by_name.get(ad.ad_group)
            if owner is None or ad.status.name == "REMOVED":
                continue
            rsa = ad.ad.responsive_search_ad
            headlines = [asset.text for asset in rsa.headlines]
            descriptions = [asset.text for asset in rsa.descriptions]
            final_url = ad.ad.final_urls[0] if ad.ad.final_urls else ""
            content_hash = ad_content_hash(headlines, descriptions, final_url, rsa.path1, rsa.path2)
            tree.add(
                Node(
                    "ad_group_ad",
                    ad_key(owner, content_hash),
                    tree.nodes[owner].country,
                    {
                        "status": ad.status.name,
                        "content_hash": content_hash,
                        "headlines": headlines,
                        "descriptions": descriptions,
                        "final_url": final_url,
                        "path1": rsa.path1,
                        "path2": rsa.path2,
                    },
                    owner,
                    ad.resource_name,
                )
            )
        return tree

    def _search(self, query: str) -> list[Any]:
        try:
            return [
                row
                for batch in self._service.search_stream(customer_id=self.customer_id, query=query)
                for row in batch.results
            ]
        except (GoogleAdsException, api_exceptions.GoogleAPICallError, grpc.RpcError) as error:
            raise classify(error, ()) from None  # scrubbed; the SDK's own text may carry tokens

    # -- writing ------------------------------------------------------------------------------------
    def mutate(self, operations: Sequence[PlanOperation], *, validate_only: bool) -> MutateOutcome:
        """One atomic `GoogleAdsService.Mutate`. The budget and pause guards have the last word."""
        self.guard.check(operations)
        if self.pauses is not None:
            self.pauses.check(operations)
        request = MutateGoogleAdsRequest.pb()()
        request.customer_id = self.customer_id
        request.validate_only = validate_only
        request.partial_failure = False
        for operation in operations:
            request.mutate_operations.append(_mutate_operation(operation))
        try:
            response = self._service.mutate(request=MutateGoogleAdsRequest.wrap(request))
        except (GoogleAdsException, api_exceptions.GoogleAPICallError, grpc.RpcError) as error:
            raise classify(error, operations) from None  # scrubbed; the SDK's own text may carry tokens
        names = []
        for entry in response._pb.mutate_operation_responses:
            which = entry.WhichOneof("response")
            names.append(getattr(entry, which).resource_name if which else "")
        return MutateOutcome(names)

    def unmanaged_campaigns_reaching(self, country: str, geography: Geography) -> list[UnmanagedCampaign]:
        """Enabled campaigns not named `SP|…` whose locations reach `country` (docs/push.md, kill switch).

        Location criteria count by their country (countries from config, others asked of
        `geo_target_constant`; one not found reaches every country), proximity criteria by
        `Geography`, and a campaign without any positive location reaches every country (as Google
        serves it). Negative (excluded) locations never count.
        """
        campaigns = {
            row.campaign.resource_name: row.campaign.name
            for row in self._search(UNMANAGED_QUERIES["campaign"])
        }
        if not campaigns:
            return []
        reached: dict[str, set[str]] = {name: set() for name in campaigns}
        unresolved: dict[str, set[int]] = {}
        for row in self._search(UNMANAGED_QUERIES["campaign_criterion"]):
            criterion = row.campaign_criterion
            if criterion.campaign not in campaigns or criterion.negative:
                continue
            kind = criterion.type_.name
            if kind == "LOCATION":
                geo_id = int(criterion.location.geo_target_constant.rsplit("/", 1)[1])
                if geo_id in geography.google_geo_ids:
                    reached[criterion.campaign].add(geography.google_geo_ids[geo_id])
                else:
                    unresolved.setdefault(criterion.campaign, set()).add(geo_id)
            elif kind == "PROXIMITY":
                point, radius = criterion.proximity.geo_point, float(criterion.proximity.radius)
                if criterion.proximity.radius_units.name == "MILES":
                    radius *= 1.609344
                reached[criterion.campaign] |= geography.countries_reached(
                    point.latitude_in_micro_degrees / 1e6, point.longitude_in_micro_degrees / 1e6, radius
                )
        if unresolved:
            found = self._geo_countries({geo_id for ids in unresolved.values() for geo_id in ids})
            for campaign, ids in unresolved.items():
                reached[campaign] |= {found.get(geo_id, EVERY_COUNTRY) for geo_id in ids}
        return [
            UnmanagedCampaign(resource, campaigns[resource], tuple(sorted(countries or {EVERY_COUNTRY})))
            for resource, countries in sorted(reached.items())
            if reaches(countries or {EVERY_COUNTRY}, country)
        ]

    def _geo_countries(self, geo_ids: set[int]) -> dict[int, str]:
        listed = ", ".join(f"'{GEO_PREFIX}{geo_id}'" for geo_id in sorted(geo_ids))
        rows = self._search(
            "SELECT geo_target_constant.id, geo_target_constant.country_code FROM geo_target_constant "
            f"WHERE geo_target_constant.resource_name IN ({listed})"
        )
        return {int(row.geo_target_constant.id): row.geo_target_constant.country_code for row in rows}

    def campaigns_in(self, country: str) -> list[Node]:
        return [n for n in self.read_tree().of_kind("campaign") if n.country == country]


# --- building operations --------------------------------------------------------------------------


def _mutate_operation(op: PlanOperation) -> Any:
    mutate = MutateOperation.pb()()
    holder = getattr(mutate, f"{op.kind}_operation")
    if op.action == "remove":
        holder.remove = op.resource_name
        return mutate
    if op.action == "update":
        target = holder.update
        target.resource_name = op.resource_name
        _set_fields(op.kind, target, op.fields)
        holder.update_mask.paths.extend(op.update_mask)
        return mutate
    target = holder.create
    if op.resource_name:
        target.resource_name = op.resource_name
    fields = op.fields
    if op.kind == "campaign_budget":
        target.name = fields["name"]
        target.amount_micros = int(fields["amount_micros"])
        target.explicitly_shared = True  # the country's language campaigns share it
        target.delivery_method = budget_delivery_method.BudgetDeliveryMethodEnum.BudgetDeliveryMethod.STANDARD
    elif op.kind == "campaign":
        target.name = fields["name"]
        target.campaign_budget = op.refs["campaign_budget"]
        target.advertising_channel_type = (
            advertising_channel_type.AdvertisingChannelTypeEnum.AdvertisingChannelType.SEARCH
        )
        target.target_spend.SetInParent()  # maximise clicks within the budget
        target.network_settings.target_google_search = True
        target.network_settings.target_search_network = True
        target.network_settings.target_content_network = False
        # People physically there, not people searching about the place.
        target.geo_target_type_setting.positive_geo_target_type = (
            positive_geo_target_type.PositiveGeoTargetTypeEnum.PositiveGeoTargetType.PRESENCE
        )
        _set_fields("campaign", target, fields)
    elif op.kind == "campaign_criterion":
        target.campaign = op.refs["campaign"]
        if fields["type"] == "LOCATION":
            target.location.geo_target_constant = f"{GEO_PREFIX}{fields['geo_target_id']}"
        elif fields["type"] == "LANGUAGE":
            target.language.language_constant = f"{LANGUAGE_PREFIX}{fields['language_id']}"
        else:
            near = Proximity(**fields["proximity"])
            target.proximity.geo_point.latitude_in_micro_degrees = round(near.lat * 1_000_000)
            target.proximity.geo_point.longitude_in_micro_degrees = round(near.lon * 1_000_000)
            target.proximity.radius = near.radius_km
            target.proximity.radius_units = (
                proximity_radius_units.ProximityRadiusUnitsEnum.ProximityRadiusUnits.KILOMETERS
            )
    elif op.kind == "ad_group":
        target.name = fields["name"]
        target.campaign = op.refs["campaign"]
        target.type_ = ad_group_type.AdGroupTypeEnum.AdGroupType.SEARCH_STANDARD
        _set_fields("ad_group", target, fields)
    elif op.kind == "ad_group_ad":
        target.ad_group = op.refs["ad_group"]
        _set_fields("ad_group_ad", target, fields)
        target.ad.final_urls.append(fields["final_url"])
        rsa = target.ad.responsive_search_ad
        for text in fields["headlines"]:
            rsa.headlines.add().text = text
        for text in fields["descriptions"]:
            rsa.descriptions.add().text = text
        rsa.path1 = fields.get("path1", "")
        rsa.path2 = fields.get("path2", "")
    return mutate


def _set_fields(kind: str, target: Any, fields: dict[str, Any]) -> None:
    if "status" in fields:
        target.status = _STATUS_ENUM[kind][fields["status"]]
    if "contains_eu_political_advertising" in fields:
        target.contains_eu_political_advertising = _EU[fields["contains_eu_political_advertising"]]
    if "amount_micros" in fields:
        target.amount_micros = int(fields["amount_micros"])


def _criterion_fields(criterion: Any) -> dict[str, Any] | None:
    kind = criterion.type_.name
    if kind == "LOCATION":
        return {
            "type": "LOCATION",
            "geo_target_id": int(criterion.location.geo_target_constant.rsplit("/", 1)[1]),
        }
    if kind == "LANGUAGE":
        return {
            "type": "LANGUAGE",
            "language_id": int(criterion.language.language_constant.rsplit("/", 1)[1]),
        }
    if kind == "PROXIMITY":
        point = criterion.proximity.geo_point
        proximity = Proximity(
            lat=point.latitude_in_micro_degrees / 1_000_000,
            lon=point.longitude_in_micro_degrees / 1_000_000,
            radius_km=criterion.proximity.radius,
        )
        return {"type": "PROXIMITY", "proximity": proximity.model_dump()}
    return None


# --- errors ---------------------------------------------------------------------------------------


def classify(error: Exception, operations: Sequence[PlanOperation]) -> GoogleAdsCallFailed:
    """Any SDK error → one GoogleAdsCallFailed naming the failing objects and any retry delay."""
    failure: Any = None
    request_id: str | None = None
    status = "UNKNOWN"
    if isinstance(error, GoogleAdsException):
        failure = error.failure
        request_id = error.request_id
        status = error.error.code().name
    else:
        call = getattr(error, "response", None) or (error if isinstance(error, grpc.Call) else None)
        code = getattr(error, "grpc_status_code", None) or (call.code() if call is not None else None)
        status = code.name if code is not None else type(error).__name__
        metadata = call.trailing_metadata() if call is not None else ()
        for key, value in metadata or ():
            if key == FAILURE_METADATA_KEY:
                failure = GoogleAdsFailure.deserialize(value)
            elif key == "request-id":
                request_id = value
    errors: list[OperationError] = []
    delay: float | None = None
    for item in getattr(failure, "errors", ()) or ():
        code_name = _error_code(item)
        index = None
        elements = list(item.location.field_path_elements)
        for element in elements:
            if element.field_name in ("mutate_operations", "operations") and "index" in element:
                index = element.index
                break
        key = operations[index].key if index is not None and index < len(operations) else None
        errors.append(OperationError(index, key, code_name, scrub(item.message)))
        retry = item.details.quota_error_details.retry_delay
        if retry and (retry.seconds or retry.microseconds):
            delay = max(delay or 0.0, retry.seconds + retry.microseconds / 1e6)
    if not errors:  # no GoogleAdsFailure (e.g. the credentials plugin failed): keep the reason, scrubbed
        details = getattr(error, "details", None)
        reason = details() if callable(details) else getattr(error, "message", "") or str(error)
        errors.append(OperationError(None, None, status, scrub(reason)[:500]))
    return GoogleAdsCallFailed(status, errors, request_id, delay)


def _error_code(item: Any) -> str:
    pb = type(item).pb(item).error_code
    which = pb.WhichOneof("error_code")
    if which is None:
        return "UNKNOWN"
    value = getattr(pb, which)
    return str(pb.DESCRIPTOR.fields_by_name[which].enum_type.values_by_number[value].name)


def group_by_key(errors: Iterable[OperationError]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for error in errors:
        grouped.setdefault(error.key or "(request)", []).append(f"{error.code}: {error.message}")
    return grouped


ClientFactory = Callable[[], GoogleAdsClient]
