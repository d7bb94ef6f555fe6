"""`safepassage config check`: validate config/ and print a one-screen summary."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from safepassage.domain.campaign import CampaignConfig


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("config", help="campaign configuration")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="validate config/ and summarise it")
    check.add_argument("--config-dir", type=Path, default=None, help="default: the project's config/")
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    """Every file in config/ the DAGs read, so a broken push.yaml fails here, not mid-push."""
    from safepassage.domain.errors import InvalidInput, Problem
    from safepassage.orchestration.pools import load_pool_settings
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.impact import load_reporting_settings
    from safepassage.services.performance import load_performance_settings
    from safepassage.services.push_settings import load_push_settings

    problems: list[Problem] = []
    config: CampaignConfig | None = None
    try:
        config = load_campaign_config(args.config_dir)
    except InvalidInput as error:
        problems.extend(error.problems)
    # push.yaml is checked against the campaign config, so only once that is valid.
    loaders = [load_performance_settings, load_reporting_settings, load_pool_settings]
    for load in ([load_push_settings] if config is not None else []) + loaders:
        try:
            load(args.config_dir)
        except InvalidInput as error:
            problems.extend(error.problems)
    if problems or config is None:
        raise InvalidInput(problems)
    print(summarise(config))
    return 0


def summarise(config: CampaignConfig) -> str:
    budget = config.budget
    served = Counter(code for country in config.countries for code in country.languages)
    lines = [
        "Campaign configuration is valid.",
        "",
        f"Countries ({len(config.countries)}):",
    ]
    for country in config.countries:
        orgs = len(config.organisations_for(country.code))
        lines.append(
            f"  {country.code} {country.name:<15} {country.role:<11} {country.currency}  "
            f"langs {','.join(country.languages):<12} orgs {orgs:>2}  "
            f"cap {budget.country_cap(country.code):>7.2f} floor {budget.country_floor(country.code):>6.2f}"
        )
    lines += [
        "",
        f"Languages ({len(config.languages)}): "
        + ", ".join(f"{lang.code} {lang.name} ({served[lang.code]} countries)" for lang in config.languages),
        f"Support organisations: {len(config.organisations)} "
        f"({sum(1 for org in config.organisations if org.helpline)} with a public helpline)",
        f"Budget: global daily cap {budget.global_daily_cap} {budget.currency}; "
        f"default country cap {budget.default_country_daily_cap}; "
        f"sum of floors {sum(budget.country_floor(c.code) for c in config.countries)}",
        "Platforms: "
        + ", ".join(
            f"{platform.value} {'on' if defaults.enabled else 'off'}"
            for platform, defaults in config.policy.platforms.items()
        )
        + f"; {len(config.policy.rules)} country rule(s)",
    ]
    return "\n".join(lines)
