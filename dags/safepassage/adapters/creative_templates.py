"""The sandbox campaign managers' templates render in, and the gettext catalogues they use.

Templates are untrusted input: they render in an `ImmutableSandboxedEnvironment` with
`StrictUndefined`, an allow-list of filters and tests, no globals (no `range`, `lipsum`, `cycler`,
`namespace`, ...), and a loader that only serves plainly named `.j2` files from inside the
templates folder. The context holds plain strings, lists and dicts, so there is nothing to climb
from; the sandbox blocks `__dunder__` attributes, `str.format`/`format_map` and mutation anyway.

The sandbox stops escapes, not work, so every render is also bounded (docs/creatives.md, "Limits"):
- a template file above `MAX_TEMPLATE_BYTES` is refused before it is read;
- every arithmetic operator and `~` is intercepted: no value a template builds (text, list,
  number) may exceed `MAX_TEXT_CHARS` / `MAX_ITEMS` / `MAX_INT_BITS`, checked *before* the work is
  done, and intercepted operators are never folded at compile time (`optimized=False` too);
  `%` on text (printf formatting, e.g. `'%999999999d' % 1`) is refused outright;
- `join` and `replace` check the size of their result before building it; every filter and
  call result is size-checked; calls whose result size an argument sets (`'a'.ljust(10**10)`,
  `center`, `zfill`, `expandtabs`) are checked before they run, and no method of a number or of
  bytes can be called at all (`encode`, `to_bytes`: no ad needs bytes);
- the output stops at `MAX_OUTPUT_CHARS`;
- a work budget: at most `MAX_TEMPLATE_STEPS` template lines executed (loop iterations, macro
  calls) and `MAX_RENDER_SECONDS` per render. It is counted by a trace function on the template's
  own frames, so it works in any thread (API server, task worker) and interrupts pure-Python
  loops; the single C-level operations it cannot interrupt are bounded by the size limits above.
"""

from __future__ import annotations

import codecs
import functools
import io
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, read_po
from jinja2 import BaseLoader, StrictUndefined, TemplateError, TemplateNotFound, TemplateSyntaxError
from jinja2 import nodes as jinja_nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from safepassage.adapters.files import file_too_large

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

# Limits. An ad template is a few hundred bytes; its longest field (a Meta primary text) is a few
# hundred characters; a render runs a few hundred template lines. Each limit leaves ample room.
MAX_TEMPLATE_BYTES = 16 * 1024
MAX_TEXT_CHARS = 2_000  # any text a template builds or a call returns
MAX_ITEMS = 1_000  # any list a template builds
MAX_INT_BITS = 128  # any whole number a template computes
MAX_OUTPUT_CHARS = 16_000  # one rendered ad
MAX_TEMPLATE_STEPS = 5_000  # template lines run per render (loops, macro calls); real ads: ≤ 35
MAX_RENDER_SECONDS = 5.0


class TemplateTooCostly(SecurityError):
    """A template tried to build something too large or to do too much work."""


class CreativeLoader(BaseLoader):
    """Serves only `name/other_name.j2` files that really live under the templates folder and
    are at most MAX_TEMPLATE_BYTES long (checked before the file is read)."""

    def __init__(self, root: Path):
        self.root = root.resolve()

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        if not TEMPLATE_NAME.fullmatch(template):
            raise TemplateNotFound(
                f"{template!r}: template names are lower-case words, '_' and '/' ending in .j2"
            )
        path = (self.root / template).resolve()
        if not path.is_relative_to(self.root):
            raise TemplateNotFound(f"{template!r} points outside the templates folder")
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise TemplateNotFound(template) from None
        if size > MAX_TEMPLATE_BYTES:
            raise TemplateTooCostly(
                f"the template is {size:,} bytes; templates may be at most {MAX_TEMPLATE_BYTES:,} bytes"
            )
        source = path.read_bytes().decode("utf-8")
        mtime = path.stat().st_mtime
        return source, str(path), lambda: path.exists() and path.stat().st_mtime == mtime


def _size_problem(value: Any) -> str | None:
    if isinstance(value, str | bytes | bytearray) and len(value) > MAX_TEXT_CHARS:
        return f"text of {len(value):,} characters (at most {MAX_TEXT_CHARS:,})"
    if isinstance(value, list | tuple | dict | set) and len(value) > MAX_ITEMS:
        return f"a list of {len(value):,} items (at most {MAX_ITEMS:,})"
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        return f"a number of {value.bit_length():,} bits (at most {MAX_INT_BITS})"
    return None


def _refuse_if_too_large(value: Any, what: str) -> Any:
    problem = _size_problem(value)
    if problem:
        raise TemplateTooCostly(f"{what} would build {problem}")
    return value


def _projected_size(operator: str, left: Any, right: Any) -> str | None:
    """Why `left <operator> right` would be too large, judged from the operands alone."""
    sized = (str, bytes, bytearray, list, tuple)
    if operator == "%" and isinstance(left, str):
        return "text formatting with % (use _('… %(name)s …', name=…) or ~)"
    if operator == "*":
        if isinstance(left, int) and isinstance(right, sized):
            left, right = right, left
        if isinstance(left, sized) and isinstance(right, int):
            limit = MAX_ITEMS if isinstance(left, list | tuple) else MAX_TEXT_CHARS
            if len(left) * max(right, 0) > limit:
                return f"{len(left):,} × {right:,} items or characters (at most {limit:,})"
        elif (
            isinstance(left, int)
            and isinstance(right, int)
            and left.bit_length() + right.bit_length() > MAX_INT_BITS
        ):
            return f"a product of more than {MAX_INT_BITS} bits"
    powered = operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1
    if powered and right > 0 and left.bit_length() * right > MAX_INT_BITS:
        return f"a power of about {left.bit_length() * right:,} bits (at most {MAX_INT_BITS})"
    if operator == "+" and isinstance(left, sized) and isinstance(right, sized):
        limit = MAX_ITEMS if isinstance(left, list | tuple) else MAX_TEXT_CHARS
        if len(left) + len(right) > limit:
            return f"{len(left) + len(right):,} items or characters (at most {limit:,})"
    return None


_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill"})


def _call_problem(function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """Why calling `function` is refused before it runs: its result size is set by an argument
    (checked after the call, `'a'.ljust(10**10)` would already have taken 10 GB), or it is a method
    of a number or of bytes, which no ad needs and whose results (`encode`, `to_bytes`) escape
    the text limits."""
    owner = getattr(function, "__self__", None)
    name = getattr(function, "__name__", "")
    if isinstance(owner, int | float | complex | bytes | bytearray):
        return f"calling {type(owner).__name__}.{name}() is not allowed: templates work with text"
    if not isinstance(owner, str):
        return None
    if name in _WIDTH_METHODS:
        width = args[0] if args else kwargs.get("width", 0)
    elif name == "expandtabs":
        tabsize = args[0] if args else kwargs.get("tabsize", 8)
        width = len(owner) + owner.count("\t") * tabsize if isinstance(tabsize, int) else 0
    elif name == "encode":
        return "calling str.encode() is not allowed: templates work with text"
    else:
        return None
    if isinstance(width, int) and width > MAX_TEXT_CHARS:
        return f"{name}() would build text of {width:,} characters (at most {MAX_TEXT_CHARS:,})"
    return None


class BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with `a ~ b` going through the environment's size check."""

    def visit_Concat(self, node: jinja_nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox plus size limits on everything a template can build (module doc)."""

    code_generator_class = BoundedCodeGenerator
    # Intercepted operators are also never constant-folded at compile time (jinja2.nodes.BinExpr).
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    intercepted_unops = frozenset({"+", "-"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        problem = _projected_size(operator, left, right)
        if problem:
            raise TemplateTooCostly(f"refused {operator!r}: {problem}")
        return _refuse_if_too_large(super().call_binop(context, operator, left, right), repr(operator))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        problem = _call_problem(__obj, args, kwargs)
        if problem:
            raise TemplateTooCostly(problem)
        result = super().call(__context, __obj, *args, **kwargs)
        return _refuse_if_too_large(result, f"calling {getattr(__obj, '__name__', 'a function')}()")

    def bounded_concat(self, values: Iterable[Any]) -> str:
        parts, total = [], 0
        for value in values:
            text = str(value)
            total += len(text)
            if total > MAX_TEXT_CHARS:
                raise TemplateTooCostly(f"'~' would build text of more than {MAX_TEXT_CHARS:,} characters")
            parts.append(text)
        return "".join(parts)


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """The filter with its result size-checked; join and replace check before they build."""

    @functools.wraps(function)  # keeps jinja's pass_eval_context marker
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if name in ("join", "replace"):
            _precheck(name, *args[1:], **kwargs)  # args[0] is the eval context
        return _refuse_if_too_large(function(*args, **kwargs), f"the {name} filter")

    return bounded


def _precheck(name: str, value: Any, *args: Any, **kwargs: Any) -> None:
    if name == "join":
        separator = str(args[0] if args else kwargs.get("d", ""))
        items = list(value) if isinstance(value, list | tuple | str) else []
        size = sum(len(str(item)) for item in items) + len(separator) * max(len(items) - 1, 0)
    else:  # replace(text, old, new, count=None)
        text = str(value)
        old = str(args[0] if args else kwargs.get("old", ""))
        new = str(args[1] if len(args) > 1 else kwargs.get("new", ""))
        occurrences = len(text) + 1 if not old else text.count(old)
        count = args[2] if len(args) > 2 else kwargs.get("count")
        if isinstance(count, int) and count >= 0:
            occurrences = min(occurrences, count)
        size = len(text) + occurrences * (len(new) - len(old))
    if size > MAX_TEXT_CHARS:
        raise TemplateTooCostly(
            f"the {name} filter would build text of {size:,} characters (at most {MAX_TEXT_CHARS:,})"
        )


def template_sandbox(templates_dir: Path) -> BoundedSandbox:
    environment = BoundedSandbox(
        loader=CreativeLoader(templates_dir),
        undefined=StrictUndefined,
        autoescape=False,  # output is ad text, not HTML; the preview escapes it
        keep_trailing_newline=True,  # output line N is template line N
        auto_reload=False,
        optimized=False,  # no compile-time evaluation of anything
    )
    environment.filters = {
        name: _bounded_filter(name, f) for name, f in environment.filters.items() if name in ALLOWED_FILTERS
    }
    environment.tests = {name: t for name, t in environment.tests.items() if name in ALLOWED_TESTS}
    environment.globals.clear()
    return environment


class TemplateFailure(Exception):
    """A template that cannot be compiled or rendered, located at its line."""

    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line, self.message = line, message


class _WorkBudget:
    """Counts the lines executed in template code (files under `root`) and stops the render
    beyond MAX_TEMPLATE_STEPS or MAX_RENDER_SECONDS, by raising from the trace function.

    A trace function is per thread, so this works in the API server's worker threads as well as a
    task's main thread, where signal.alarm would be the only other choice. While it runs it
    replaces any other tracer (a debugger, coverage) and restores it afterwards.
    """

    def __init__(self, root: Path):
        self.root = str(root)
        self.steps = 0
        self.deadline = time.monotonic() + MAX_RENDER_SECONDS

    def __enter__(self) -> _WorkBudget:
        self.previous = sys.gettrace()
        sys.settrace(self._on_call)
        return self

    def __exit__(self, *_: object) -> None:
        sys.settrace(self.previous)

    def _on_call(self, frame: FrameType, event: str, _arg: Any) -> Any:
        in_template = frame.f_code.co_filename.startswith(self.root + os.sep)
        return self._on_line if in_template else None

    def _on_line(self, frame: FrameType, event: str, _arg: Any) -> Any:
        if event == "line":
            self.steps += 1
            if self.steps > MAX_TEMPLATE_STEPS:
                raise TemplateTooCostly(
                    f"the template does too much work (more than {MAX_TEMPLATE_STEPS:,} steps: "
                    "loops or macros nested too deep)"
                )
            if self.steps % 256 == 0 and time.monotonic() > self.deadline:
                raise TemplateTooCostly(f"the template took longer than {MAX_RENDER_SECONDS:g} s to render")
        return self._on_line


def messages_by_line(environment: ImmutableSandboxedEnvironment, name: str) -> dict[int, list[str | None]]:
    """Static extraction: the texts passed to _() on each template line (None: not a plain text)."""
    assert environment.loader is not None
    try:
        source = environment.loader.get_source(environment, name)[0]
        tree = environment.parse(source, name=name)
    except TemplateSyntaxError as error:
        raise TemplateFailure(error.lineno, f"template syntax error: {error.message}") from None
    except SecurityError as error:
        raise TemplateFailure(None, f"not allowed: {error}") from None
    except UnicodeDecodeError as error:
        raise TemplateFailure(None, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    except RecursionError:
        raise TemplateFailure(None, "not allowed: the template is nested too deeply") from None
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
    """Render one template within the limits; any failure becomes a TemplateFailure naming the line."""
    try:
        template = environment.get_template(name)
    except TemplateSyntaxError as error:
        raise TemplateFailure(error.lineno, f"template syntax error: {error.message}") from None
    except TemplateNotFound as error:
        raise TemplateFailure(None, f"template not found: {error.message}") from None
    except SecurityError as error:
        raise TemplateFailure(None, f"not allowed: {error}") from None
    except (RecursionError, MemoryError, SyntaxError) as error:  # pathological nesting
        message = f"not allowed: the template is nested too deeply to compile ({type(error).__name__})"
        raise TemplateFailure(None, message) from None
    loader = environment.loader
    root = loader.root if isinstance(loader, CreativeLoader) else Path(template.filename or name).parent
    output: list[str] = []
    size = 0
    try:
        with _WorkBudget(root):
            for chunk in template.generate(context):
                size += len(chunk)
                if size > MAX_OUTPUT_CHARS:
                    line = "".join(output).count("\n") + 1  # output line N is template line N
                    raise TemplateFailure(
                        line, f"not allowed: the ad would be longer than {MAX_OUTPUT_CHARS:,} characters"
                    )
                output.append(chunk)
    except SecurityError as error:
        raise TemplateFailure(_template_line(error, template.filename), f"not allowed: {error}") from None
    except TemplateError as error:
        raise TemplateFailure(_template_line(error, template.filename), _explain(error)) from None
    except RecursionError as error:
        raise TemplateFailure(
            _template_line(error, template.filename), "not allowed: a macro calls itself too deeply"
        ) from None
    except MemoryError:  # a limit above missed a way to build something huge: still name the line
        raise TemplateFailure(None, "not allowed: the template ran out of memory") from None
    except (LookupError, ValueError, TypeError, AttributeError, ArithmeticError) as error:
        raise TemplateFailure(
            _template_line(error, template.filename), f"{type(error).__name__}: {error}"
        ) from None
    return "".join(output)


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


MAX_CATALOGUE_BYTES = 1024 * 1024  # a language's catalogue is ~10 KiB today
_CHARSET = re.compile(r'^"Content-Type:[^"\n]*?charset=([^\s";\\]*)', re.IGNORECASE | re.MULTILINE)


def catalogue_text(data: bytes, display_name: str) -> str:
    """The catalogue as text, if it is UTF-8 and its header says so; otherwise a CatalogueError
    naming the header line (a catalogue decoded with a wrong charset would pass as mojibake)."""
    try:
        text = data.decode("utf-8")
        bad_line = None
    except UnicodeDecodeError as error:
        text = data.decode("utf-8", errors="replace")
        bad_line = data[: error.start].count(b"\n") + 1
    match = _CHARSET.search(text)
    header_line = text[: match.start()].count("\n") + 1 if match else None
    declared = match.group(1) if match else None
    if declared is None:
        raise CatalogueError(
            display_name,
            bad_line,
            'no charset in the header: add "Content-Type: text/plain; charset=UTF-8\\n" and save as UTF-8',
        )
    try:
        codec = codecs.lookup(declared).name
    except LookupError:
        raise CatalogueError(
            display_name, header_line, f"unknown charset {declared!r} in the header: use charset=UTF-8"
        ) from None
    if codec != "utf-8":
        found = f"the text is not UTF-8 either (line {bad_line})" if bad_line else "the text is UTF-8"
        raise CatalogueError(
            display_name,
            header_line,
            f"the header declares charset={declared}, but catalogues must be UTF-8 ({found}): "
            "save the file as UTF-8 and write charset=UTF-8",
        )
    if bad_line is not None:
        raise CatalogueError(
            display_name, bad_line, f"not UTF-8 text although the header (line {header_line}) says so"
        )
    return text


_PO_STRING_LINE = re.compile(r'^(?:#~\s*)?(?:msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)?\s*"')
# Possessive: a plain `(?:[^"\\]|\\.)*` keeps a backtracking point per character, ~90 MiB for
# one 750 KB line; runs taken whole and never given back keep it to a few per escape.
_PO_CLOSED_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"\s*$')


def _unterminated_string_line(text: str) -> int | None:
    """The first line whose quoted string has no closing quote. Babel reads `msgstr "Sprawdź za`
    as `Sprawdź z` (it drops the last character as if it were the quote), so a cut-off
    translation would ship shortened without a word."""
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if (match := _PO_STRING_LINE.match(stripped)) and not _PO_CLOSED_STRING.fullmatch(
            stripped[match.end() - 1 :]
        ):
            return number
    return None


def load_catalogue(path: Path, language: str, display_name: str) -> Catalogue:
    try:
        if too_large := file_too_large(path, MAX_CATALOGUE_BYTES):
            raise CatalogueError(display_name, None, too_large)
        text = catalogue_text(path.read_bytes(), display_name)
    except FileNotFoundError:
        raise CatalogueError(
            display_name, None, f"no {language} catalogue (create it from messages.pot)"
        ) from None
    if (line := _unterminated_string_line(text)) is not None:
        raise CatalogueError(
            display_name, line, 'not a valid .po file: a quoted string is not closed (add the final ")'
        )
    try:
        catalog: Catalog = read_po(io.StringIO(text), locale=None, abort_invalid=True)
    except (PoFileError, ValueError) as error:
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
            catalog = read_po(io.StringIO(catalogue_text(path.read_bytes(), str(path))), locale=language)
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
