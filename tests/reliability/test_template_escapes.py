"""Templates and translations cannot exhaust memory through calls whose result size an argument
sets, nor through bytes, nor a translation that repeats a placeholder: each is refused before the
work is done, with the template's line, and the render stays small (tests/unit/test_input_bounds.py
covers operators, filters, loops and macros; tests/unit/test_creative_sandbox.py the escapes)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from safepassage.adapters.creative_templates import MAX_TEXT_CHARS, TemplateFailure, render, template_sandbox
from safepassage.domain.creatives import interpolate
from tests.creatives_helpers import copy_library, edit_template, set_translation
from tests.creatives_helpers import render as render_library

# Before these were refused, each allocated its result before the size check ran: 1 GB for the
# width 10**9 ones, a MemoryError escaping the render for 10**10.
ATTACKS = {
    "ljust": ("headline: ok\n{{ 'a'.ljust(10**10) }}", 2, "ljust() would build"),
    "rjust by keyword": ("{{ 'a'.rjust(width=10**9) }}", 1, "rjust() would build"),
    "center": ("\n\n{{ 'a'.center(10**10) }}", 3, "center() would build"),
    "zfill": ("{{ '1'.zfill(10**9) }}", 1, "zfill() would build"),
    "expandtabs": ("{% set t = '\t' * 100 %}\n{{ t.expandtabs(10**7) }}", 2, "expandtabs() would build"),
    "bytes times a number": ("{{ 'a'.encode() * 10**10 }}", 1, "str.encode() is not allowed"),
    "codec lookup": ("{{ 'a'.encode('rot13') }}", 1, "str.encode() is not allowed"),
    "int to bytes": ("{{ (3).to_bytes(10**9, 'big') }}", 1, "int.to_bytes() is not allowed"),
}


def _write(root: Path, source: str) -> None:
    (root / "theme").mkdir(parents=True, exist_ok=True)
    (root / "theme" / "t.j2").write_text(source, encoding="utf-8")


@pytest.mark.parametrize("name", list(ATTACKS))
def test_sized_calls_are_refused_before_they_build(tmp_path: Path, name: str) -> None:
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
    assert "not allowed" in caught.value.message or "would build" in caught.value.message
    assert words in caught.value.message, caught.value.message
    assert peak < 16 * 1024 * 1024, f"{name} allocated {peak / 2**20:.0f} MiB before it was stopped"


def test_text_methods_within_the_limits_still_work(tmp_path: Path) -> None:
    _write(tmp_path, "{{ 'ab'.ljust(4) }}|{{ 'ab'.center(4) }}|{{ '7'.zfill(3) }}|{{ 'A b'.lower() }}")
    assert render(template_sandbox(tmp_path), "theme/t.j2", {}) == "ab  | ab |007|a b"


def test_interpolation_refuses_a_result_over_the_limit_before_building_it() -> None:
    assert interpolate("%(n)s-%(n)s 100%%", {"n": "ab"}, max_chars=20) == "ab-ab 100%"
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="would build text of 100,000,000 characters"):
            interpolate("%(n)s" * 50_000, {"n": "x" * 2_000}, max_chars=MAX_TEXT_CHARS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024


def test_a_translation_repeating_a_placeholder_is_refused_at_its_template_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Campaign managers edit both the template and the catalogue: a 750 KB msgstr repeating a
    placeholder, filled with a 1,999-character parameter, would be a 100-million-character ad."""
    root = copy_library(tmp_path, monkeypatch)
    message = "Free, confidential advice: %(organisation)s"
    line = edit_template(
        root,
        "job_offers/meta_feed.j2",
        "organisation=organisation.name)",
        "organisation='x' * 1999)",
    )
    set_translation(root, "pl", message, "%(organisation)s" * 50_000)
    tracemalloc.start()
    try:
        _, run = render_library(root)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    refused = [
        finding
        for finding in run.errors
        if finding.file.endswith("job_offers/meta_feed.j2") and finding.line == line
        and "would build text of" in finding.message
    ]  # fmt: skip
    assert refused, "\n".join(f"{f.file}:{f.line}: {f.message}" for f in run.errors)
    # 97 MiB before the .po check's regex was made possessive (it backtracked per character)
    assert peak < 16 * 1024 * 1024, f"rendering allocated {peak / 2**20:.0f} MiB"
