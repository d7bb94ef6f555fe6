"""A subset of the Google Ads Query Language, parsed strictly.

Supported: SELECT fields FROM resource [WHERE cond AND ...] [ORDER BY field [ASC|DESC], ...] [LIMIT n]
with =, !=, >, >=, <, <=, IN, NOT IN, LIKE, NOT LIKE, BETWEEN, IS [NOT] NULL, CONTAINS ANY|ALL|NONE and
DURING (relative to the sandbox clock). Anything else is refused with the API's QueryError, never
answered with a silently empty result.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from google.ads.googleads.v26.services.types.google_ads_service import GoogleAdsRow
from google.protobuf.descriptor import FieldDescriptor

from ad_emulators.google_ads.errors import AdsRpcError, query_error

RowPb = GoogleAdsRow.pb()

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]++|\\.)*+'|"(?:[^"\\]++|\\.)*+")
      | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z_]))
      | (?P<op>!=|>=|<=|=|>|<)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"SELECT", "FROM", "WHERE", "ORDER", "BY", "LIMIT", "AND", "ASC", "DESC", "PARAMETERS"}
DURING_RANGES = {
    "TODAY",
    "YESTERDAY",
    "LAST_7_DAYS",
    "LAST_14_DAYS",
    "LAST_30_DAYS",
    "THIS_MONTH",
    "LAST_MONTH",
}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int

    @property
    def upper(self) -> str:
        return self.text.upper()


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Query:
    text: str
    select: tuple[str, ...]
    resource: str
    where: tuple[Condition, ...]
    order_by: tuple[tuple[str, bool], ...]  # (field, descending)
    limit: int | None


def _tokens(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    stripped_end = len(text.rstrip())
    while position < stripped_end:
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise query_error(
                "BAD_SYMBOL",
                f"Error in query: unexpected input at position {position}.",
                text[position : position + 20],
            )
        kind = match.lastgroup or ""
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise query_error("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
        self.index += 1
        return token

    def keyword(self, word: str, code: str) -> None:
        token = self.peek()
        if token is None or token.kind != "word" or token.upper != word:
            raise query_error(code, f"Error in query: expected {word}.", token.text if token else None)
        self.index += 1

    def at_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.upper in words

    def field(self) -> str:
        token = self.take()
        if token.kind != "word" or token.upper in _KEYWORDS or "." not in token.text:
            raise query_error(
                "UNEXPECTED_INPUT", f"Error in query: expected a field, found {token.text!r}.", token.text
            )
        return token.text

    def literal(self) -> Any:
        token = self.take()
        if token.kind == "string":
            body = token.text[1:-1]
            if "\n" in body:
                raise query_error("PROHIBITED_NEWLINE_IN_STRING", "Error in query: newline in string.")
            return re.sub(r"\\(.)", r"\1", body)
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "word" and token.upper not in _KEYWORDS:
            return _Constant(token.text)
        raise query_error("BAD_VALUE", f"Error in query: expected a value, found {token.text!r}.", token.text)

    def literal_list(self) -> tuple[Any, ...]:
        token = self.take()
        if token.text != "(":
            raise query_error("EXPECTED_LIST", "Error in query: expected a list in parentheses.", token.text)
        values = [self.literal()]
        while (token := self.take()).text == ",":
            values.append(self.literal())
        if token.text != ")":
            raise query_error("EXPECTED_LIST", "Error in query: expected ')'.", token.text)
        return tuple(values)

    def condition(self) -> Condition:
        name = self.field()
        token = self.take()
        if token.kind == "op":
            return Condition(name, token.text, (self.literal(),))
        word = token.upper
        if word == "IN":
            return Condition(name, "IN", self.literal_list())
        if word == "NOT":
            following = self.take().upper
            if following == "IN":
                return Condition(name, "NOT IN", self.literal_list())
            if following == "LIKE":
                return Condition(name, "NOT LIKE", (self.literal(),))
            raise query_error("BAD_OPERATOR", f"Error in query: unsupported operator NOT {following}.")
        if word == "LIKE":
            return Condition(name, "LIKE", (self.literal(),))
        if word == "BETWEEN":
            low = self.literal()
            self.keyword("AND", "EXPECTED_VALUE_WITH_BETWEEN_OPERATOR")
            return Condition(name, "BETWEEN", (low, self.literal()))
        if word == "IS":
            if self.at_keyword("NOT"):
                self.index += 1
                self.keyword("NULL", "BAD_OPERATOR")
                return Condition(name, "IS NOT NULL", ())
            self.keyword("NULL", "BAD_OPERATOR")
            return Condition(name, "IS NULL", ())
        if word == "CONTAINS":
            mode = self.take().upper
            if mode not in ("ANY", "ALL", "NONE"):
                raise query_error("BAD_OPERATOR", f"Error in query: unsupported operator CONTAINS {mode}.")
            return Condition(name, f"CONTAINS {mode}", self.literal_list())
        if word == "DURING":
            value = self.take()
            if value.upper not in DURING_RANGES:
                raise query_error(
                    "INVALID_VALUE_WITH_DURING_OPERATOR",
                    f"Error in query: {value.text} is not a supported DURING range.",
                    value.text,
                )
            return Condition(name, "DURING", (value.upper,))
        raise query_error("BAD_OPERATOR", f"Error in query: unsupported operator {token.text!r}.", token.text)

    def parse(self) -> Query:
        self.keyword("SELECT", "EXPECTED_SELECT")
        select = [self.field()]
        while (token := self.peek()) is not None and token.text == ",":
            self.index += 1
            select.append(self.field())
        self.keyword("FROM", "EXPECTED_FROM")
        resource_token = self.take()
        if resource_token.kind != "word" or "." in resource_token.text:
            raise query_error(
                "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
                "Error in query: bad resource in FROM clause.",
                resource_token.text,
            )
        where: list[Condition] = []
        if self.at_keyword("WHERE"):
            self.index += 1
            where.append(self.condition())
            while self.at_keyword("AND"):
                self.index += 1
                where.append(self.condition())
            if self.at_keyword("OR"):
                raise query_error("UNEXPECTED_INPUT", "Error in query: OR is not part of GAQL.", "OR")
        order_by: list[tuple[str, bool]] = []
        if self.at_keyword("ORDER"):
            self.index += 1
            self.keyword("BY", "EXPECTED_BY")
            while True:
                name = self.field()
                descending = False
                if self.at_keyword("ASC", "DESC"):
                    descending = self.take().upper == "DESC"
                order_by.append((name, descending))
                if (token := self.peek()) is not None and token.text == ",":
                    self.index += 1
                    continue
                break
        limit: int | None = None
        if self.at_keyword("LIMIT"):
            self.index += 1
            token = self.take()
            if token.kind != "number" or "." in token.text:
                raise query_error(
                    "BAD_LIMIT_VALUE", "Error in query: LIMIT needs a whole number.", token.text
                )
            limit = int(token.text)
            if limit <= 0:
                raise query_error(
                    "LIMIT_VALUE_TOO_LOW", "Error in query: LIMIT must be positive.", token.text
                )
        if self.at_keyword("PARAMETERS"):
            raise query_error("BAD_PARAMETER_NAME", "PARAMETERS are not supported by the sandbox.")
        leftover = self.peek()
        if leftover is not None:
            raise query_error(
                "UNEXPECTED_INPUT", f"Error in query: unexpected input {leftover.text!r}.", leftover.text
            )
        return Query(self.text, tuple(select), resource_token.text, tuple(where), tuple(order_by), limit)


@dataclass(frozen=True)
class _Constant:
    """An unquoted word in a condition: an enum constant such as ENABLED or TRUE/FALSE."""

    text: str


def parse(text: str) -> Query:
    if not text.strip():
        raise query_error("EXPECTED_SELECT", "Error in query: the query is empty.")
    return _Parser(text).parse()


# ---- fields --------------------------------------------------------------------------------------------
def field_descriptor(path: str) -> FieldDescriptor | None:
    """The descriptor of a GAQL field on GoogleAdsRow (`type` is stored as `type_`), or None."""
    descriptor = RowPb.DESCRIPTOR
    field: FieldDescriptor | None = None
    for part in path.split("."):
        if descriptor is None:
            return None
        field = descriptor.fields_by_name.get(part) or descriptor.fields_by_name.get(f"{part}_")
        if field is None:
            return None
        descriptor = field.message_type
    return field


def storage_parts(path: str) -> list[str]:
    parts: list[str] = []
    descriptor = RowPb.DESCRIPTOR
    for part in path.split("."):
        field = descriptor.fields_by_name.get(part) or descriptor.fields_by_name[f"{part}_"]
        parts.append(field.name)
        descriptor = field.message_type
    return parts


def read(message: Any, parts: list[str]) -> Any:
    """The value at `parts` below a resource message; enums as their names, unset optionals as None."""
    current = message
    for part in parts[:-1]:
        if not current.HasField(part):
            return None
        current = getattr(current, part)
    field = current.DESCRIPTOR.fields_by_name[parts[-1]]
    value = getattr(current, parts[-1])
    if field.is_repeated:
        if field.enum_type is not None:
            return [field.enum_type.values_by_number[v].name for v in value]
        return list(value)
    if field.has_presence and field.message_type is None and not current.HasField(parts[-1]):
        return None
    if field.enum_type is not None:
        return (
            field.enum_type.values_by_number[value].name
            if value in field.enum_type.values_by_number
            else value
        )
    return value


def copy_field(source: Any, target: Any, parts: list[str]) -> None:
    for part in parts[:-1]:
        if not source.HasField(part):
            return
        source, target = getattr(source, part), getattr(target, part)
    leaf = parts[-1]
    field = source.DESCRIPTOR.fields_by_name[leaf]
    if field.is_repeated:
        del getattr(target, leaf)[:]
        getattr(target, leaf).extend(getattr(source, leaf))
    elif field.message_type is not None:
        if source.HasField(leaf):
            getattr(target, leaf).CopyFrom(getattr(source, leaf))
    elif not field.has_presence or source.HasField(leaf):
        setattr(target, leaf, getattr(source, leaf))


def coerce(field: FieldDescriptor, value: Any, text: str) -> Any:
    """A query literal converted to the field's type; QueryError when it cannot be."""
    if field.enum_type is not None:
        name = value.text if isinstance(value, _Constant) else value
        if not isinstance(name, str) or name not in field.enum_type.values_by_name:
            raise query_error(
                "BAD_ENUM_CONSTANT", f"Error in query: {name!r} is not a value of {text}.", str(name)
            )
        return name
    if field.type == FieldDescriptor.TYPE_BOOL:
        if isinstance(value, _Constant) and value.text.upper() in ("TRUE", "FALSE"):
            return value.text.upper() == "TRUE"
        raise query_error("BAD_VALUE", f"Error in query: {text} needs TRUE or FALSE.")
    if field.cpp_type in (
        FieldDescriptor.CPPTYPE_INT32,
        FieldDescriptor.CPPTYPE_INT64,
        FieldDescriptor.CPPTYPE_UINT32,
        FieldDescriptor.CPPTYPE_UINT64,
    ):
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            return int(value)
        raise query_error("BAD_NUMBER", f"Error in query: {text} needs a whole number.", str(value))
    if field.cpp_type in (FieldDescriptor.CPPTYPE_DOUBLE, FieldDescriptor.CPPTYPE_FLOAT):
        if isinstance(value, int | float):
            return float(value)
        raise query_error("BAD_NUMBER", f"Error in query: {text} needs a number.", str(value))
    if field.message_type is not None:
        raise query_error(
            "PROHIBITED_FIELD_IN_WHERE_CLAUSE", f"Error in query: {text} cannot be filtered.", text
        )
    if isinstance(value, _Constant):
        raise query_error(
            "INVALID_STRING_VALUE", f"Error in query: {text} needs a quoted string.", value.text
        )
    return str(value)


def like_pattern(pattern: str) -> re.Pattern[str]:
    """GAQL LIKE: % any run, _ one character, [x] the character x literally."""
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "[" and index + 2 < len(pattern) and pattern[index + 2] == "]":
            out.append(re.escape(pattern[index + 1]))
            index += 3
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(out), re.DOTALL)


def matches(operator: str, actual: Any, values: tuple[Any, ...]) -> bool:
    if operator == "IS NULL":
        return actual is None or actual == ""
    if operator == "IS NOT NULL":
        return not (actual is None or actual == "")
    if operator.startswith("CONTAINS"):
        present = set(actual or [])
        wanted = set(values)
        if operator == "CONTAINS ANY":
            return bool(present & wanted)
        if operator == "CONTAINS ALL":
            return wanted <= present
        return not present & wanted
    if actual is None:
        return False
    if operator == "=":
        return bool(actual == values[0])
    if operator == "!=":
        return bool(actual != values[0])
    if operator == "IN":
        return actual in values
    if operator == "NOT IN":
        return actual not in values
    if operator in ("LIKE", "NOT LIKE"):
        found = like_pattern(values[0]).fullmatch(str(actual)) is not None
        return found if operator == "LIKE" else not found
    if operator == "BETWEEN":
        return bool(values[0] <= actual <= values[1])
    comparisons = {
        ">": actual > values[0],
        ">=": actual >= values[0],
        "<": actual < values[0],
        "<=": actual <= values[0],
    }
    return bool(comparisons[operator])


def during_range(name: str, today: dt.date) -> tuple[dt.date, dt.date]:
    if name == "TODAY":
        return today, today
    if name == "YESTERDAY":
        return today - dt.timedelta(days=1), today - dt.timedelta(days=1)
    if name.startswith("LAST_") and name.endswith("_DAYS"):
        days = int(name.split("_")[1])
        return today - dt.timedelta(days=days), today - dt.timedelta(days=1)
    first = today.replace(day=1)
    if name == "THIS_MONTH":
        return first, today
    previous_end = first - dt.timedelta(days=1)
    return previous_end.replace(day=1), previous_end


def parse_date(value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise query_error(
            "INVALID_DATE_FORMAT", f"Error in query: {value!r} is not a date (YYYY-MM-DD).", str(value)
        ) from None


__all__ = [
    "AdsRpcError",
    "Condition",
    "Query",
    "coerce",
    "copy_field",
    "during_range",
    "field_descriptor",
    "matches",
    "parse",
    "parse_date",
    "read",
    "storage_parts",
]
