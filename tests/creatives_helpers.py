"""Helpers for creatives tests: a throw-away copy of creatives/ and small edit functions."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from safepassage import settings
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.creatives import CreativeLibrary, RenderRun, load_library, render_library

SHIPPED = settings.PROJECT_ROOT / "creatives"


def copy_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped creatives/ that SAFEPASSAGE_CREATIVES_DIR points at."""
    target = tmp_path / "creatives"
    shutil.copytree(SHIPPED, target)
    monkeypatch.setenv("SAFEPASSAGE_CREATIVES_DIR", str(target))
    return target


def render(root: Path | None = None) -> tuple[CreativeLibrary, RenderRun]:
    library = load_library(root, load_campaign_config())
    return library, render_library(library)


def po_path(root: Path, language: str) -> Path:
    return root / "locale" / language / "LC_MESSAGES" / "messages.po"


def set_translation(root: Path, language: str, msgid: str, msgstr: str, fuzzy: bool = False) -> int:
    """Replace one msgstr in a .po file; returns the line of its msgid (what the check should name)."""
    path = po_path(root, language)
    lines = path.read_text(encoding="utf-8").split("\n")
    quoted = '"' + msgid.replace('"', '\\"') + '"'
    index = lines.index(f"msgid {quoted}")
    end = index + 1
    while end < len(lines) and lines[end].startswith(("msgstr", '"')):
        end += 1
    replacement = [f"msgid {quoted}", f'msgstr "{msgstr}"']
    if fuzzy:
        replacement.insert(0, "#, fuzzy")
    lines[index:end] = replacement
    path.write_text("\n".join(lines), encoding="utf-8")
    return index + 1 + (1 if fuzzy else 0)


def edit_template(root: Path, name: str, old: str, new: str) -> int:
    """Replace text in a template; returns the (1-based) line that now holds `new`."""
    path = root / "templates" / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return next(i for i, line in enumerate(text.split("\n"), start=1) if new.split("\n")[0] in line)


def messages(run: RenderRun) -> list[str]:
    return [f"{f.where}: {f.message}" for f in run.errors]


def find(run: RenderRun, pattern: str) -> list[str]:
    return [m for m in messages(run) if re.search(pattern, m)]
