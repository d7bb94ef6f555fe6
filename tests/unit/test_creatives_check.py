"""`safepassage creatives check` on the shipped library and on broken copies of it."""

from __future__ import annotations

from collections import Counter

import pytest

from safepassage.cli import main
from safepassage.domain.creatives import GOOGLE_RSA, link_parameters
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.creatives import ads_by_key, update_catalogues
from tests.creatives_helpers import copy_library, edit_template, find, po_path, render, set_translation

HEADLINE = "Job offer abroad? Check first"


@pytest.fixture(scope="module")
def shipped():
    return render()


def test_shipped_library_passes_clean(capsys):
    assert main(["creatives", "check"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "Checked 624 ads: all clean."


def test_every_combination_is_rendered_for_the_languages_each_country_serves(shipped):
    library, run = shipped
    config = load_campaign_config()
    served = {(c.code, lang) for c in config.countries for lang in c.languages}
    per_theme = Counter(ad.combination.theme for ad in run.ads)
    pairs = len(served)
    assert per_theme["job_offers"] == 2 * pairs  # Google and Meta for every country-language pair
    app_pairs = sum(1 for _, lang in served if lang in ("uk", "ru", "en"))
    assert per_theme["get_the_app"] == 2 * app_pairs
    assert {(ad.combination.country, ad.combination.language) for ad in run.ads} == served
    assert len(library.settings.themes) >= 5


def test_rendered_ads_have_platform_shape_and_signpost_a_local_organisation(shipped):
    _, run = shipped
    config = load_campaign_config()
    orgs = {org.id: org for org in config.organisations}
    for ad in run.ads:
        combo = ad.combination
        url = ad.content.get("final_url") or ad.content["link"]
        params = link_parameters(url)
        org = orgs[params["sp_org"]]
        assert combo.country in org.countries, ad
        assert params["utm_content"] == ad.version and params["sp_lang"] == combo.language
        assert url.startswith(str(org.url).rstrip("/"))
        if combo.theme == "get_the_app":
            assert org.id == "stop-the-traffik"
        if ad.ad_format == GOOGLE_RSA.name:
            assert 3 <= len(ad.content["headlines"]) <= 15 and 2 <= len(ad.content["descriptions"]) <= 4
            assert all(len(h) <= 30 for h in ad.content["headlines"])
        else:
            assert ad.content["call_to_action"] in {"LEARN_MORE", "DOWNLOAD"}
            assert ad.content["primary_text"] and ad.content["headline"]


def test_ads_are_really_translated(shipped):
    _, run = shipped
    ads = ads_by_key(run.ads)
    assert (
        ads[("job_offers", "google_ads", "UA", "uk")].content["headlines"][0]
        == "Робота за кордоном? Перевірте"
    )
    assert (
        ads[("job_offers", "google_ads", "PL", "pl")].content["headlines"][0] == "Praca za granicą? Sprawdź"
    )
    assert ads[("job_offers", "google_ads", "PL", "en")].content["headlines"][0] == HEADLINE
    helpline = ads[("job_offers", "meta", "UA", "uk")].content["primary_text"]
    assert "Гаряча лінія: 116 123" in helpline  # La Strada-Ukraine's helpline, via a placeholder


def test_a_missing_translation_fails_naming_the_catalogue_line(tmp_path, monkeypatch, capsys):
    root = copy_library(tmp_path, monkeypatch)
    line = set_translation(root, "pl", HEADLINE, "")
    assert main(["creatives", "check"]) == 1
    out = capsys.readouterr().out
    assert (
        f"creatives/locale/pl/LC_MESSAGES/messages.po:{line}: missing Polish translation of «{HEADLINE}»"
        in out
    )
    assert "job_offers/google_rsa.j2:2" in out  # where the text is used


def test_a_fuzzy_translation_fails(tmp_path, monkeypatch):
    root = copy_library(tmp_path, monkeypatch)
    line = set_translation(root, "de", HEADLINE, "Job im Ausland? Erst prüfen", fuzzy=True)
    _, run = render(root)
    assert find(run, rf"de/LC_MESSAGES/messages.po:{line}: German translation .* is marked fuzzy")


def test_a_headline_over_30_characters_fails_naming_the_template_line(tmp_path, monkeypatch, capsys):
    root = copy_library(tmp_path, monkeypatch)
    line = edit_template(
        root,
        "job_offers/google_rsa.j2",
        '_("Know your rights at work")',
        '"Know all of your rights at work today"',
    )
    assert main(["creatives", "check"]) == 1
    out = capsys.readouterr().out
    assert f"creatives/templates/job_offers/google_rsa.j2:{line}: headline is 37 characters" in out
    assert "google_ads allows 30" in out and "shorten it by 7" in out


def test_a_cyrillic_translation_over_the_limit_counts_characters(tmp_path, monkeypatch):
    root = copy_library(tmp_path, monkeypatch)
    too_long = "Робота за кордоном? Перевірте все"  # 33 characters, 62 bytes
    line = set_translation(root, "uk", HEADLINE, too_long)
    _, run = render(root)
    assert find(run, rf"uk/LC_MESSAGES/messages.po:{line}: headline is 33 characters, google_ads allows 30")


def test_a_broken_placeholder_in_a_translation_fails(tmp_path, monkeypatch):
    root = copy_library(tmp_path, monkeypatch)
    line = set_translation(root, "uk", "Helpline: %(number)s", "Гаряча лінія: %(nomer)s")
    _, run = render(root)
    assert find(run, rf"messages.po:{line}: Ukrainian translation .* is missing %\(number\)s and has unknown")


def test_a_broken_placeholder_in_a_template_fails_with_its_line(tmp_path, monkeypatch):
    root = copy_library(tmp_path, monkeypatch)
    line = edit_template(
        root, "transport_offers/meta_feed.j2", "link(organisation)", "link(organisation.nmae)"
    )
    _, run = render(root)
    assert find(run, rf"transport_offers/meta_feed.j2:{line}: unknown placeholder.*nmae")


def test_a_template_syntax_error_fails_with_its_line(tmp_path, monkeypatch):
    root = copy_library(tmp_path, monkeypatch)
    line = edit_template(root, "border_travel_safety/google_rsa.j2", '_("border") }}', '_("border") }')
    _, run = render(root)
    assert find(run, rf"border_travel_safety/google_rsa.j2:{line}: template syntax error")


def test_linking_an_organisation_that_does_not_serve_the_country_fails(tmp_path, monkeypatch):
    root = copy_library(tmp_path, monkeypatch)
    line = edit_template(
        root, "accommodation_offers/meta_feed.j2", "link(organisation)", 'link("la-strada-ukraine")'
    )
    _, run = render(root)
    hits = find(
        run,
        rf"accommodation_offers/meta_feed.j2:{line}: link goes to la-strada-ukraine, which does not serve",
    )
    assert hits
    assert not any("serve UA" in hit for hit in hits)  # Ukraine's ads may signpost it


def test_latin_text_in_a_ukrainian_ad_and_cyrillic_in_a_polish_ad_fail(tmp_path, monkeypatch):
    root = copy_library(tmp_path, monkeypatch)
    uk_line = set_translation(root, "uk", "Know your rights at work", "Know your rights at work")
    pl_line = set_translation(root, "pl", "Know your rights at work", "Знай свої права")
    _, run = render(root)
    assert find(
        run,
        rf"uk/LC_MESSAGES/messages.po:{uk_line}: wrong script in a Cyrillic ad \(uk\).*«Know» is in Latin",
    )
    assert find(
        run, rf"pl/LC_MESSAGES/messages.po:{pl_line}: wrong script in a Latin ad \(pl\).*is in Cyrillic"
    )


def test_duplicate_headlines_fail(tmp_path, monkeypatch):
    root = copy_library(tmp_path, monkeypatch)
    line = edit_template(
        root,
        "get_the_app/google_rsa.j2",
        '_("Safety info on your phone")',
        '_("Report concerns anonymously")',
    )
    _, run = render(root)
    assert find(
        run,
        rf"get_the_app/google_rsa.j2:{line + 1}: duplicate headline: «Report concerns anonymously» "
        rf"is the same as line {line}",
    )
    assert find(run, r"uk/LC_MESSAGES/messages.po:\d+: duplicate headline: «Повідомте анонімно»")


def test_warnings_are_listed_separately_and_do_not_fail(tmp_path, monkeypatch, capsys):
    root = copy_library(tmp_path, monkeypatch)
    path = po_path(root, "cs")
    path.write_text(
        path.read_text(encoding="utf-8") + '\nmsgid "Unused text"\nmsgstr "Nepoužitý text"\n', "utf-8"
    )
    assert main(["creatives", "check"]) == 0
    out = capsys.readouterr().out
    assert "1 warning(s) — worth a look, they do not block:" in out
    assert "«Unused text» is not used by any template" in out
    assert "error(s) — fix these" not in out


def test_changing_an_english_text_marks_translations_fuzzy_until_reviewed(tmp_path, monkeypatch, capsys):
    root = copy_library(tmp_path, monkeypatch)
    edit_template(root, "job_offers/google_rsa.j2", "Know your rights at work", "Know your rights at work!")
    assert main(["creatives", "catalogues"]) == 0
    assert "uk: 0 to translate, 1 to review" in capsys.readouterr().out
    assert "Know your rights at work!" in (root / "locale" / "messages.pot").read_text(encoding="utf-8")
    assert main(["creatives", "check"]) == 1
    assert "is marked fuzzy (needs review)" in capsys.readouterr().out


def test_catalogue_refresh_of_the_shipped_library_changes_no_translation(tmp_path, monkeypatch, shipped):
    root = copy_library(tmp_path, monkeypatch)
    library, _ = render(root)
    counts = update_catalogues(library)
    assert set(counts) == {"uk", "ru", "pl", "ro", "hu", "sk", "cs", "de"}
    assert all(count == (0, 0) for count in counts.values())
    _, run = render(root)
    assert not run.errors and run.fingerprint == shipped[1].fingerprint


def test_an_unreadable_catalogue_is_one_error_not_a_flood(tmp_path, monkeypatch, capsys):
    root = copy_library(tmp_path, monkeypatch)
    path = po_path(root, "hu")
    lines = path.read_text(encoding="utf-8").split("\n")
    broken_at = next(i for i, line in enumerate(lines) if line.startswith("msgstr") and i > 10)
    lines[broken_at] = "Túl szép, hogy igaz legyen"  # the msgstr keyword and quotes lost
    path.write_text("\n".join(lines), encoding="utf-8")
    assert main(["creatives", "check"]) == 1
    out = capsys.readouterr().out
    assert f"creatives/locale/hu/LC_MESSAGES/messages.po:{broken_at + 1}: not a valid .po file" in out
    assert "wrong script" not in out  # Hungarian ads fall back to English without extra noise
    assert out.count("✗") == 1


def test_a_text_missing_from_the_catalogue_names_the_template_line(tmp_path, monkeypatch):
    root = copy_library(tmp_path, monkeypatch)
    line = edit_template(
        root, "job_offers/meta_feed.j2", '_("Free and confidential")', '_("Free, confidential")'
    )
    _, run = render(root)
    hits = find(run, rf"job_offers/meta_feed.j2:{line}: missing Czech translation of «Free, confidential»")
    assert hits and "safepassage creatives catalogues" in hits[0]


def test_an_invalid_themes_file_is_reported_without_a_traceback(tmp_path, monkeypatch, capsys):
    root = copy_library(tmp_path, monkeypatch)
    themes = root / "themes.yaml"
    themes.write_text(themes.read_text(encoding="utf-8").replace("id: job_offers", "id: Job Offers"), "utf-8")
    assert main(["creatives", "check"]) == 2
    err = capsys.readouterr().err
    assert "creatives/themes.yaml:" in err and "themes[0].id" in err


def test_themes_naming_unknown_organisations_are_reported_with_their_line(tmp_path, monkeypatch, capsys):
    root = copy_library(tmp_path, monkeypatch)
    themes = root / "themes.yaml"
    text = themes.read_text(encoding="utf-8").replace(
        "signpost: stop-the-traffik", "signpost: stop-the-trafik"
    )
    themes.write_text(text, "utf-8")
    line = text.split("\n").index("    signpost: stop-the-trafik") + 1
    assert main(["creatives", "check"]) == 2
    assert f"creatives/themes.yaml:{line}: themes[4].signpost: unknown organisation 'stop-the-trafik'" in (
        capsys.readouterr().err
    )
