"""config/push.yaml: budget spreading, approval thresholds and the platform accounts. Pure data."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, model_validator

from safepassage.domain.approval import ApprovalThresholds
from safepassage.domain.budgets import AllocationRules, minor_to_micros, to_minor
from safepassage.domain.campaign import CampaignConfig, ConfigFinding, CountryCode, Frozen, Money, Platform


class PerformanceFactor(Frozen):
    min: Decimal = Field(default=Decimal("0.5"), gt=0, le=1)
    max: Decimal = Field(default=Decimal("2"), ge=1)


class ApprovalSettings(Frozen):
    budget_change_share: Decimal = Field(default=Decimal("0.20"), ge=0)
    daily_spend_threshold: Money
    new_country: bool = True
    new_creative_version: bool = True


class ReviewSettings(Frozen):
    """Who may decide a plan that waits, and where the review is announced."""

    approvers: tuple[str, ...] = Field(
        default=(), description="Airflow user ids allowed to decide; empty: anyone who may edit the DAG"
    )
    notify_connection_id: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9_.-]*$",
        description="an Airflow HTTP Connection the review summary is POSTed to; empty: the task log only",
    )


class PlatformAccount(Frozen):
    platform: Platform
    customer_id: str | None = Field(
        default=None,
        pattern=r"^[0-9]{10}$|^act_[0-9]+$",
        description="Google: 10 digits, no dashes; empty: the next id the Connection lists",
    )
    name: str = ""
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    countries: tuple[CountryCode, ...] = Field(default=(), description="empty: every campaign country")

    def serves(self, country: str) -> bool:
        return not self.countries or country in self.countries


class PushSettings(Frozen):
    daily_budget: Money
    max_daily_change_share: Decimal = Field(default=Decimal("0.25"), ge=0, le=1)
    platform_shares: dict[Platform, float] = Field(min_length=1)
    performance_factor: PerformanceFactor = PerformanceFactor()
    approval: ApprovalSettings
    review: ReviewSettings = ReviewSettings()
    accounts: tuple[PlatformAccount, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _shares_positive(self) -> PushSettings:
        if any(share < 0 for share in self.platform_shares.values()) or not sum(
            self.platform_shares.values()
        ):
            raise ValueError("platform_shares must be ≥ 0 and not all zero")
        return self

    def accounts_for(self, platform: Platform) -> list[PlatformAccount]:
        return [account for account in self.accounts if account.platform == platform]

    def resolve_customer_ids(
        self, platform: Platform, connection_ids: tuple[str, ...]
    ) -> list[PlatformAccount]:
        """Accounts with their ids: explicit ones must be in the Connection (when it lists any); the
        others take the Connection's remaining ids in order."""
        accounts = self.accounts_for(platform)
        spare = [cid for cid in connection_ids if cid not in {a.customer_id for a in accounts}]
        resolved = []
        for account in accounts:
            if account.customer_id is None:
                if not spare:
                    raise ValueError(
                        f"no customer id for {platform.value} account {account.name!r}: set "
                        "customer_id in config/push.yaml or list it in the Connection"
                    )
                account = account.model_copy(update={"customer_id": spare.pop(0)})
            elif connection_ids and account.customer_id not in connection_ids:
                raise ValueError(
                    f"customer {account.customer_id} is not among the Connection's {connection_ids}"
                )
            resolved.append(account)
        return resolved

    def allocation_rules(self, config: CampaignConfig) -> AllocationRules:
        currency = config.budget.currency
        return AllocationRules(
            currency=currency,
            daily_budget_minor=to_minor(self.daily_budget, currency),
            global_daily_cap_minor=to_minor(config.budget.global_daily_cap, currency),
            country_caps_minor={
                c.code: to_minor(config.budget.country_cap(c.code), currency) for c in config.countries
            },
            country_floors_minor={
                c.code: to_minor(config.budget.country_floor(c.code), currency) for c in config.countries
            },
            max_daily_change_share=self.max_daily_change_share,
            performance_factor_bounds=(self.performance_factor.min, self.performance_factor.max),
        )

    def approval_thresholds(self, currency: str) -> ApprovalThresholds:
        return ApprovalThresholds(
            budget_change_share=self.approval.budget_change_share,
            daily_spend_threshold_micros=minor_to_micros(
                to_minor(self.approval.daily_spend_threshold, currency), currency
            ),
            new_country=self.approval.new_country,
            new_creative_version=self.approval.new_creative_version,
            currency=currency,
        )


def cross_check_push(settings: PushSettings, config: CampaignConfig) -> list[ConfigFinding]:
    """push.yaml against the campaign config: budgets inside the caps, accounts in known places."""
    findings: list[ConfigFinding] = []
    budget = config.budget
    if settings.daily_budget > budget.global_daily_cap:
        findings.append(
            ConfigFinding(
                "push",
                ("daily_budget",),
                f"{settings.daily_budget:.2f} is above the global daily cap "
                f"{budget.global_daily_cap:.2f} in config/budget.yaml",
            )
        )
    floors = sum((budget.country_floor(c.code) for c in config.countries), Decimal(0))
    if floors > settings.daily_budget:
        findings.append(
            ConfigFinding(
                "push",
                ("daily_budget",),
                f"{settings.daily_budget:.2f} is below the sum of the country "
                f"floors {floors:.2f} in config/budget.yaml",
            )
        )
    seen: dict[tuple[str, str], int] = {}
    for index, account in enumerate(settings.accounts):
        if account.currency != budget.currency:
            findings.append(
                ConfigFinding(
                    "push",
                    ("accounts", index, "currency"),
                    f"{account.currency} differs from the "
                    f"campaign currency {budget.currency}; accounts must bill in it",
                )
            )
        for position, code in enumerate(account.countries):
            if code not in config.country_by_code:
                findings.append(
                    ConfigFinding(
                        "push", ("accounts", index, "countries", position), f"unknown country {code!r}"
                    )
                )
        for code in account.countries or tuple(config.country_by_code):
            key = (account.platform.value, code)
            if key in seen:
                findings.append(
                    ConfigFinding(
                        "push",
                        ("accounts", index, "countries"),
                        f"{code} is already served on {account.platform.value} by accounts[{seen[key]}]",
                    )
                )
                break
            seen[key] = index
    return findings
