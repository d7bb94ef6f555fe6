"""Simulated ad delivery shared by the Google Ads and Meta emulators. NOT real platform data.

Each emulator describes what it serves as `ServingUnit`s (one per ad: where its link goes, its
creative text, which budget it draws from and the history of its state: active or not, daily
budget, targeting, each since a simulated time). From those this module produces, for any date
range, daily rows (date x ad x country x language x device: impressions, clicks, spend in minor
units, signposting conversions per support organisation, app-download clicks) and period reach
(unique people, NOT a sum of days).

Properties the tests hold it to: deterministic for a seed; a day's figures never depend on the
range asked for; spend of a budget pool on a day never exceeds its budget; reach over a period is
at most the sum of the daily reach and at least the largest day; mobile ~90%. Parameters and the
model are in `delivery_parameters.yaml` (every number commented). Figures are shaped by budget,
country (audience size, CPM, role), language, age range, devices, geography and creative.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from ad_emulators.clock import as_utc

SIMULATION_NOTE = "Simulated delivery from the SafePassage sandbox; not real platform data."
PARAMETERS_FILE = Path(__file__).with_name("delivery_parameters.yaml")
DEVICES = ("mobile", "tablet", "desktop")
BREAKDOWN_KEYS = ("ad", "campaign", "group", "country", "language", "device")
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Targeting:
    countries: tuple[str, ...]
    languages: tuple[str, ...] = ()  # campaign language codes (uk, ru, ...); () = every language
    age_min: int = 18
    age_max: int = 65
    devices: tuple[str, ...] = ()  # subset of DEVICES; () = all
    geo_fraction: float = 1.0  # share of each country's audience inside the targeted places


@dataclass(frozen=True)
class UnitState:
    """The unit's state from `since` (simulated time) until the next state."""

    since: dt.datetime
    active: bool
    daily_budget_minor: int
    targeting: Targeting


@dataclass(frozen=True)
class ServingUnit:
    """One ad as the delivery model sees it. `active` in a state means campaign, group and ad all run."""

    platform: str  # "google_ads" | "meta"
    ad_id: str
    budget_id: str  # units sharing it split one daily budget (Google campaign budget, Meta ad set)
    final_url: str
    history: tuple[UnitState, ...]
    creative_text: str = ""
    creative_language: str | None = None  # language of the ad's text, when known
    campaign_id: str = ""
    group_id: str = ""
    currency: str = "EUR"
    # What the random draws are keyed by, when the platform's ids are not stable: Meta numbers its
    # objects in creation order, so the same campaign created in another order (a retry after a
    # lost answer) would otherwise deliver differently. Empty: the ids.
    ad_key: str = ""
    budget_key: str = ""

    @property
    def draw_key(self) -> str:
        return self.ad_key or self.ad_id

    @property
    def budget_draw_key(self) -> str:
        return self.budget_key or self.budget_id


@dataclass(frozen=True)
class DailyRow:
    date: dt.date
    platform: str
    ad_id: str
    campaign_id: str
    group_id: str
    country: str
    language: str  # "" when the unit targets no language and the row covers the rest of the audience
    device: str
    impressions: int
    clicks: int
    spend_minor: int
    currency: str
    conversions: Mapping[str, int] = field(default_factory=dict)  # organisation id -> people signposted
    app_download_clicks: int = 0
    simulated: bool = True

    def key(self, breakdown: Sequence[str]) -> tuple[str, ...]:
        values = {
            "ad": self.ad_id,
            "campaign": self.campaign_id,
            "group": self.group_id,
            "country": self.country,
            "language": self.language,
            "device": self.device,
        }
        return tuple(values[name] for name in breakdown)


@dataclass(frozen=True, eq=False)  # hashed by identity, so per-parameter-set results can be cached
class SimulationParameters:
    raw: Mapping[str, Any]

    @property
    def reachable_share(self) -> float:
        return float(self.raw["reachable_share"])

    @property
    def base_frequency(self) -> float:
        return float(self.raw["base_frequency"])

    def country(self, code: str) -> Mapping[str, Any]:
        countries = self.raw["countries"]
        return countries[code] if code in countries else self.raw["default_country"]

    def platform(self, name: str) -> Mapping[str, Any]:
        return self.raw["platforms"][name]

    def currency(self, code: str) -> Mapping[str, Any]:
        try:
            return self.raw["currencies"][code]
        except KeyError:
            raise ValueError(f"the sandbox simulation has no exchange rate for {code!r}") from None


@lru_cache(maxsize=4)
def load_parameters(path: Path = PARAMETERS_FILE) -> SimulationParameters:
    return SimulationParameters(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def geo_fraction(
    regions: int = 0, city_radii_km: Sequence[float] = (), *, params: SimulationParameters | None = None
) -> float:
    """Share of a country's audience inside `regions` regions and cities of the given radii (km)."""
    geo = (params or load_parameters()).raw["geo"]
    if not regions and not city_radii_km:
        return 1.0
    share = regions * geo["region_share"] + sum(
        geo["city_base_share"] + geo["city_share_per_km"] * radius for radius in city_radii_km
    )
    return min(float(geo["max_share"]), share)


# ---------------------------------------------------------------------------------------------------
# Organisations and links


@dataclass(frozen=True)
class LinkTarget:
    organisation: str | None
    is_app_link: bool


def resolve_link(url: str, organisations: Mapping[str, str], params: SimulationParameters) -> LinkTarget:
    """Which organisation a link signposts to, from the request itself: a parameter carrying the id
    (`organisation_id_parameters`), a parameter naming a known id, else the best URL match among the
    known `organisations` (id -> url; none by default: the emulator reads no project config)."""
    lowered = url.lower()
    is_app = any(pattern.lower() in lowered for pattern in params.raw["app_link_patterns"])
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    for name in params.raw["organisation_id_parameters"]:
        for value in query.get(name, []):
            if value.strip():
                return LinkTarget(value.strip(), is_app)
    for name in params.raw["organisation_query_parameters"]:
        for value in query.get(name, []):
            if value in organisations:
                return LinkTarget(value, is_app)
    host = (parts.hostname or "").removeprefix("www.")
    best: tuple[int, str] | None = None
    for org_id, org_url in organisations.items():
        org_parts = urlsplit(org_url)
        if (org_parts.hostname or "").removeprefix("www.") != host:
            continue
        prefix = org_parts.path.rstrip("/")
        if parts.path.startswith(prefix) and (best is None or len(prefix) > best[0]):
            best = (len(prefix), org_id)
    return LinkTarget(best[1] if best else None, is_app)


# ---------------------------------------------------------------------------------------------------
# Random draws, deterministic per cell


def _rng(*parts: object) -> random.Random:
    return random.Random("|".join(str(part) for part in parts))


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        count += 1
        product *= rng.random()
    return count


@lru_cache(maxsize=65536)
def _unit_interval(text: str) -> float:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def creative_quality(text: str, params: SimulationParameters) -> float:
    bounds = params.raw["creative_quality"]
    return float(bounds["low"] + (bounds["high"] - bounds["low"]) * _unit_interval(text))


# ---------------------------------------------------------------------------------------------------
# Audience


@lru_cache(maxsize=65536)
def age_share(age_min: int, age_max: int, params: SimulationParameters) -> float:
    minor_weight = float(params.raw["minor_age_weight"])

    def weight(low: int, high: int) -> float:
        minors = max(0, min(high, 17) - max(low, 13) + 1)
        adults = max(0, min(high, 65) - max(low, 18) + 1)
        return minors * minor_weight + adults

    return weight(age_min, age_max) / weight(13, 65)


@lru_cache(maxsize=65536)
def _language_cells(
    country: str, targeting: Targeting, params: SimulationParameters
) -> list[tuple[str, float]]:
    """(language, share of the country's online people) the targeting reaches."""
    shares: Mapping[str, float] = params.country(country)["languages"]
    if targeting.languages:
        default = float(params.raw["default_language_share"])
        return [(lang, float(shares.get(lang, default))) for lang in targeting.languages]
    listed = list(shares.items())
    rest = max(0.0, 1.0 - sum(shares.values()))
    return [*((lang, float(share)) for lang, share in listed), ("", rest)]


@lru_cache(maxsize=65536)
def _device_shares(platform: str, targeting: Targeting, params: SimulationParameters) -> dict[str, float]:
    shares = {device: float(share) for device, share in params.platform(platform)["device_share"].items()}
    if targeting.devices:
        shares = {device: share for device, share in shares.items() if device in targeting.devices}
    total = sum(shares.values())
    return {device: share / total for device, share in shares.items()} if total else {}


@lru_cache(maxsize=65536)
def audience(
    country: str, language_share: float, targeting: Targeting, platform: str, params: SimulationParameters
) -> float:
    """People in one (country, language) cell the targeting covers, before auction reachability."""
    base = float(params.country(country)["online_thousands"]) * 1000 * language_share
    device_coverage = sum(
        float(params.platform(platform)["device_share"][device])
        for device in _device_shares(platform, targeting, params)
    )
    return (
        base
        * age_share(targeting.age_min, targeting.age_max, params)
        * device_coverage
        * targeting.geo_fraction
    )


# ---------------------------------------------------------------------------------------------------
# Unit history over a day


@dataclass(frozen=True)
class _UnitDay:
    unit: ServingUnit
    active_fraction: float
    budget_minor: float  # time-weighted budget over the active part of the day
    targeting: Targeting  # the targeting in force longest that day
    segments: tuple[
        tuple[Targeting, float], ...
    ]  # each targeting in force that day, with its share of the day


Timeline = tuple[tuple[dt.datetime, UnitState], ...]


def timeline(unit: ServingUnit) -> Timeline:
    """The unit's states in time order, each with its start in UTC (computed once per unit and call,
    not once per unit and day)."""
    return tuple(sorted(((as_utc(state.since), state) for state in unit.history), key=lambda pair: pair[0]))


def _unit_day(
    unit: ServingUnit, day: dt.date, as_of: dt.datetime | None, states: Timeline | None = None
) -> _UnitDay | None:
    start = as_utc(day)
    end = start + _DAY
    if as_of is not None:
        end = min(end, as_of)
    if end <= start or not unit.history:
        return None
    states = timeline(unit) if states is None else states
    active_seconds = 0.0
    budget_seconds = 0.0
    longest: tuple[float, Targeting] | None = None
    segments: dict[Targeting, float] = defaultdict(float)
    for index, (since, state) in enumerate(states):
        until = states[index + 1][0] if index + 1 < len(states) else end
        low, high = max(since, start), min(until, end)
        if high <= low or not state.active:
            continue
        seconds = (high - low).total_seconds()
        active_seconds += seconds
        budget_seconds += seconds * state.daily_budget_minor
        segments[state.targeting] += seconds / 86400
        if longest is None or seconds > longest[0]:
            longest = (seconds, state.targeting)
    if longest is None or active_seconds <= 0:
        return None
    return _UnitDay(unit, active_seconds / 86400, budget_seconds / 86400, longest[1], tuple(segments.items()))


# ---------------------------------------------------------------------------------------------------
# Daily delivery


@dataclass
class _Cell:
    unit_day: _UnitDay
    targeting: Targeting
    country: str
    language: str
    audience: float
    cpm_eur: float
    weight: float
    demand_eur: float
    allocated_eur: float = 0.0


def _simulate_day(
    units: Sequence[ServingUnit],
    day: dt.date,
    as_of: dt.datetime | None,
    seed: int,
    params: SimulationParameters,
    links: Mapping[str, LinkTarget],
    timelines: Sequence[Timeline],
) -> list[DailyRow]:
    pools: dict[tuple[str, str], list[_UnitDay]] = defaultdict(list)
    for unit, states in zip(units, timelines, strict=True):
        unit_day = _unit_day(unit, day, as_of, states)
        if unit_day is not None:
            pools[(unit.platform, unit.budget_id)].append(unit_day)

    rows: list[DailyRow] = []
    for (platform, _budget), members in sorted(pools.items()):
        currency = params.currency(members[0].unit.currency)
        eur_per_minor = float(currency["eur"]) / float(currency["minor"])
        budget_eur = max(member.budget_minor for member in members) * eur_per_minor
        cells = _cells(members, params)
        if not cells or budget_eur <= 0:
            continue
        pacing = params.raw["pacing"]
        pool_rng = _rng(seed, day, platform, members[0].unit.budget_draw_key, "pacing")
        spendable = min(budget_eur, sum(cell.demand_eur for cell in cells))
        spendable *= pool_rng.uniform(pacing["low"], pacing["high"])
        _allocate(cells, spendable)
        for cell in cells:
            rows.extend(_cell_rows(cell, day, seed, params, links, eur_per_minor, as_of))
    return rows


def _cells(members: Sequence[_UnitDay], params: SimulationParameters) -> list[_Cell]:
    """One cell per unit, country and language served that day (a targeting change mid-day serves both)."""
    cells = []
    max_ipp = float(params.raw["max_daily_impressions_per_person"])
    for member in members:
        unit = member.unit
        quality = creative_quality(unit.creative_text or unit.ad_id, params)
        cpm_factor = float(params.platform(unit.platform)["cpm_factor"])
        # (country, language) -> [share of the day, people, targeting in force longest for it]
        served: dict[tuple[str, str], list[Any]] = {}
        for targeting, fraction in member.segments:
            for country in targeting.countries:
                for language, share in _language_cells(country, targeting, params):
                    people = audience(country, share, targeting, unit.platform, params)
                    if people < 1:
                        continue
                    entry = served.setdefault((country, language), [0.0, 0.0, targeting, 0.0])
                    entry[0] += fraction
                    entry[1] += people * fraction
                    if fraction > entry[3]:
                        entry[2], entry[3] = targeting, fraction
        for (country, language), (fraction, people_days, targeting, _) in served.items():
            cpm = float(params.country(country)["cpm_eur"]) * cpm_factor
            people = people_days / fraction
            impressions = people * params.reachable_share * max_ipp * fraction
            cells.append(
                _Cell(
                    unit_day=member,
                    targeting=targeting,
                    country=country,
                    language=language,
                    audience=people,
                    cpm_eur=cpm,
                    weight=people * quality * fraction,
                    demand_eur=impressions * cpm / 1000,
                )
            )
    return cells


def _allocate(cells: list[_Cell], spendable: float) -> None:
    """Share `spendable` by weight, never above a cell's demand (water-filling)."""
    open_cells = [cell for cell in cells if cell.demand_eur > 0]
    remaining = spendable
    while open_cells and remaining > 1e-9:
        total_weight = sum(cell.weight for cell in open_cells)
        saturated = []
        handed_out = 0.0
        for cell in open_cells:
            offer = remaining * cell.weight / total_weight
            take = min(offer, cell.demand_eur - cell.allocated_eur)
            cell.allocated_eur += take
            handed_out += take
            if cell.demand_eur - cell.allocated_eur <= 1e-9:
                saturated.append(cell)
        remaining -= handed_out
        if not saturated:
            break
        open_cells = [cell for cell in open_cells if cell not in saturated]


def _cell_rows(
    cell: _Cell,
    day: dt.date,
    seed: int,
    params: SimulationParameters,
    links: Mapping[str, LinkTarget],
    eur_per_minor: float,
    as_of: dt.datetime | None,
) -> list[DailyRow]:
    unit = cell.unit_day.unit
    targeting = cell.targeting
    rng = _rng(seed, day, unit.platform, unit.draw_key, cell.country, cell.language)
    impressions = math.floor(cell.allocated_eur / cell.cpm_eur * 1000 * rng.uniform(0.97, 1.0))
    if impressions <= 0:
        return []
    spend_minor = math.floor(impressions * cell.cpm_eur / 1000 / eur_per_minor)

    shares = _device_shares(unit.platform, targeting, params)
    jitter = {device: share * rng.uniform(0.97, 1.03) for device, share in shares.items()}
    total = sum(jitter.values())
    devices = list(jitter)
    device_impressions: dict[str, int] = {}
    left = impressions
    for device in devices[:-1]:
        device_impressions[device] = min(left, round(impressions * jitter[device] / total))
        left -= device_impressions[device]
    device_impressions[devices[-1]] = left

    platform = params.platform(unit.platform)
    quality = creative_quality(unit.creative_text or unit.ad_id, params)
    language_factor = 1.0
    if unit.creative_language and cell.language and unit.creative_language != cell.language:
        language_factor = float(params.raw["language_mismatch_ctr_factor"])
    link = links[unit.final_url]
    role = params.country(cell.country)["role"]
    signpost_rate = float(params.raw["signpost_rate_per_click"]) * float(
        params.raw["role_signpost_factor"][role]
    )
    app_rate = float(params.raw["app_download_rate_per_click"])

    rows = []
    for device, count in device_impressions.items():
        if count <= 0:
            continue
        ctr = float(platform["ctr"][device]) * quality * language_factor
        clicks = min(count, _poisson(rng, count * ctr))
        conversions: dict[str, int] = {}
        app_clicks = 0
        if link.is_app_link:
            app_clicks = _reported(rng, _poisson(rng, clicks * app_rate), day, as_of, params)
        elif link.organisation:
            signposted = _reported(rng, _poisson(rng, clicks * signpost_rate), day, as_of, params)
            if signposted:
                conversions[link.organisation] = signposted
        rows.append(
            DailyRow(
                date=day,
                platform=unit.platform,
                ad_id=unit.ad_id,
                campaign_id=unit.campaign_id,
                group_id=unit.group_id,
                country=cell.country,
                language=cell.language,
                device=device,
                impressions=count,
                clicks=clicks,
                spend_minor=spend_minor * count // impressions,
                currency=unit.currency,
                conversions=conversions,
                app_download_clicks=app_clicks,
            )
        )
    return rows


def _reported(
    rng: random.Random, happened: int, day: dt.date, as_of: dt.datetime | None, params: SimulationParameters
) -> int:
    """Conversions of `day` already reported at `as_of`: each lands after a delay of 0 to max_delay_days.

    The delays are drawn whatever `as_of` is, so later draws (and so every figure) do not depend on it.
    """
    attribution = params.raw["attribution"]
    reported = 0
    for _ in range(happened):
        delay = (
            0
            if rng.random() < attribution["same_day_share"]
            else rng.randint(1, attribution["max_delay_days"])
        )
        if as_of is None or as_utc(day) + dt.timedelta(days=delay + 1) <= as_of:
            reported += 1
    return reported


def _days(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    day = start
    while day <= end:
        yield day
        day += _DAY


def daily_rows(
    units: Sequence[ServingUnit],
    start: dt.date,
    end: dt.date,
    *,
    as_of: dt.datetime | None = None,
    seed: int = 0,
    params: SimulationParameters | None = None,
    organisations: Mapping[str, str] | None = None,
) -> list[DailyRow]:
    """Rows for every day from `start` to `end` inclusive (UTC days), none after `as_of` (simulated now).

    Conversions are those reported by `as_of` (they arrive up to 28 days late); `as_of=None` = final.
    The same call again (a report's rows, its daily totals and its reach ask for the same window) is
    answered from a small cache: the same numbers, simulated once.
    """
    params = params or load_parameters()
    organisations = {} if organisations is None else organisations
    key = (
        tuple(units),
        start,
        end,
        as_utc(as_of) if as_of else None,
        seed,
        id(params),
        tuple(sorted(organisations.items())),
    )
    with _ROWS_LOCK:
        cached = _ROWS_CACHE.get(key)
        if cached is not None:
            _ROWS_CACHE.move_to_end(key)
            return list(cached)
    rows = _daily_rows(units, start, end, as_of, seed, params, organisations)
    with _ROWS_LOCK:
        _ROWS_CACHE[key] = rows
        while len(_ROWS_CACHE) > ROWS_CACHE_SIZE:
            _ROWS_CACHE.popitem(last=False)
    return list(rows)


ROWS_CACHE_SIZE = 2  # a 7-month backfill of one account is ~150k rows: a few at most
_ROWS_CACHE: OrderedDict[tuple[Any, ...], list[DailyRow]] = OrderedDict()
_ROWS_LOCK = threading.Lock()


def _daily_rows(
    units: Sequence[ServingUnit],
    start: dt.date,
    end: dt.date,
    as_of: dt.datetime | None,
    seed: int,
    params: SimulationParameters,
    organisations: Mapping[str, str],
) -> list[DailyRow]:
    # by draw key: the same ads created in another order (a retry) split a shared budget the same way
    units = sorted(units, key=lambda unit: (unit.draw_key, unit.ad_id))
    links = {unit.final_url: resolve_link(unit.final_url, organisations, params) for unit in units}
    as_of = as_utc(as_of) if as_of is not None else None
    timelines = [timeline(unit) for unit in units]
    rows: list[DailyRow] = []
    for day in _days(start, end):
        if as_of is not None and as_utc(day) >= as_of:
            break
        rows.extend(_simulate_day(units, day, as_of, seed, params, links, timelines))
    return rows


# ---------------------------------------------------------------------------------------------------
# Reach


def _reach_of(impressions: float, people: float, params: SimulationParameters) -> float:
    reachable = params.reachable_share * people
    if reachable <= 0 or impressions <= 0:
        return 0.0
    return reachable * (1 - math.exp(-impressions / (reachable * params.base_frequency)))


def reach(
    units: Sequence[ServingUnit],
    start: dt.date,
    end: dt.date,
    *,
    breakdown: Sequence[str] = (),
    as_of: dt.datetime | None = None,
    seed: int = 0,
    params: SimulationParameters | None = None,
    rows: Sequence[DailyRow] | None = None,
) -> dict[tuple[str, ...], int]:
    """Unique people reached from `start` to `end`, per `breakdown` key (from BREAKDOWN_KEYS).

    People in different (country, language, device) segments are different people; people in the
    same segment seen by several ads are counted once (the largest audience among those ads).
    Pass `rows` from `daily_rows` for the same range to avoid simulating twice.
    """
    unknown = set(breakdown) - set(BREAKDOWN_KEYS)
    if unknown:
        raise ValueError(f"unknown reach breakdown {sorted(unknown)}; use {BREAKDOWN_KEYS}")
    params = params or load_parameters()
    if rows is None:
        rows = daily_rows(units, start, end, as_of=as_of, seed=seed, params=params, organisations={})
    by_id = {unit.ad_id: unit for unit in units}
    segment_keys = tuple(dict.fromkeys((*breakdown, "country", "language", "device")))

    # per segment and day: impressions and the audience size (max over the ads serving it that day)
    daily_impressions: dict[tuple[str, ...], dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    daily_people: dict[tuple[str, ...], dict[dt.date, float]] = defaultdict(lambda: defaultdict(float))
    targeting_cache: dict[tuple[str, dt.date], Targeting] = {}
    for row in rows:
        if not start <= row.date <= end:
            continue
        segment = row.key(segment_keys)
        daily_impressions[segment][row.date] += row.impressions
        people = _row_audience(row, by_id, params, targeting_cache)
        if people > daily_people[segment][row.date]:
            daily_people[segment][row.date] = people

    totals: dict[tuple[str, ...], float] = defaultdict(float)
    for segment, per_day in daily_impressions.items():
        people_by_day = daily_people[segment]
        period_people = max(people_by_day.values())
        daily_reach = [_reach_of(count, people_by_day[day], params) for day, count in per_day.items()]
        period = _reach_of(sum(per_day.values()), period_people, params)
        period = min(max(period, max(daily_reach)), sum(daily_reach))
        totals[segment[: len(breakdown)]] += period
    return {key: round(value) for key, value in sorted(totals.items())}


def _row_audience(
    row: DailyRow,
    by_id: Mapping[str, ServingUnit],
    params: SimulationParameters,
    cache: dict[tuple[str, dt.date], Targeting],
) -> float:
    unit = by_id.get(row.ad_id)
    if unit is None:
        return 0.0
    targeting = cache.get((row.ad_id, row.date))
    if targeting is None:
        targeting = cache[(row.ad_id, row.date)] = _targeting_on(unit, row.date)
    shares = dict(_language_cells(row.country, targeting, params))
    people = audience(row.country, shares.get(row.language, 0.0), targeting, unit.platform, params)
    device_shares = _device_shares(unit.platform, targeting, params)
    return people * device_shares.get(row.device, 0.0)


def _targeting_on(unit: ServingUnit, day: dt.date) -> Targeting:
    unit_day = _unit_day(unit, day, None)
    if unit_day is not None:
        return unit_day.targeting
    return sorted(unit.history, key=lambda state: as_utc(state.since))[-1].targeting


def summarise(rows: Iterable[DailyRow]) -> dict[str, Any]:
    """Totals over rows: impressions, clicks, spend by currency, mobile share, signposted, app downloads."""
    impressions = clicks = mobile = mobile_clicks = app = 0
    spend: dict[str, int] = defaultdict(int)
    signposted: dict[str, int] = defaultdict(int)
    for row in rows:
        impressions += row.impressions
        clicks += row.clicks
        spend[row.currency] += row.spend_minor
        app += row.app_download_clicks
        if row.device == "mobile":
            mobile += row.impressions
            mobile_clicks += row.clicks
        for org, count in row.conversions.items():
            signposted[org] += count
    return {
        "impressions": impressions,
        "clicks": clicks,
        "spend_minor": dict(spend),
        "mobile_share": mobile / impressions if impressions else 0.0,
        "mobile_click_share": mobile_clicks / clicks if clicks else 0.0,
        "signposted": sum(signposted.values()),
        "signposted_by_organisation": dict(signposted),
        "app_download_clicks": app,
        "note": SIMULATION_NOTE,
    }
