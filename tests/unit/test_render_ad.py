"""render_ad, step by step, on one ad of a broken copy of creatives/ (the whole library is not rendered)."""

from __future__ import annotations

from pathlib import Path

import pytest

from safepassage.domain.campaign import CampaignConfig
from safepassage.domain.creatives import AD_FORMATS, Severity
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.creatives import RenderedAd, load_library, render_ad
from tests.creatives_helpers import copy_library, edit_template, set_translation

TEMPLATE = "creatives/templates/job_offers/google_rsa.j2"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_library(tmp_path, monkeypatch)


def render_one(
    root: Path, country: str = "PL", language: str = "en", config: CampaignConfig | None = None
) -> RenderedAd:
    """The job_offers Google ad for one country and language."""
    config = config or load_campaign_config()
    library = load_library(root, config)
    theme = next(theme for theme in library.settings.themes if theme.id == "job_offers")
    return render_ad(
        library, theme, AD_FORMATS["google_rsa"], config.country(country), config.language(language)
    )


def errors(ad: RenderedAd) -> list[tuple[str, int | None, str]]:
    return [(f.file, f.line, f.message) for f in ad.findings if f.severity is Severity.ERROR]


def without_organisations_serving(language: str, country: str | None = None) -> CampaignConfig:
    """The shipped config with `language` (and `country`) struck from every organisation. Not
    cross-checked, so an organisation left with none may list a placeholder instead."""
    data = load_campaign_config().model_dump(mode="json")
    for org in data["organisations"]:
        org["languages"] = [code for code in org["languages"] if code != language] or ["xx"]
        org["countries"] = [code for code in org["countries"] if code != country] or ["XX"]
    return CampaignConfig.model_validate(data)


def test_a_shipped_ad_renders_clean(root: Path) -> None:
    ad = render_one(root)
    assert ad.findings == () and ad.ok
    assert ad.content["headlines"][0] == "Job offer abroad? Check first" and len(ad.version) == 12


def test_an_ad_no_organisation_serves_in_its_language_signposts_one_serving_the_country(root: Path) -> None:
    ad = render_one(root, "PL", "pl", without_organisations_serving("pl"))
    assert [(f.severity, f.file, f.message) for f in ad.findings if f.file == "creatives/themes.yaml"] == [
        (
            Severity.WARNING,
            "creatives/themes.yaml",
            "no organisation serves PL in pl; signposting one that serves PL",
        )
    ]
    assert ad.organisation_id is not None


def test_an_ad_no_organisation_serves_at_all_is_an_error(root: Path) -> None:
    ad = render_one(root, "PL", "pl", without_organisations_serving("pl", "PL"))
    assert (
        "creatives/themes.yaml",
        None,
        "no organisation serves PL in pl; signposting one that serves PL",
    ) in (errors(ad))
    assert ad.organisation_id is None


def test_a_template_that_cannot_be_read_gives_an_ad_without_content(root: Path) -> None:
    (root / "templates" / "job_offers" / "google_rsa.j2").unlink()
    ad = render_one(root)
    [(file, line, message)] = errors(ad)
    assert (file, line) == (TEMPLATE, None) and message.startswith("cannot read the template:")
    assert ad.content == {} and ad.version == ""


def test_a_text_that_cannot_be_translated_is_an_error_on_its_line(root: Path) -> None:
    line = edit_template(root, "job_offers/google_rsa.j2", '_("Know your rights at work")', "_(theme.name)")
    assert errors(render_one(root)) == [
        (TEMPLATE, line, "_() needs a plain quoted text as its first argument, so it can be translated")
    ]


def test_a_block_spanning_lines_is_an_error(root: Path) -> None:
    edit_template(
        root, "job_offers/google_rsa.j2", "{% if organisation.helpline %}", "{% if\norganisation.helpline %}"
    )
    assert (
        TEMPLATE,
        None,
        "a {% ... %} block spans several lines; keep each block on the line of the field it shapes",
    ) in errors(render_one(root))


def test_a_line_that_is_not_field_colon_text_is_an_error_on_its_line(root: Path) -> None:
    line = edit_template(root, "job_offers/google_rsa.j2", 'path: {{ _("help") }}', "help me")
    assert errors(render_one(root)) == [
        (
            TEMPLATE,
            line,
            "expected 'field: text' with field one of headline, description, path, final_url; got «help me»",
        )
    ]


def test_a_missing_translation_is_reported_once_not_again_as_the_wrong_script(root: Path) -> None:
    line = set_translation(root, "uk", "Job offer abroad? Check first", "")
    assert errors(render_one(root, "UA", "uk")) == [
        (
            "creatives/locale/uk/LC_MESSAGES/messages.po",
            line,
            f"missing Ukrainian translation of «Job offer abroad? Check first» [used at {TEMPLATE}:2]",
        )
    ]
