"""The preview gallery: self-contained HTML, every ad, filters, check results; clear Chromium errors."""

from __future__ import annotations

import re

import pytest

from safepassage.cli import main
from safepassage.services import creative_gallery
from safepassage.services.creative_gallery import take_screenshot
from tests.creatives_helpers import copy_library, set_translation


@pytest.fixture(scope="module")
def gallery(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("gallery")
    assert main(["creatives", "preview", "--out", str(out)]) == 0
    return (out / "index.html").read_text(encoding="utf-8")


def test_gallery_shows_every_ad_in_both_scripts(gallery):
    assert gallery.count('<article class="ad"') == 624
    assert "Робота за кордоном? Перевірте" in gallery  # Cyrillic, Google card
    assert "Praca za granicą? Sprawdź" in gallery  # Latin with diacritics
    assert 'data-platform="google_ads"' in gallery and 'data-platform="meta"' in gallery
    assert gallery.count("✓ passes every check") == 624


def test_gallery_is_self_contained(gallery):
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", gallery)
    assert "<link" not in gallery and "@import" not in gallery and "url(" not in gallery
    assert "<script>" in gallery  # the filters are inline


def test_gallery_has_filters_for_country_language_theme_platform(gallery):
    for name in ("country", "language", "theme", "platform"):
        assert f'<select name="{name}">' in gallery
    assert '<option value="UA">UA Ukraine</option>' in gallery
    assert '<option value="get_the_app">Get the app / get help</option>' in gallery


def test_gallery_escapes_ad_text_and_shows_check_results(tmp_path, monkeypatch):
    root = copy_library(tmp_path, monkeypatch)
    set_translation(root, "pl", "Know your rights at work", "<script>alert(1)</script> prawa w pracy")
    out = tmp_path / "out"
    assert main(["creatives", "preview", "--out", str(out)]) == 0  # a preview is for looking at problems too
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    # the translation is refused as markup (the ad keeps the English text); the finding quotes it escaped
    assert "«&lt;script&gt;»" in page and "markup or template syntax" in page
    assert 'data-problems="1"' in page and '<li class="e"><b>error</b>' in page


def test_screenshot_without_chromium_fails_clearly(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(creative_gallery, "find_chromium", lambda: None)
    with pytest.raises(RuntimeError, match="apt-get install -y chromium"):
        take_screenshot(tmp_path / "index.html", tmp_path / "shot.png")
    code = main(
        ["creatives", "preview", "--out", str(tmp_path / "g"), "--screenshot", str(tmp_path / "s.png")]
    )
    assert code == 2
    assert "Chromium is not installed" in capsys.readouterr().err
    assert (tmp_path / "g" / "index.html").exists()
