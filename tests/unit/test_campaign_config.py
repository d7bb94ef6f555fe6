"""The shipped campaign configuration, and every kind of bad edit a person could make to it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from safepassage import settings
from safepassage.cli import main
from safepassage.domain.campaign import Platform
from safepassage.domain.errors import InvalidInput
from safepassage.services.campaign_config import load_campaign_config


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(settings.config_dir(), target)
    return target


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def problems(config_dir: Path) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        load_campaign_config(config_dir)
    return [str(problem) for problem in caught.value.problems]


def test_shipped_config_describes_the_2022_campaign() -> None:
    config = load_campaign_config()
    assert len(config.countries) == 19
    assert len(config.languages) == 9
    assert len(config.organisations) >= 30
    assert {"UA", "PL", "RO", "MD", "HU", "SK"} <= set(config.country_by_code)
    assert {lang.code for lang in config.languages} >= {"uk", "ru", "en"}
    for country in config.countries:
        assert config.organisations_for(country.code), country.code
        assert country.google_geo_target_id > 2000
    assert (
        sum(config.budget.country_floor(c.code) for c in config.countries) <= config.budget.global_daily_cap
    )


def test_config_is_loaded_once_and_cached() -> None:
    assert load_campaign_config() is load_campaign_config()


def test_unknown_country_code_names_file_line_and_field(config_copy: Path) -> None:
    orgs = config_copy / "organisations.yaml"
    edit(
        orgs,
        "countries: [UA]\n    languages: [uk, ru, en]\n    services: [national hotline",
        "countries: [XX]\n    languages: [uk, ru, en]\n    services: [national hotline",
    )
    found = problems(config_copy)
    expected_line = line_of(orgs, "countries: [XX]")
    assert any(
        p.startswith(f"config/organisations.yaml:{expected_line}: organisations[1].countries[0]")
        and "unknown country 'XX'" in p
        for p in found
    ), found


def test_duplicate_country_code(config_copy: Path) -> None:
    countries = config_copy / "countries.yaml"
    edit(countries, "  - code: RO\n", "  - code: PL\n")
    found = problems(config_copy)
    assert any(
        re.match(r"config/countries\.yaml:\d+: countries\[2\]\.code: duplicate code 'PL'", p) for p in found
    ), found


def test_duplicate_organisation_id(config_copy: Path) -> None:
    edit(config_copy / "organisations.yaml", "id: homo-faber", "id: la-strada-poland")
    found = problems(config_copy)
    assert any("organisations[5].id: duplicate id 'la-strada-poland'" in p for p in found), found


def test_language_no_country_uses(config_copy: Path) -> None:
    languages = config_copy / "languages.yaml"
    languages.write_text(
        languages.read_text(encoding="utf-8")
        + "  - code: fr\n    name: French\n    native_name: Français\n    script: Latin\n"
        "    google_language_id: 1002\n    meta_locale_ids: [9]\n",
        encoding="utf-8",
    )
    found = problems(config_copy)
    line = line_of(languages, "code: fr")
    assert (
        f"config/languages.yaml:{line}: languages[9].code: language 'fr' is not served in any country"
        in found
    )


def test_country_using_an_undeclared_language(config_copy: Path) -> None:
    edit(config_copy / "countries.yaml", "languages: [uk, ru, pl, en]", "languages: [uk, ru, pl, en, it]")
    found = problems(config_copy)
    assert any("countries[1].languages[4]: unknown language 'it'" in p for p in found), found


def test_cap_below_zero(config_copy: Path) -> None:
    budget = config_copy / "budget.yaml"
    edit(budget, "PL: {daily_floor: 60.00, daily_cap: 300.00}", "PL: {daily_floor: 60.00, daily_cap: -5}")
    found = problems(config_copy)
    line = line_of(budget, "daily_cap: -5")
    assert any(
        p.startswith(f"config/budget.yaml:{line}: countries.PL.daily_cap:")
        and "greater than or equal to 0" in p
        for p in found
    ), found


def test_global_cap_below_zero(config_copy: Path) -> None:
    edit(config_copy / "budget.yaml", "global_daily_cap: 1500.00", "global_daily_cap: -1")
    assert any("global_daily_cap" in p and "greater than or equal to 0" in p for p in problems(config_copy))


def test_floor_above_cap_and_floors_above_global(config_copy: Path) -> None:
    budget = config_copy / "budget.yaml"
    edit(
        budget, "UA: {daily_floor: 40.00, daily_cap: 250.00}", "UA: {daily_floor: 1400.00, daily_cap: 250.00}"
    )
    found = problems(config_copy)
    assert any("countries.UA.daily_floor: floor 1400.00 is above the cap 250.00" in p for p in found), found
    assert any("global_daily_cap: the country floors add up to" in p for p in found), found


def test_missing_org_url(config_copy: Path) -> None:
    orgs = config_copy / "organisations.yaml"
    edit(orgs, "    url: https://hf.org.pl/\n", "")
    found = problems(config_copy)
    line = line_of(orgs, "id: homo-faber")
    assert f"config/organisations.yaml:{line}: organisations[5].url: Field required" in found


def test_plain_http_org_url_is_refused(config_copy: Path) -> None:
    edit(config_copy / "organisations.yaml", "url: https://hf.org.pl/", "url: http://hf.org.pl/")
    assert any(
        "organisations[5].url: support organisation links must use https" in p for p in problems(config_copy)
    )


def test_duplicate_yaml_key_and_syntax_error(config_copy: Path) -> None:
    countries = config_copy / "countries.yaml"
    edit(countries, "    currency: PLN\n", "    currency: PLN\n    currency: EUR\n")
    found = problems(config_copy)
    assert any("countries[1].currency: key appears twice" in p for p in found), found

    shutil.copy(settings.config_dir() / "countries.yaml", countries)
    edit(config_copy / "budget.yaml", "currency: EUR", "currency: [EUR")
    found = problems(config_copy)
    assert any(p.startswith("config/budget.yaml:") and "not valid YAML" in p for p in found), found


def test_unknown_time_zone_and_unknown_field(config_copy: Path) -> None:
    edit(config_copy / "countries.yaml", "time_zone: Europe/Kyiv", "time_zone: Europe/Kiev-Nowhere")
    edit(config_copy / "countries.yaml", "    role: neighbour\n", "    role: neighbour\n    colour: blue\n")
    found = problems(config_copy)
    assert any("countries[0].time_zone: unknown time zone" in p for p in found), found
    assert any("countries[1].colour: Extra inputs are not permitted" in p for p in found), found


def test_policy_rules_follow_dates() -> None:
    import datetime as dt

    policy = load_campaign_config().policy
    assert policy.allows(Platform.META, "PL", dt.date(2022, 3, 25))
    assert not policy.allows(Platform.META, "PL", dt.date(2026, 1, 1))
    assert policy.allows(Platform.META, "UA", dt.date(2026, 1, 1))  # not an EU member
    assert policy.allows(Platform.GOOGLE_ADS, "PL", dt.date(2026, 1, 1))


def test_config_check_command_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "Countries (19):" in out and "Languages (9):" in out and "Support organisations: 39" in out
    assert "global daily cap 1500.00 EUR" in out
    assert len(out.splitlines()) <= 40  # one screen


def test_config_check_command_reports_errors(config_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(config_copy / "budget.yaml", "global_daily_cap: 1500.00", "global_daily_cap: -1")
    assert main(["config", "check", "--config-dir", str(config_copy)]) == 2
    err = capsys.readouterr().err
    assert "config/budget.yaml:" in err and "global_daily_cap" in err


def test_config_check_refuses_a_misspelt_pool(config_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(config_copy / "pools.yaml", "meta_api: 4", "meta_ads_api: 4")
    assert main(["config", "check", "--config-dir", str(config_copy)]) == 2
    err = capsys.readouterr().err
    assert "config/pools.yaml:" in err and "meta_ads_api" in err
