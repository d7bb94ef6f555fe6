"""The sandbox campaign managers' templates render in, and the gettext catalogues they use.

Templates are untrusted input: they render in an `ImmutableSandboxedEnvironment` with
`StrictUndefined`, an allow-list of filters and tests, no globals (no `range`, `lipsum`, `cycler`,
`namespace`, ...), and a loader that only serves plainly named `.j2` files from inside the
templates folder. The context holds plain strings, lists and dicts, so there is nothing to climb
from; the sandbox blocks `__dunder__` attributes, `str.format`/`format_map` and mutation anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, read_po
from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound, TemplateSyntaxError
from jinja2 import nodes as jinja_nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

# Filters that only transform text or lists of text. Left out on purpose: attr (CVE-2025-27516),
# format, map/select/reject/sort/groupby/sum (attribute and callable access), tojson/pprint/xmlattr
# (serialise objects), random/shuffle (renders must be reproducible), urlize, indent, filesizeformat.
ALLOWED_FILTERS = frozenset(
    {
        "capitalize",
        "default",
        "first",
        "join",
        "last",
        "length",
        "lower",
        "replace",
        "title",
        "trim",
        "truncate",
        "upper",
        "wordcount",
    }
)
ALLOWED_TESTS = frozenset(
    {"defined", "undefined", "none", "string", "number", "eq", "ne", "equalto", "in", "true", "false"}
)
GETTEXT_FUNCTIONS = ("_", "gettext")
TEMPLATE_NAME = re.compile(r"[a-z0-9_]+(?:/[a-z0-9_]+)*\.j2")


class CreativeLoader(FileSystemLoader):
    """Serves only `name/other_name.j2` files that really live under the templates folder."""

    def __init__(self, root: Path):
        super().__init__(str(root), followlinks=False)
        self.root = root.resolve()

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        if not TEMPLATE_NAME.fullmatch(template):
            raise TemplateNotFound(
                f"{template!r}: template names are lower-case words, '_' and '/' ending in .j2"
            )
        source, filename, uptodate = super().get_source(environment, template)
        if not Path(filename).resolve().is_relative_to(self.root):
            raise TemplateNotFound(f"{template!r} points outside the templates folder")
        return source, filename, uptodate


def sandbox(templates_dir: Path) -> ImmutableSandboxedEnvironment:
    environment = ImmutableSandboxedEnvironment(
        loader=CreativeLoader(templates_dir),
        undefined=StrictUndefined,
        autoescape=False,  # output is ad text, not HTML; the preview escapes it
        keep_trailing_newline=True,  # output line N is template line N
        auto_reload=False,
    )
    environment.filters = {name: f for name, f in environment.filters.items() if name in ALLOWED_FILTERS}
    environment.tests = {name: t for name, t in environment.tests.items() if name in ALLOWED_TESTS}
    environment.globals.clear()
    return environment


class TemplateFailure(Exception):
    """A template that cannot be compiled or rendered, located at its line."""

    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def messages_by_line(environment: ImmutableSandboxedEnvironment, name: str) -> dict[int, list[str | None]]:
    """Static extraction: the texts passed to _() on each template line (None: not a plain text)."""
    assert environment.loader is not None
    source = environment.loader.get_source(environment, name)[0]
    try:
        tree = environment.parse(source, name=name)
    except TemplateSyntaxError as error:
        raise TemplateFailure(error.lineno, f"template syntax error: {error.message}") from None
    found: dict[int, list[str | None]] = {}
    for call in tree.find_all(jinja_nodes.Call):
        if isinstance(call.node, jinja_nodes.Name) and call.node.name in GETTEXT_FUNCTIONS:
            first = call.args[0] if call.args else None
            text = first.value if isinstance(first, jinja_nodes.Const) else None
            found.setdefault(call.lineno, []).append(text if isinstance(text, str) else None)
    return found


def template_source(environment: ImmutableSandboxedEnvironment, name: str) -> str:
    assert environment.loader is not None
    return environment.loader.get_source(environment, name)[0]


def render(environment: ImmutableSandboxedEnvironment, name: str, context: Mapping[str, Any]) -> str:
    """Render one template; any failure becomes a TemplateFailure naming the template line."""
    try:
        template = environment.get_template(name)
    except TemplateSyntaxError as error:
        raise TemplateFailure(error.lineno, f"template syntax error: {error.message}") from None
    except TemplateNotFound as error:
        raise TemplateFailure(None, f"template not found: {error.message}") from None
    try:
        return template.render(context)
    except SecurityError as error:
        raise TemplateFailure(_template_line(error, template.filename), f"not allowed: {error}") from None
    except TemplateError as error:
        raise TemplateFailure(_template_line(error, template.filename), _explain(error)) from None
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        raise TemplateFailure(
            _template_line(error, template.filename), f"{type(error).__name__}: {error}"
        ) from None


def _explain(error: TemplateError) -> str:
    text = error.message or str(error)
    if "is undefined" in text or "has no attribute" in text:
        return f"unknown placeholder: {text} (see docs/creatives.md for what templates can use)"
    if "No filter named" in text or "No test named" in text:
        return f"{text} (allowed filters: {', '.join(sorted(ALLOWED_FILTERS))})"
    return text


def _template_line(error: BaseException, filename: str | None) -> int | None:
    """Jinja rewrites tracebacks so template frames carry the template's file name and line."""
    line = None
    traceback = error.__traceback__
    while traceback is not None:
        if filename and traceback.tb_frame.f_code.co_filename == filename:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


# --- catalogues -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueEntry:
    text: str
    line: int | None
    fuzzy: bool


@dataclass(frozen=True)
class Catalogue:
    language: str
    display_name: str
    entries: Mapping[str, CatalogueEntry]
    obsolete: Mapping[str, int | None]


class CatalogueError(Exception):
    def __init__(self, display_name: str, line: int | None, message: str):
        super().__init__(message)
        self.display_name, self.line, self.message = display_name, line, message


def load_catalogue(path: Path, language: str, display_name: str) -> Catalogue:
    try:
        with path.open("rb") as handle:
            catalog: Catalog = read_po(handle, locale=None, abort_invalid=True)
    except FileNotFoundError:
        raise CatalogueError(
            display_name, None, f"no {language} catalogue (create it from messages.pot)"
        ) from None
    except (PoFileError, UnicodeDecodeError, ValueError) as error:
        match = re.search(r" on (\d+)", str(error))
        line = int(match.group(1)) + 1 if match else None
        raise CatalogueError(display_name, line, f"not a valid .po file: {error}") from None
    entries = {
        message.id: CatalogueEntry(message.string, message.lineno, message.fuzzy)
        for message in catalog
        if message.id and isinstance(message.id, str) and isinstance(message.string, str)
    }
    obsolete = {
        message.id: message.lineno for message in catalog.obsolete.values() if isinstance(message.id, str)
    }
    return Catalogue(language, display_name, entries, obsolete)


def write_catalogues(
    locale_dir: Path,
    messages: Mapping[str, list[tuple[str, int]]],
    languages: list[str],
    project: str,
) -> dict[str, tuple[int, int]]:
    """Refresh messages.pot from the templates and merge it into each language's messages.po.

    Babel's standard merge: new texts arrive untranslated, changed texts become fuzzy (to review),
    texts no template uses any more become obsolete. Returns language -> (untranslated, fuzzy).
    """
    from babel.messages.pofile import write_po

    template = Catalog(project=project, charset="utf-8", fuzzy=False)
    for message, locations in sorted(messages.items()):
        template.add(
            message, locations=sorted(locations), flags=("python-format",) if "%(" in message else ()
        )
    locale_dir.mkdir(parents=True, exist_ok=True)
    with (locale_dir / "messages.pot").open("wb") as handle:
        write_po(handle, template, width=100, omit_header=False, sort_output=True)
    counts: dict[str, tuple[int, int]] = {}
    for language in languages:
        path = locale_dir / language / "LC_MESSAGES" / "messages.po"
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, project=project, charset="utf-8", fuzzy=False)
        catalog.update(template, no_fuzzy_matching=False)
        catalog.fuzzy = False
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=True, ignore_obsolete=False)
        untranslated = sum(1 for m in catalog if m.id and not m.string)
        fuzzy = sum(1 for m in catalog if m.id and m.fuzzy)
        counts[language] = (untranslated, fuzzy)
    return counts
