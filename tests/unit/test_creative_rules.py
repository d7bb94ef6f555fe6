"""Pure creative rules: character counting, scripts, placeholders, tracked links, per-ad checks."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from safepassage.domain.campaign import Platform, Script
from safepassage.domain.creatives import (
    GOOGLE_RSA,
    META_FEED,
    AdContext,
    Combination,
    FieldValue,
    Severity,
    SourceRef,
    char_count,
    check_ad,
    content_hash,
    content_of,
    group_findings,
    link_parameters,
    placeholder_problem,
    render_report,
    script_problems,
    tone_problems,
    tracked_link,
)

ORGS = {
    "la-strada-poland": (("PL",), ("pl", "uk", "ru", "en"), "https://strada.org.pl/"),
    "la-strada-ukraine": (("UA",), ("uk", "ru", "en"), "https://la-strada.org.ua/"),
    "slovakia-helpline": (("SK",), ("sk",), "https://www.minv.sk/?obchodovanie-s-ludmi"),
}


def link(
    country: str = "PL", language: str = "pl", org: str = "la-strada-poland", platform=Platform.GOOGLE_ADS
):
    return tracked_link(
        ORGS[org][2],
        platform=platform,
        campaign="sp-2022",
        theme="job_offers",
        country=country,
        language=language,
        organisation_id=org,
    )


def ad(
    fields: list[tuple[str, str]], template: str = "creatives/templates/t/google_rsa.j2"
) -> list[FieldValue]:
    return [FieldValue(name, text, SourceRef(template, line)) for line, (name, text) in enumerate(fields, 2)]


def google(headlines: list[str], descriptions=("Desc one.", "Desc two."), url: str | None = None):
    return ad(
        [("headline", h) for h in headlines]
        + [("description", d) for d in descriptions]
        + [("path", "praca"), ("final_url", url or link())]
    )


def context(
    country="PL", language="pl", script=Script.LATIN, platform=Platform.GOOGLE_ADS, theme="job_offers"
):
    return AdContext(
        Combination(theme, platform, country, language), script, ORGS, frozenset({"stop", "app"})
    )


def errors(findings):
    return [f.message for f in findings if f.severity is Severity.ERROR]


def test_characters_are_counted_as_platforms_count_them_not_bytes():
    headline = "Робота за кордоном? Перевірте"
    assert char_count(headline) == 29
    assert len(headline.encode("utf-8")) > 50
    decomposed = "Pra\u0301ca"  # a + combining acute: one character on screen
    assert (len(decomposed), char_count(decomposed)) == (6, 5)


def test_script_check_flags_wrong_script_words_mixed_words_and_allows_brands():
    assert script_problems("Завантажте STOP APP", Script.CYRILLIC, frozenset({"stop", "app"})) == []
    assert script_problems("Get free advice", Script.CYRILLIC, frozenset()) != []
    assert "«Praca» is in Latin script" in script_problems("Praca тут", Script.CYRILLIC, frozenset())[0]
    assert "mixes" in script_problems("Прaця", Script.CYRILLIC, frozenset())[0]  # Latin 'a' inside
    assert script_problems("Praca za granicą", Script.LATIN, frozenset()) == []
    assert "Cyrillic" in script_problems("Praca робота", Script.LATIN, frozenset())[0]
    assert script_problems("зв’язок, 116 123", Script.CYRILLIC, frozenset()) == []


@pytest.mark.parametrize(
    ("source", "translation", "problem"),
    [
        ("Helpline: %(number)s", "Infolinia: %(number)s", None),
        ("Helpline: %(number)s", "Infolinia: %(numer)s", "missing %(number)s and has unknown %(numer)s"),
        ("Helpline: %(number)s", "Infolinia", "missing %(number)s"),
        ("Helpline: %(number)s", "Infolinia: %(number)", "malformed"),
        ("Free advice", "50% free", "malformed"),
    ],
)
def test_placeholder_problems(source, translation, problem):
    found = placeholder_problem(source, translation)
    assert (found is None) if problem is None else (problem in found)


def test_tracked_link_keeps_org_host_and_query_and_names_the_org():
    url = link("SK", "sk", "slovakia-helpline", Platform.META)
    parts = urlsplit(url)
    assert parts.hostname == "www.minv.sk"
    assert parts.query.startswith("obchodovanie-s-ludmi&")  # the org's own query survives unchanged
    params = link_parameters(url)
    assert params["sp_org"] == "slovakia-helpline"
    assert (params["utm_source"], params["utm_medium"]) == ("meta", "paid_social")
    assert params["utm_campaign"] == "sp-2022_job_offers"
    assert (params["sp_country"], params["sp_lang"]) == ("SK", "sk")
    assert link_parameters(link())["utm_medium"] == "cpc"


def test_a_valid_google_ad_passes_and_has_the_platform_shape():
    values = google(["Praca za granicą? Sprawdź", "Poznaj swoje prawa w pracy", "Pomoc w Twoim języku"])
    assert check_ad(GOOGLE_RSA, values, context()) == []
    content = content_of(GOOGLE_RSA, values)
    assert set(content) == {"headlines", "descriptions", "paths", "final_url"}
    assert len(content["headlines"]) == 3


def test_headline_over_30_characters_is_an_error_naming_the_line_and_overrun():
    values = google(["Praca za granicą? Sprawdź to zanim pojedziesz", "Dwa", "Trzy"])
    findings = check_ad(GOOGLE_RSA, values, context())
    assert len(errors(findings)) == 1
    assert "headline is 45 characters, google_ads allows 30" in errors(findings)[0]
    assert "shorten it by 15" in errors(findings)[0]
    assert findings[0].line == 2


def test_too_few_headlines_and_descriptions_are_errors():
    values = google(["Jeden", "Dwa"], descriptions=("Tylko jeden opis.",))
    found = errors(check_ad(GOOGLE_RSA, values, context()))
    assert any("needs 3 to 15 headline(s), this template gives 2" in m for m in found)
    assert any("needs 2 to 4 description(s), this template gives 1" in m for m in found)


def test_duplicate_headlines_are_errors_ignoring_case_and_spacing():
    values = google(["Pomoc w Twoim języku", "Poznaj prawa", "pomoc  w twoim JĘZYKU"])
    found = errors(check_ad(GOOGLE_RSA, values, context()))
    assert len(found) == 1 and "duplicate headline" in found[0] and "line 2" in found[0]


def test_link_to_an_organisation_not_serving_the_country_is_an_error():
    values = google(["Jeden", "Dwa", "Trzy"], url=link("PL", "pl", "la-strada-ukraine"))
    found = errors(check_ad(GOOGLE_RSA, values, context()))
    assert any("la-strada-ukraine, which does not serve PL" in m for m in found)


def test_link_without_org_or_with_foreign_host_or_wrong_country_is_an_error():
    assert any(
        "no sp_org" in m
        for m in errors(
            check_ad(GOOGLE_RSA, google(["A", "B", "C"], url="https://strada.org.pl/"), context())
        )
    )
    spoofed = link().replace("strada.org.pl", "evil.example")
    assert any(
        "not la-strada-poland's own host" in m
        for m in errors(check_ad(GOOGLE_RSA, google(["A", "B", "C"], url=spoofed), context()))
    )
    assert any(
        "sp_country='PL', expected 'UA'" in m
        for m in errors(check_ad(GOOGLE_RSA, google(["A", "B", "C"]), context("UA")))
    )


def test_wrong_script_in_a_field_is_an_error():
    values = google(
        ["Робота за кордоном", "Знайте права", "Get help now"],
        descriptions=("Перевірте роботодавця.", "Допомога вашою мовою."),
        url=link("PL", "uk"),
    )
    found = errors(check_ad(GOOGLE_RSA, values, context(language="uk", script=Script.CYRILLIC)))
    assert len(found) == 4  # Get, help, now in the headline; the Latin path «praca»
    assert all("wrong script" in m for m in found)
    assert any("headline: «Get» is in Latin script, expected Cyrillic" in m for m in found)


def test_meta_ad_checks_call_to_action_and_warns_on_truncated_text():
    meta_link = link(platform=Platform.META)
    values = ad(
        [
            ("primary_text", "Długi tekst " * 15),
            ("headline", "Praca za granicą? Sprawdź"),
            ("description", "Bezpłatnie i poufnie"),
            ("call_to_action", "CLICK_HERE"),
            ("link", meta_link),
        ],
        template="creatives/templates/t/meta_feed.j2",
    )
    findings = check_ad(META_FEED, values, context(platform=Platform.META))
    assert any("call to action 'CLICK_HERE'" in m for m in errors(findings))
    warnings = [f.message for f in findings if f.severity is Severity.WARNING]
    assert any("primary text is 180 characters; over 125" in m for m in warnings)


def test_translated_text_problems_point_at_the_catalogue_line():
    values = google(["Робота за кордоном? Перевірте все", "Знайте права", "Допомога"])
    values[0] = FieldValue(
        "headline",
        values[0].text,
        SourceRef("creatives/templates/t/google_rsa.j2", 2, "creatives/locale/uk/x.po", 40),
    )
    finding = check_ad(GOOGLE_RSA, values, context(language="uk", script=Script.CYRILLIC))[0]
    assert (finding.file, finding.line) == ("creatives/locale/uk/x.po", 40)
    assert "used at creatives/templates/t/google_rsa.j2:2" in finding.message


def test_report_groups_one_problem_across_ads_and_lists_warnings_separately():
    values = google(["Jeden", "Dwa", "Jeden"])
    findings = check_ad(GOOGLE_RSA, values, context("PL")) + check_ad(
        GOOGLE_RSA, values, context(theme="other")
    )
    grouped = group_findings(findings)
    assert len(grouped) == 1 and len(grouped[0].combinations) == 2
    report = render_report(findings, ads=2)
    assert "1 error(s) — fix these" in report and report.endswith("Checked 2 ads: 1 error(s), 0 warning(s).")
    assert render_report([], ads=5) == "Checked 5 ads: all clean."


def test_content_hash_is_stable_and_content_sensitive():
    assert content_hash({"a": 1, "b": "ż"}) == content_hash({"b": "ż", "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})


def test_stigmatising_words_are_warned_about_but_organisation_names_are_not():
    text = "Ofiary handlu ludźmi? Pomoc: Modern Slavery Helpline"
    assert tone_problems(text, ["ofiar", "slave"], ["Modern Slavery Helpline"]) == ["ofiar"]
    values = google(["Nie bądź ofiarą", "Dwa", "Trzy"])
    ctx = AdContext(
        Combination("t", Platform.GOOGLE_ADS, "PL", "pl"), Script.LATIN, ORGS, frozenset(), ("ofiar",)
    )
    findings = check_ad(GOOGLE_RSA, values, ctx)
    assert [f.severity for f in findings] == [Severity.WARNING]
    assert "never to victims" in findings[0].message and findings[0].line == 2


# --- check_ad rule by rule: each ad breaks exactly one rule ---------------------------------------

HEADLINES = ["Praca za granicą? Sprawdź", "Poznaj swoje prawa w pracy", "Pomoc w Twoim języku"]


def meta(language: str = "pl", **fields: str) -> list[FieldValue]:
    """A valid Meta feed ad (lines 2–6) for Poland, in Polish unless `fields` say otherwise."""
    values = {
        "primary_text": "Bezpłatna i poufna porada w Twoim języku.",
        "headline": "Praca za granicą? Sprawdź",
        "description": "Bezpłatnie i poufnie",
        "call_to_action": "LEARN_MORE",
        "link": link(language=language, platform=Platform.META),
    } | fields
    return ad(list(values.items()), template="creatives/templates/t/meta_feed.j2")


def replaced(values: list[FieldValue], name: str, text: str) -> list[FieldValue]:
    return [FieldValue(name, text, v.source) if v.name == name else v for v in values]


def found(ad_format, values, ctx=None) -> list[tuple[Severity, int | None, str]]:
    return [(f.severity, f.line, f.message) for f in check_ad(ad_format, values, ctx or context())]


def test_a_valid_meta_ad_passes():
    assert found(META_FEED, meta(), context(platform=Platform.META)) == []


def test_field_count_is_allowed():
    assert found(GOOGLE_RSA, google(HEADLINES[:2])) == [
        (Severity.ERROR, 3, "Google responsive search ad needs 3 to 15 headline(s), this template gives 2")
    ]
    without_link = google(HEADLINES)[:-1]  # no line to point at: the template's first line
    assert found(GOOGLE_RSA, without_link) == [
        (Severity.ERROR, 2, "Google responsive search ad needs exactly 1 final URL(s), this template gives 0")
    ]


def test_field_lengths_are_allowed():
    assert found(GOOGLE_RSA, google(["", *HEADLINES[1:]])) == [(Severity.ERROR, 2, "headline is empty")]
    long_headline = "Praca za granicą? Sprawdź, zanim wyjedziesz"
    assert found(GOOGLE_RSA, google([long_headline, *HEADLINES[1:]])) == [
        (
            Severity.ERROR,
            2,
            f"headline is 43 characters, google_ads allows 30: «{long_headline}» — shorten it by 13",
        )
    ]
    assert found(META_FEED, meta(headline=long_headline), context(platform=Platform.META)) == [
        (Severity.WARNING, 3, "headline is 43 characters; over 40 mobile feeds cut longer headlines off")
    ]
    assert found(META_FEED, meta(description=""), context(platform=Platform.META)) == []  # optional


def test_repeated_fields_differ():
    values = google(HEADLINES, descriptions=("Bezpłatna porada.", "bezpłatna  PORADA."))
    assert found(GOOGLE_RSA, values) == [
        (
            Severity.ERROR,
            6,
            "duplicate description: «bezpłatna  PORADA.» is the same as line 5; "
            "google_ads rejects repeated descriptions in one ad",
        )
    ]


def test_display_path_has_no_spaces_or_slashes():
    assert found(GOOGLE_RSA, replaced(google(HEADLINES), "path", "praca/pomoc")) == [
        (Severity.ERROR, 7, "display path «praca/pomoc» may not contain spaces or '/'")
    ]


def test_call_to_action_is_one_meta_offers():
    assert found(META_FEED, meta(call_to_action="CLICK_HERE"), context(platform=Platform.META)) == [
        (
            Severity.ERROR,
            5,
            "call to action 'CLICK_HERE' is not one of CONTACT_US, DOWNLOAD, GET_DIRECTIONS, LEARN_MORE, "
            "SIGN_UP",
        )
    ]


def test_wording_does_not_stigmatise():
    ctx = AdContext(
        Combination("t", Platform.GOOGLE_ADS, "PL", "pl"), Script.LATIN, ORGS, frozenset(), ("ofiar",)
    )
    assert found(GOOGLE_RSA, google(["Nie bądź ofiarą", *HEADLINES[1:]]), ctx) == [
        (
            Severity.WARNING,
            2,
            "headline uses «ofiar…»: prevention ads speak to capable people making plans, never to "
            "victims; say what to check or where to get help instead",
        )
    ]


def test_wording_is_in_the_language_script():
    assert found(GOOGLE_RSA, google(["Praca робота", *HEADLINES[1:]])) == [
        (
            Severity.ERROR,
            2,
            "wrong script in a Latin ad (pl) headline: «робота» is in Cyrillic script, expected Latin",
        )
    ]


def test_links_call_to_action_codes_and_untranslated_text_are_not_checked_as_wording():
    values = meta(
        "uk", primary_text="Безкоштовна порада вашою мовою.", headline="Get help", description="Безкоштовно"
    )
    values[1] = FieldValue("headline", "Get help", SourceRef(values[1].source.template, 3, untranslated=True))
    ctx = context(language="uk", script=Script.CYRILLIC, platform=Platform.META)
    ctx = AdContext(ctx.combination, ctx.script, ORGS, frozenset(), ("get", "learn", "strada"))
    assert found(META_FEED, values, ctx) == []


def test_links_signpost_a_serving_organisation():
    plain_http = link().replace("https://", "http://")
    assert found(GOOGLE_RSA, google(HEADLINES, url=plain_http)) == [
        (Severity.ERROR, 8, f"link must start with https:// (got «{plain_http[:60]}»)")
    ]


def test_findings_stay_together_field_by_field_then_line_by_line():
    too_long = "Praca za granicą? Sprawdź, zanim wyjedziesz"
    fields = google([too_long, *HEADLINES[1:]], descriptions=("Jeden opis.",))
    assert [line for _, line, _ in found(GOOGLE_RSA, fields)] == [2, 5]  # headline length, then count
    lines = replaced(google(["Praca робота", *HEADLINES[1:]]), "path", "pra ca")
    assert [line for _, line, _ in found(GOOGLE_RSA, lines)] == [2, 7]  # script on line 2, then the path
