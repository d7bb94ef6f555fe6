"""Templates and input files built to exhaust memory or time are refused within a bound, naming
the file and line; catalogues must be UTF-8 and say so; markup in a translation is flagged.

Attacks that could take the machine down if a limit broke run in a child process capped at
2 GiB of address space, and the child reports its own peak memory.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from safepassage import settings
from safepassage.adapters.creative_templates import (
    MAX_OUTPUT_CHARS,
    MAX_TEMPLATE_BYTES,
    TemplateFailure,
    load_catalogue,
    render,
    template_sandbox,
)
from safepassage.adapters.files import MAX_INPUT_BYTES, load_document
from safepassage.domain.creatives import interpolate
from safepassage.domain.errors import InvalidInput
from tests.creatives_helpers import copy_library, edit_template, find, po_path, set_translation
from tests.creatives_helpers import render as render_shipped

BILLION_LAUGHS = (
    "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
    "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
    "i: [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
)

# (template source, line the error must name, words the message must contain)
ATTACKS = {
    "string times a huge number": ("ok\n{{ 'a' * 10**10 }}\n", 2, "'*'"),
    "tower of powers": ("{{ 9**9**9 }}", 1, "'**'"),
    "power of a variable": ("{% set n = 9 %}\n\n{{ n ** n ** n }}", 3, "'**'"),
    "printf width": ("{{ '%0999999999d' % 1 }}", 1, "'%'"),
    "doubling with ~": (
        "{% set a = 'aaaaaaaaaa' %}\n{% set a = a~a~a~a~a~a~a~a~a~a %}\n"
        "{% set a = a~a~a~a~a~a~a~a~a~a %}\n{% set a = a~a~a~a~a~a~a~a~a~a %}",
        4,
        "'~'",
    ),
    "doubling with +": ("{% set a = 'aaaaaaaaaa' %}\n" + "{% set a = a + a %}\n" * 10, 9, "'+'"),
    "nested replace (folded at compile time unless bounded)": (
        "{{ 'aaaaaaaaaa'|replace('a','aaaaaaaaaa')|replace('a','aaaaaaaaaa')|replace('a','aaaaaaaaaa')"
        "|replace('a','aaaaaaaaaa')|replace('a','aaaaaaaaaa') }}",
        1,
        "replace filter",
    ),
    "huge join": ("{% set s = 'x' * 1000 %}\n{{ [s, s, s]|join(s) }}", 2, "join filter"),
    "list growth": ("{{ ([1] * 1000 + [1]) | length }}", 1, "'+'"),
    "nested loops": (
        "{% set s = 'x' * 1000 %}\n{% for a in s %}{% for b in s %}{% for c in s %}"
        "{% endfor %}{% endfor %}{% endfor %}",
        2,
        "too much work",
    ),
    "exponential macro": (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}\n{{ f(60) }}",
        1,
        "too much work",
    ),
    "output flood": ("{% set s = 'y' * 1999 %}\n" + "{{ s }}\n" * 20, 9, "longer than"),
}


def _write(templates: Path, source: str) -> None:
    (templates / "theme").mkdir(parents=True, exist_ok=True)
    (templates / "theme" / "t.j2").write_text(source, encoding="utf-8")


@pytest.mark.parametrize("name", list(ATTACKS))
def test_template_attacks_are_refused_with_their_line_and_little_memory(tmp_path: Path, name: str) -> None:
    source, line, words = ATTACKS[name]
    _write(tmp_path, source)
    tracemalloc.start()
    try:
        with pytest.raises(TemplateFailure) as caught:
            render(template_sandbox(tmp_path), "theme/t.j2", {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.line == line, caught.value.message
    assert "not allowed" in caught.value.message and words in caught.value.message
    assert peak < 64 * 1024 * 1024, f"{name} allocated {peak / 2**20:.0f} MiB before it was stopped"


def test_ordinary_template_arithmetic_still_works(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "{{ 'ab' ~ 'c' }} {{ 2 * 3 + 1 }} {{ 2 ** 10 }} "
        "{{ ['a', 'b']|join('-') }} {{ 'a b'|replace(' ', '_') }}",
    )
    assert render(template_sandbox(tmp_path), "theme/t.j2", {}) == "abc 7 1024 a-b a_b"


def test_a_template_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    _write(tmp_path, "headline: x\n" * (MAX_TEMPLATE_BYTES // 12 + 1))
    with pytest.raises(TemplateFailure) as caught:
        render(template_sandbox(tmp_path), "theme/t.j2", {})
    assert f"at most {MAX_TEMPLATE_BYTES:,} bytes" in caught.value.message


def test_translations_are_interpolated_without_printf() -> None:
    assert interpolate("%(n)s of %(m)s: 100%%", {"n": 1, "m": 2}) == "1 of 2: 100%"
    assert interpolate("50% off", {}) == "50% off"  # no params: the text as written
    with pytest.raises(ValueError, match="malformed placeholder"):
        interpolate("%(n)999999999s", {"n": "x"})
    with pytest.raises(ValueError, match="needs placeholder"):
        interpolate("%(missing)s", {"n": "x"})


# --- through the real library, the CLI and the DAG task --------------------------------------

CHILD = """
import resource, sys
from safepassage.cli import main
code = main(sys.argv[1:])
print("MAXRSS_KIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def _cli_capped(*args: str) -> tuple[int, str, str, int]:
    """Run `safepassage ARGS` in a child limited to 2 GiB of address space; its peak RSS in KiB."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    result = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, preexec_fn=cap, timeout=600
    )
    peak = int(result.stderr.rsplit("MAXRSS_KIB", 1)[1].split()[0]) if "MAXRSS_KIB" in result.stderr else -1
    return result.returncode, result.stdout, result.stderr, peak


def test_creatives_check_refuses_every_attack_by_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_library(tmp_path, monkeypatch)
    lines = {
        "job_offers/google_rsa.j2": edit_template(
            root, "job_offers/google_rsa.j2", "headline: {{", "headline: {{ 'a' * 10**10 }}{{"
        ),
        "job_offers/meta_feed.j2": edit_template(
            root, "job_offers/meta_feed.j2", "headline: {{", "headline: {{ 9**9**9 }}{{"
        ),
        "get_the_app/google_rsa.j2": edit_template(
            root,
            "get_the_app/google_rsa.j2",
            "headline: {{",
            "{% for a in organisation.name * 50 %}{% for b in organisation.name * 50 %}{% endfor %}"
            "{% endfor %}headline: {{",
        ),
    }
    code, out, err, peak = _cli_capped("creatives", "check", "--creatives-dir", str(root))
    assert code == 1, err
    for name, line in lines.items():
        assert f"creatives/templates/{name}:{line}: not allowed" in out, out
    assert "too much work" in out
    assert "Traceback" not in out + err
    assert 0 < peak < 1024 * 1024, f"peak {peak} KiB"


def test_billion_laughs_config_is_refused_by_the_cli(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(settings.config_dir(), config)
    (config / "countries.yaml").write_text(BILLION_LAUGHS, encoding="utf-8")
    code, out, err, peak = _cli_capped("config", "check", "--config-dir", str(config))
    assert code == 2
    assert "config/countries.yaml:1: not valid YAML: anchors and aliases" in err, err
    assert "Traceback" not in out + err
    assert 0 < peak < 1024 * 1024


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BILLION_LAUGHS, "anchors and aliases"),
        ("a: 1\nb: &x 2\n", "anchors and aliases"),
        ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ("a: 1\nb: \x00\n", "character #x00 is not allowed"),  # a control character: no traceback
    ],
)
def test_yaml_bombs_are_refused_with_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "judgement.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        load_document(path, "intelligence/judgement.yaml")
    assert caught.value.problems[0].file == "intelligence/judgement.yaml"
    assert message in caught.value.problems[0].message
    if message == "anchors and aliases":
        first_anchor = next(number for number, row in enumerate(text.split("\n"), 1) if "&" in row)
        assert caught.value.problems[0].line == first_anchor


def test_input_files_over_the_size_limit_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * MAX_INPUT_BYTES, encoding="utf-8")
    with pytest.raises(InvalidInput, match=f"at most {MAX_INPUT_BYTES:,} bytes"):
        load_document(path, "config/big.yaml")


def test_the_dag_task_names_the_file_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from safepassage.orchestration.render_creatives_dag import check_or_fail

    root = copy_library(tmp_path, monkeypatch)
    (root / "themes.yaml").write_text(BILLION_LAUGHS, encoding="utf-8")
    with pytest.raises(AirflowFailException) as caught:
        check_or_fail()
    assert "creatives/themes.yaml:1: not valid YAML: anchors and aliases" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


# --- catalogues --------------------------------------------------------------------------------


def _header_line(path: Path) -> int:
    return next(i for i, line in enumerate(path.read_text("utf-8").split("\n"), 1) if "charset=" in line)


@pytest.mark.parametrize(
    ("charset", "message"),
    [
        ("ISO-8859-1", "declares charset=ISO-8859-1, but catalogues must be UTF-8"),
        ("klingon", "unknown charset"),
    ],
)
def test_a_wrong_or_unknown_po_charset_is_an_error_naming_the_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, charset: str, message: str
) -> None:
    root = copy_library(tmp_path, monkeypatch)
    path = po_path(root, "uk")  # Ukrainian: UTF-8 bytes that latin-1 would turn into mojibake
    path.write_text(path.read_text("utf-8").replace("charset=utf-8", f"charset={charset}"), encoding="utf-8")
    _, run = render_shipped(root)
    assert find(run, rf"^creatives/locale/uk/LC_MESSAGES/messages.po:{_header_line(path)}: .*{message}")
    with pytest.raises(Exception) as caught:  # the CLI's `creatives catalogues` refuses to merge into it
        from safepassage.services.creatives import load_library, update_catalogues

        update_catalogues(load_library(root))
    assert isinstance(caught.value, InvalidInput) and message in str(caught.value)


def test_po_bytes_that_are_not_utf8_are_an_error_naming_their_line(tmp_path: Path) -> None:
    source = po_path(settings.creatives_dir(), "uk").read_text("utf-8")
    path = tmp_path / "messages.po"
    path.write_bytes(source.encode("cp1251", errors="replace"))
    first_cyrillic = next(
        i for i, line in enumerate(source.split("\n"), 1) if any("Ѐ" <= c <= "ӿ" for c in line)
    )
    with pytest.raises(Exception) as caught:
        load_catalogue(path, "uk", "creatives/locale/uk/LC_MESSAGES/messages.po")
    assert type(caught.value).__name__ == "CatalogueError"
    assert caught.value.line == first_cyrillic and "not UTF-8" in caught.value.message  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "translation", ["<script>alert(1)</script>", "Praca {{ organisation.name }}", "Praca <b>teraz</b>"]
)
def test_markup_in_a_translation_is_flagged_at_its_catalogue_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, translation: str
) -> None:
    root = copy_library(tmp_path, monkeypatch)
    line = set_translation(root, "pl", "Free, confidential advice", translation)
    _, run = render_shipped(root)
    flagged = find(run, rf"^creatives/locale/pl/LC_MESSAGES/messages.po:{line}: .*markup or template syntax")
    assert flagged, json.dumps([m for m in (f.message for f in run.errors)][:5])
    assert translation not in json.dumps([ad.content for ad in run.ads], ensure_ascii=False)


def test_output_limit_is_far_above_a_real_ad() -> None:
    _, run = render_shipped()
    longest = max(len(json.dumps(ad.content, ensure_ascii=False)) for ad in run.ads)
    assert longest * 4 < MAX_OUTPUT_CHARS


def test_a_catalogue_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    from safepassage.adapters.creative_templates import MAX_CATALOGUE_BYTES, CatalogueError

    path = tmp_path / "messages.po"
    path.write_bytes(b"# padding\n" * (MAX_CATALOGUE_BYTES // 10 + 1))
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path, "pl", "creatives/locale/pl/LC_MESSAGES/messages.po")
    assert f"at most {MAX_CATALOGUE_BYTES:,} bytes" in caught.value.message
