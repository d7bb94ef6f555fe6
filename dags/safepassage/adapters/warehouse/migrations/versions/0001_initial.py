"""initial warehouse schema

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-28 01:00:11.248629
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "budget_allocation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("for_date", sa.Date(), nullable=False),
        sa.Column("inputs_hash", sa.String(length=64), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_allocation")),
        sa.UniqueConstraint("inputs_hash", name=op.f("uq_budget_allocation_inputs_hash")),
    )
    with op.batch_alter_table("budget_allocation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_budget_allocation_for_date"), ["for_date"], unique=False)

    op.create_table(
        "dim_country",
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("google_geo_target_id", sa.BigInteger(), nullable=False),
        sa.Column("meta_country_code", sa.String(length=2), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_dim_country")),
        sa.UniqueConstraint("google_geo_target_id", name=op.f("uq_dim_country_google_geo_target_id")),
    )
    op.create_table(
        "dim_language",
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("native_name", sa.String(length=40), nullable=False),
        sa.Column("script", sa.String(length=16), nullable=False),
        sa.Column("google_language_id", sa.BigInteger(), nullable=False),
        sa.Column("meta_locale_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_dim_language")),
        sa.UniqueConstraint("google_language_id", name=op.f("uq_dim_language_google_language_id")),
    )
    op.create_table(
        "dim_platform",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_dim_platform")),
    )
    op.create_table(
        "dim_support_organisation",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("helpline", sa.String(length=32), nullable=True),
        sa.Column("countries", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dim_support_organisation")),
    )
    op.create_table(
        "targeting_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("judgement_id", sa.String(length=128), nullable=False),
        sa.Column("judgement_hash", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("targeting", sa.JSON(), nullable=False),
        sa.Column("diff_from_previous", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targeting_snapshot")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_targeting_snapshot_content_hash")),
    )
    with op.batch_alter_table("targeting_snapshot", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_targeting_snapshot_judgement_id"), ["judgement_id"], unique=False
        )

    op.create_table(
        "budget_allocation_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("allocation_id", sa.Integer(), nullable=False),
        sa.Column("platform_code", sa.String(length=16), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("daily_amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("weight", sa.Numeric(precision=12, scale=8, asdecimal=False), nullable=False),
        sa.CheckConstraint("daily_amount_minor >= 0", name=op.f("ck_budget_allocation_line_non_negative")),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["budget_allocation.id"],
            name=op.f("fk_budget_allocation_line_allocation_id_budget_allocation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["country_code"],
            ["dim_country.code"],
            name=op.f("fk_budget_allocation_line_country_code_dim_country"),
        ),
        sa.ForeignKeyConstraint(
            ["platform_code"],
            ["dim_platform.code"],
            name=op.f("fk_budget_allocation_line_platform_code_dim_platform"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_allocation_line")),
        sa.UniqueConstraint(
            "allocation_id",
            "platform_code",
            "country_code",
            name=op.f("uq_budget_allocation_line_allocation_id_platform_code_country_code"),
        ),
    )
    op.create_table(
        "creative_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("theme", sa.String(length=64), nullable=False),
        sa.Column("platform_code", sa.String(length=16), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("language_code", sa.String(length=3), nullable=False),
        sa.Column("template_id", sa.String(length=200), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["country_code"], ["dim_country.code"], name=op.f("fk_creative_version_country_code_dim_country")
        ),
        sa.ForeignKeyConstraint(
            ["language_code"],
            ["dim_language.code"],
            name=op.f("fk_creative_version_language_code_dim_language"),
        ),
        sa.ForeignKeyConstraint(
            ["platform_code"],
            ["dim_platform.code"],
            name=op.f("fk_creative_version_platform_code_dim_platform"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creative_version")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_creative_version_content_hash")),
    )
    op.create_table(
        "dim_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_code", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_code"], ["dim_platform.code"], name=op.f("fk_dim_account_platform_code_dim_platform")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dim_account")),
        sa.UniqueConstraint(
            "platform_code", "external_id", name=op.f("uq_dim_account_platform_code_external_id")
        ),
    )
    op.create_table(
        "push_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_code", sa.String(length=16), nullable=False),
        sa.Column("account_external_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("operations", sa.JSON(), nullable=False),
        sa.Column("approval_reasons", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("dag_run_id", sa.String(length=250), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_code"], ["dim_platform.code"], name=op.f("fk_push_plan_platform_code_dim_platform")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_plan")),
    )
    with op.batch_alter_table("push_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_plan_status"), ["status"], unique=False)

    op.create_table(
        "apply_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("request_kind", sa.String(length=64), nullable=False),
        sa.Column("operation_count", sa.Integer(), nullable=False),
        sa.Column("validate_only", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column(
            "sent_at", sa.DateTime(timezone=True), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["push_plan.id"], name=op.f("fk_apply_log_plan_id_push_plan"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apply_log")),
        sa.UniqueConstraint("plan_id", "sequence", name=op.f("uq_apply_log_plan_id_sequence")),
    )
    op.create_table(
        "dim_campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=True),
        sa.Column("theme", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "first_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["dim_account.id"], name=op.f("fk_dim_campaign_account_id_dim_account")
        ),
        sa.ForeignKeyConstraint(
            ["country_code"], ["dim_country.code"], name=op.f("fk_dim_campaign_country_code_dim_country")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dim_campaign")),
        sa.UniqueConstraint("account_id", "external_id", name=op.f("uq_dim_campaign_account_id_external_id")),
    )
    op.create_table(
        "fact_period_reach",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_code", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("scope_level", sa.String(length=16), nullable=False),
        sa.Column("scope_external_id", sa.String(length=64), nullable=False),
        sa.Column("country_code", sa.String(length=3), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("reach", sa.BigInteger(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column(
            "retrieved_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint("window_end >= window_start", name=op.f("ck_fact_period_reach_window_order")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["dim_account.id"], name=op.f("fk_fact_period_reach_account_id_dim_account")
        ),
        sa.ForeignKeyConstraint(
            ["platform_code"],
            ["dim_platform.code"],
            name=op.f("fk_fact_period_reach_platform_code_dim_platform"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fact_period_reach")),
        sa.UniqueConstraint(
            "platform_code",
            "account_id",
            "scope_level",
            "scope_external_id",
            "country_code",
            "window_start",
            "window_end",
            name="uq_fact_period_reach_window",
        ),
    )
    op.create_table(
        "dim_ad_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("language_code", sa.String(length=3), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["dim_campaign.id"], name=op.f("fk_dim_ad_group_campaign_id_dim_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["language_code"], ["dim_language.code"], name=op.f("fk_dim_ad_group_language_code_dim_language")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dim_ad_group")),
        sa.UniqueConstraint(
            "campaign_id", "external_id", name=op.f("uq_dim_ad_group_campaign_id_external_id")
        ),
    )
    op.create_table(
        "dim_ad",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ad_group_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("creative_version_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["ad_group_id"], ["dim_ad_group.id"], name=op.f("fk_dim_ad_ad_group_id_dim_ad_group")
        ),
        sa.ForeignKeyConstraint(
            ["creative_version_id"],
            ["creative_version.id"],
            name=op.f("fk_dim_ad_creative_version_id_creative_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dim_ad")),
        sa.UniqueConstraint("ad_group_id", "external_id", name=op.f("uq_dim_ad_ad_group_id_external_id")),
    )
    op.create_table(
        "fact_daily_performance",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("platform_code", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("ad_group_id", sa.Integer(), nullable=False),
        sa.Column("ad_id", sa.Integer(), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("language_code", sa.String(length=3), nullable=False),
        sa.Column("device", sa.String(length=16), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("cost_minor", sa.BigInteger(), nullable=False),
        sa.Column("signposting_clicks", sa.BigInteger(), nullable=False),
        sa.Column("app_download_clicks", sa.BigInteger(), nullable=False),
        sa.Column(
            "loaded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "impressions >= 0 AND clicks >= 0 AND cost_minor >= 0",
            name=op.f("ck_fact_daily_performance_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["dim_account.id"], name=op.f("fk_fact_daily_performance_account_id_dim_account")
        ),
        sa.ForeignKeyConstraint(
            ["ad_group_id"],
            ["dim_ad_group.id"],
            name=op.f("fk_fact_daily_performance_ad_group_id_dim_ad_group"),
        ),
        sa.ForeignKeyConstraint(
            ["ad_id"], ["dim_ad.id"], name=op.f("fk_fact_daily_performance_ad_id_dim_ad")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["dim_campaign.id"],
            name=op.f("fk_fact_daily_performance_campaign_id_dim_campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["country_code"],
            ["dim_country.code"],
            name=op.f("fk_fact_daily_performance_country_code_dim_country"),
        ),
        sa.ForeignKeyConstraint(
            ["language_code"],
            ["dim_language.code"],
            name=op.f("fk_fact_daily_performance_language_code_dim_language"),
        ),
        sa.ForeignKeyConstraint(
            ["platform_code"],
            ["dim_platform.code"],
            name=op.f("fk_fact_daily_performance_platform_code_dim_platform"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fact_daily_performance")),
        sa.UniqueConstraint(
            "date",
            "platform_code",
            "account_id",
            "campaign_id",
            "ad_group_id",
            "ad_id",
            "country_code",
            "language_code",
            "device",
            name="uq_fact_daily_performance_grain",
        ),
    )
    with op.batch_alter_table("fact_daily_performance", schema=None) as batch_op:
        batch_op.create_index(
            "ix_fact_daily_performance_date_country", ["date", "country_code"], unique=False
        )

    op.create_table(
        "fact_daily_signposting",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("platform_code", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("ad_group_id", sa.Integer(), nullable=False),
        sa.Column("ad_id", sa.Integer(), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("language_code", sa.String(length=3), nullable=False),
        sa.Column("device", sa.String(length=16), nullable=False),
        sa.Column("organisation_id", sa.String(length=64), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column(
            "loaded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["dim_account.id"], name=op.f("fk_fact_daily_signposting_account_id_dim_account")
        ),
        sa.ForeignKeyConstraint(
            ["ad_group_id"],
            ["dim_ad_group.id"],
            name=op.f("fk_fact_daily_signposting_ad_group_id_dim_ad_group"),
        ),
        sa.ForeignKeyConstraint(
            ["ad_id"], ["dim_ad.id"], name=op.f("fk_fact_daily_signposting_ad_id_dim_ad")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["dim_campaign.id"],
            name=op.f("fk_fact_daily_signposting_campaign_id_dim_campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["country_code"],
            ["dim_country.code"],
            name=op.f("fk_fact_daily_signposting_country_code_dim_country"),
        ),
        sa.ForeignKeyConstraint(
            ["language_code"],
            ["dim_language.code"],
            name=op.f("fk_fact_daily_signposting_language_code_dim_language"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["dim_support_organisation.id"],
            name=op.f("fk_fact_daily_signposting_organisation_id_dim_support_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["platform_code"],
            ["dim_platform.code"],
            name=op.f("fk_fact_daily_signposting_platform_code_dim_platform"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fact_daily_signposting")),
        sa.UniqueConstraint(
            "date",
            "platform_code",
            "account_id",
            "campaign_id",
            "ad_group_id",
            "ad_id",
            "country_code",
            "language_code",
            "device",
            "organisation_id",
            name="uq_fact_daily_signposting_grain",
        ),
    )


def downgrade() -> None:

    op.drop_table("fact_daily_signposting")
    with op.batch_alter_table("fact_daily_performance", schema=None) as batch_op:
        batch_op.drop_index("ix_fact_daily_performance_date_country")

    op.drop_table("fact_daily_performance")
    op.drop_table("dim_ad")
    op.drop_table("dim_ad_group")
    op.drop_table("fact_period_reach")
    op.drop_table("dim_campaign")
    op.drop_table("apply_log")
    with op.batch_alter_table("push_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_plan_status"))

    op.drop_table("push_plan")
    op.drop_table("dim_account")
    op.drop_table("creative_version")
    op.drop_table("budget_allocation_line")
    with op.batch_alter_table("targeting_snapshot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_targeting_snapshot_judgement_id"))

    op.drop_table("targeting_snapshot")
    op.drop_table("dim_support_organisation")
    op.drop_table("dim_platform")
    op.drop_table("dim_language")
    op.drop_table("dim_country")
    with op.batch_alter_table("budget_allocation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_budget_allocation_for_date"))

    op.drop_table("budget_allocation")
