"""Reading the project's human-edited files (YAML/JSON) with line numbers kept for error messages.

Bounded: a file above MAX_INPUT_BYTES is refused unread, and YAML anchors/aliases (`&name` /
`*name`) are refused, because even `safe_load` expands them: a few lines of aliases
("billion laughs") become a structure whose every walk (validation, line index) never ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from safepassage.domain.errors import InvalidInput, Problem, field_path

Loc = tuple[str | int, ...]

MAX_INPUT_BYTES = 1024 * 1024  # config, key judgements, themes: a few KiB each today


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing anchors and aliases where they appear."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                problem="anchors and aliases (&name, *name) are not allowed: write the value out in full",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        """A date-shaped value that is no date (`2022-02-30`) stays text, so the field's own
        validation names it; PyYAML would raise a bare ValueError with no line."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        """An integer beyond Python's digit limit stays text (the field then says it is no number)."""
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            return self.construct_scalar(node)


_NoAliasLoader.add_constructor("tag:yaml.org,2002:timestamp", _NoAliasLoader.construct_yaml_timestamp)
_NoAliasLoader.add_constructor("tag:yaml.org,2002:int", _NoAliasLoader.construct_yaml_int)


def file_too_large(path: Path, limit: int) -> str | None:
    """Why `path` is too large to read (checked before reading it), or None."""
    size = path.stat().st_size
    return f"file is {size:,} bytes; at most {limit:,} bytes are accepted" if size > limit else None


@dataclass
class SourceDocument:
    """Parsed data plus the line each mapping key / sequence item starts on (1-based)."""

    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    display_name: str = ""

    @property
    def name(self) -> str:
        return self.display_name or str(self.path)

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """Line of the deepest part of `loc` that exists in the file."""
        loc = self.located(loc)
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None

    def located(self, loc: Sequence[str | int]) -> Loc:
        """`loc` with a number that is a mapping key in the file (`7: x`) as the key's text, not an index."""
        parts: list[str | int] = []
        for part in loc:
            if part == "[key]":  # pydantic's marker for "the key itself": the key's own path says it
                continue
            if (
                isinstance(part, int)
                and (*parts, part) not in self.lines
                and (*parts, str(part)) in self.lines
            ):
                part = str(part)
            parts.append(part)
        return tuple(parts)

    def problem(self, loc: Sequence[str | int], message: str) -> Problem:
        loc = self.located(loc)
        return Problem(file=self.name, field=field_path(loc), message=message, line=self.line_of(loc))

    def problems_from(self, error: ValidationError, prefix: Loc = ()) -> list[Problem]:
        return [
            self.problem((*prefix, *item["loc"]), _plain_message(item["msg"]))
            for item in error.errors(include_url=False)
        ]


def _plain_message(message: str) -> str:
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def load_document(path: Path, display_name: str = "") -> SourceDocument:
    """Load a YAML (or JSON, which is YAML) file; duplicate keys and syntax errors are problems."""
    name = display_name or str(path)
    try:
        if too_large := file_too_large(path, MAX_INPUT_BYTES):
            raise InvalidInput([Problem(file=name, field="", message=too_large)])
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise InvalidInput([Problem(file=name, field="", message="file not found")]) from None
    except UnicodeDecodeError as error:
        at = raw.count(b"\n", 0, error.start) + 1
        raise InvalidInput(
            [Problem(file=name, field="", message=f"not UTF-8 text ({error.reason})", line=at)]
        ) from None
    try:
        loader = _NoAliasLoader(text)
    except yaml.reader.ReaderError as error:  # a control character (NUL, ESC…) anywhere in the text
        at = text.count("\n", 0, error.position) + 1
        message = f"not valid YAML: character #x{error.character:02x} is not allowed ({error.reason})"
        raise InvalidInput([Problem(file=name, field="", message=message, line=at)]) from None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:
        message = "not valid YAML: nested too deeply"
        raise InvalidInput([Problem(file=name, field="", message=message)]) from None
    except ValueError as error:  # any other value PyYAML cannot build
        raise InvalidInput([Problem(file=name, field="", message=f"not valid YAML: {error}")]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(error, "problem", None) or str(error)
        raise InvalidInput(
            [Problem(file=name, field="", message=f"not valid YAML: {reason}", line=line)]
        ) from None
    finally:
        loader.dispose()
    document = SourceDocument(path=path, data=data, display_name=name)
    duplicates: list[Problem] = []
    if node is not None:
        _record_lines(node, (), document, duplicates)
    else:  # an empty file: "line 1" is still the place to write what is missing
        document.lines[()] = 1
    if duplicates:
        raise InvalidInput(duplicates)
    return document


def _record_lines(node: yaml.Node, loc: Loc, document: SourceDocument, problems: list[Problem]) -> None:
    document.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*loc, key)
            if key in seen:
                problems.append(
                    Problem(
                        file=document.name,
                        field=field_path(child),
                        message="key appears twice in the same mapping",
                        line=key_node.start_mark.line + 1,
                    )
                )
            seen.add(key)
            document.lines[child] = key_node.start_mark.line + 1
            _record_lines(value_node, child, document, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*loc, index), document, problems)


def dump_json(data: Any, path: Path) -> None:
    """Write JSON atomically (write then rename), so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    temporary.replace(path)


def raise_if_any(problems: Iterable[Problem]) -> None:
    collected = list(problems)
    if collected:
        raise InvalidInput(collected)
