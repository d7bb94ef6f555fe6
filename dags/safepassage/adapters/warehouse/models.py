"""Warehouse schema (SQLAlchemy 2 typed models). Alembic migrations in `migrations/` must match.

Star schema: dimensions for what the campaign is made of, facts at the platform's daily grain,
and records of what SafePassage decided (targeting snapshots, budget allocations, push plans).
Nothing here holds personal data: the finest grain is date × ad × country × language × device.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


# --- dimensions -------------------------------------------------------------------------------


class Country(Base):
    __tablename__ = "dim_country"
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    time_zone: Mapped[str] = mapped_column(String(64))
    google_geo_target_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    meta_country_code: Mapped[str] = mapped_column(String(2))


class Language(Base):
    __tablename__ = "dim_language"
    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    native_name: Mapped[str] = mapped_column(String(40))
    script: Mapped[str] = mapped_column(String(16))
    google_language_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    meta_locale_ids: Mapped[list[Any]] = mapped_column(JSON)


class Platform(Base):
    __tablename__ = "dim_platform"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


class SupportOrganisation(Base):
    __tablename__ = "dim_support_organisation"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500))
    helpline: Mapped[str | None] = mapped_column(String(32))
    countries: Mapped[list[Any]] = mapped_column(JSON)
    languages: Mapped[list[Any]] = mapped_column(JSON)


class Account(Base):
    __tablename__ = "dim_account"
    __table_args__ = (UniqueConstraint("platform_code", "external_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_code: Mapped[str] = mapped_column(ForeignKey("dim_platform.code"))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    currency: Mapped[str] = mapped_column(String(3))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")


class Campaign(Base):
    """A campaign as pushed to (and reported by) a platform."""

    __tablename__ = "dim_campaign"
    __table_args__ = (UniqueConstraint("account_id", "external_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("dim_account.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    country_code: Mapped[str | None] = mapped_column(ForeignKey("dim_country.code"))
    theme: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="UNKNOWN")
    first_seen_at: Mapped[dt.datetime] = _now()
    last_seen_at: Mapped[dt.datetime] = _now()


class AdGroup(Base):
    """Google Ads ad group or Meta ad set."""

    __tablename__ = "dim_ad_group"
    __table_args__ = (UniqueConstraint("campaign_id", "external_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("dim_campaign.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    language_code: Mapped[str | None] = mapped_column(ForeignKey("dim_language.code"))
    status: Mapped[str] = mapped_column(String(16), default="UNKNOWN")


class CreativeVersion(Base):
    """One rendered creative, identified by the hash of its content; unchanged templates add none."""

    __tablename__ = "creative_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    theme: Mapped[str] = mapped_column(String(64))
    platform_code: Mapped[str] = mapped_column(ForeignKey("dim_platform.code"))
    country_code: Mapped[str] = mapped_column(ForeignKey("dim_country.code"))
    language_code: Mapped[str] = mapped_column(ForeignKey("dim_language.code"))
    template_id: Mapped[str] = mapped_column(String(200))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = _now()


class Ad(Base):
    __tablename__ = "dim_ad"
    __table_args__ = (UniqueConstraint("ad_group_id", "external_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ad_group_id: Mapped[int] = mapped_column(ForeignKey("dim_ad_group.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    creative_version_id: Mapped[int | None] = mapped_column(ForeignKey("creative_version.id"))
    status: Mapped[str] = mapped_column(String(16), default="UNKNOWN")
    # Attribution from the ad's tracked link (never from a tag on the organisation's site): where a
    # click on this ad goes (organisation | app | other), which organisation, which theme.
    final_url: Mapped[str | None] = mapped_column(String(2000))
    link_destination: Mapped[str | None] = mapped_column(String(16))
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("dim_support_organisation.id"))
    theme: Mapped[str | None] = mapped_column(String(64))


# --- decisions --------------------------------------------------------------------------------


class TargetingSnapshot(Base):
    """Targeting derived from one key judgement; a re-run with the same inputs stores nothing new."""

    __tablename__ = "targeting_snapshot"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    judgement_id: Mapped[str] = mapped_column(String(128), index=True)
    judgement_hash: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    targeting: Mapped[dict[str, Any]] = mapped_column(JSON)
    diff_from_previous: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = _now()


class KeyJudgementRecord(Base):
    """The judgement store: every published key judgement, the newest version per id.

    Events only wake `refresh_targeting` up; it reads the judgements from here.
    """

    __tablename__ = "key_judgement"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    issued: Mapped[dt.date] = mapped_column(Date)
    valid_from: Mapped[dt.date] = mapped_column(Date, index=True)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_name: Mapped[str] = mapped_column(String(500), default="")
    published_at: Mapped[dt.datetime] = _now()


class BudgetAllocation(Base):
    __tablename__ = "budget_allocation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    for_date: Mapped[dt.date] = mapped_column(Date, index=True)
    inputs_hash: Mapped[str] = mapped_column(String(64), unique=True)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[dt.datetime] = _now()


class BudgetAllocationLine(Base):
    __tablename__ = "budget_allocation_line"
    __table_args__ = (
        UniqueConstraint("allocation_id", "platform_code", "country_code"),
        CheckConstraint("daily_amount_minor >= 0", name="non_negative"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("budget_allocation.id", ondelete="CASCADE"))
    platform_code: Mapped[str] = mapped_column(ForeignKey("dim_platform.code"))
    country_code: Mapped[str] = mapped_column(ForeignKey("dim_country.code"))
    daily_amount_minor: Mapped[int] = mapped_column(BigInteger)
    weight: Mapped[float] = mapped_column(Numeric(12, 8, asdecimal=False))


class PushPlan(Base):
    """Desired state diffed against what a platform reported: what would be created/updated/removed."""

    __tablename__ = "push_plan"
    # One plan per DAG run and account: a retried or cleared plan task updates it, never adds one.
    __table_args__ = (UniqueConstraint("dag_run_id", "platform_code", "account_external_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_code: Mapped[str] = mapped_column(ForeignKey("dim_platform.code"))
    account_external_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24), index=True)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    operations: Mapped[list[Any]] = mapped_column(JSON)
    approval_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decision_note: Mapped[str | None] = mapped_column(Text)
    dag_run_id: Mapped[str | None] = mapped_column(String(250))
    created_at: Mapped[dt.datetime] = _now()
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ApplyLogEntry(Base):
    """Every request sent to a platform while applying a plan, and what came back."""

    __tablename__ = "apply_log"
    __table_args__ = (UniqueConstraint("plan_id", "sequence"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("push_plan.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer)
    request_kind: Mapped[str] = mapped_column(String(64))
    operation_count: Mapped[int] = mapped_column(Integer)
    validate_only: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str] = mapped_column(String(24))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sent_at: Mapped[dt.datetime] = _now()


class CountryPause(Base):
    """The kill switch: everything in one country paused on every platform, by whom and why.
    A pause is active until `resumed_at` is set; plans keep the country paused meanwhile."""

    __tablename__ = "country_pause"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    country_code: Mapped[str] = mapped_column(ForeignKey("dim_country.code"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    paused_by: Mapped[str] = mapped_column(String(128))
    paused_at: Mapped[dt.datetime] = _now()
    platform_results: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    resumed_by: Mapped[str | None] = mapped_column(String(128))
    resumed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


# --- facts ------------------------------------------------------------------------------------

PERFORMANCE_GRAIN = (
    "date",
    "platform_code",
    "account_id",
    "campaign_id",
    "ad_group_id",
    "ad_id",
    "country_code",
    "language_code",
    "device",
    "placement",
)


class _PerformanceGrain:
    """The columns of the daily performance grain, shared by the fact tables.

    The dimension keys carry no FOREIGN KEY constraints: checking seven of them per row cost the bulk
    load most of its time (PostgreSQL runs one trigger lookup per key and row). The only writer,
    `performance_store.replace_window`, takes every id from the dimensions in the same transaction
    and refuses unknown countries and languages, so the references hold by construction."""

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date)
    platform_code: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[int] = mapped_column(Integer)
    ad_group_id: Mapped[int] = mapped_column(Integer)
    ad_id: Mapped[int] = mapped_column(Integer)
    country_code: Mapped[str] = mapped_column(String(2))
    language_code: Mapped[str] = mapped_column(String(3))
    device: Mapped[str] = mapped_column(String(16))
    # Google: "search"; Meta: the publisher platform (facebook, instagram, audience_network, messenger)
    placement: Mapped[str] = mapped_column(String(24), server_default="")
    loaded_at: Mapped[dt.datetime] = _now()


class DailyPerformance(_PerformanceGrain, Base):
    """Additive daily metrics at the platform's finest useful grain. Re-pulls replace, never add."""

    __tablename__ = "fact_daily_performance"
    __table_args__ = (
        UniqueConstraint(*PERFORMANCE_GRAIN, name="uq_fact_daily_performance_grain"),
        CheckConstraint("impressions >= 0 AND clicks >= 0 AND cost_minor >= 0", name="non_negative"),
        Index("ix_fact_daily_performance_date_country", "date", "country_code"),
    )
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    signposting_clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    app_download_clicks: Mapped[int] = mapped_column(BigInteger, default=0)


class DailySignposting(_PerformanceGrain, Base):
    """Signposting clicks per support organisation, at the performance grain plus the organisation."""

    __tablename__ = "fact_daily_signposting"
    __table_args__ = (
        UniqueConstraint(*PERFORMANCE_GRAIN, "organisation_id", name="uq_fact_daily_signposting_grain"),
    )
    organisation_id: Mapped[str] = mapped_column(String(64))
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)


# One reach figure per platform account, scope and country over one window: the table's natural key,
# which the upsert and the checksum in performance_store name too.
REACH_GRAIN = (
    "platform_code",
    "account_id",
    "scope_level",
    "scope_external_id",
    "country_code",
    "window_start",
    "window_end",
)


class PeriodReach(Base):
    """Unique reach for one reporting window, as the platform reports it. Reach is not additive:
    never sum rows across windows, campaigns or countries."""

    __tablename__ = "fact_period_reach"
    __table_args__ = (
        UniqueConstraint(*REACH_GRAIN, name="uq_fact_period_reach_window"),
        CheckConstraint("window_end >= window_start", name="window_order"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_code: Mapped[str] = mapped_column(ForeignKey("dim_platform.code"))
    account_id: Mapped[int] = mapped_column(ForeignKey("dim_account.id"))
    scope_level: Mapped[str] = mapped_column(String(16))  # account | campaign
    scope_external_id: Mapped[str] = mapped_column(String(64))
    country_code: Mapped[str] = mapped_column(String(3))  # ISO code, or ALL
    window_start: Mapped[dt.date] = mapped_column(Date)
    window_end: Mapped[dt.date] = mapped_column(Date)
    reach: Mapped[int] = mapped_column(BigInteger)
    impressions: Mapped[int] = mapped_column(BigInteger)
    retrieved_at: Mapped[dt.datetime] = _now()


class PartnerOutcome(Base):
    """People signposted to safety, as partner organisations report it: aggregate counts per
    organisation, country and month (from intelligence/outcomes/). No platform can see this."""

    __tablename__ = "fact_partner_outcome"
    __table_args__ = (
        UniqueConstraint("organisation_id", "country_code", "month", name="uq_fact_partner_outcome_cell"),
        CheckConstraint("people_signposted_to_safety >= 0", name="non_negative"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("dim_support_organisation.id"))
    country_code: Mapped[str] = mapped_column(ForeignKey("dim_country.code"))
    month: Mapped[dt.date] = mapped_column(Date)  # first day of the month
    people_signposted_to_safety: Mapped[int] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(String(16))  # reported | illustrative
    source_name: Mapped[str] = mapped_column(String(500))
    loaded_at: Mapped[dt.datetime] = _now()
