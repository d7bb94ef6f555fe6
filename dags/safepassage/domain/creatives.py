"""Creatives: platform formats and their limits, tracked links, and the checks every rendered ad passes.

Pure logic. Rendering (Jinja2 sandbox, gettext catalogues) lives in adapters/services; this module
only sees rendered text and where it came from.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from safepassage.domain.campaign import Platform, Script

ORG_PARAMETER = "sp_org"
COUNTRY_PARAMETER = "sp_country"
LANGUAGE_PARAMETER = "sp_lang"
VERSION_PLACEHOLDER = "__CREATIVE_VERSION__"
UTM_MEDIUM = {Platform.GOOGLE_ADS: "cpc", Platform.META: "paid_social"}

# Meta's call-to-action types that fit a signposting link ad (Marketing API `call_to_action.type`).
META_CALLS_TO_ACTION = frozenset({"LEARN_MORE", "DOWNLOAD", "CONTACT_US", "GET_DIRECTIONS", "SIGN_UP"})


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class FieldLimit:
    """How many of a field an ad needs and how long each may be (in characters, as platforms count)."""

    label: str
    max_chars: int | None
    min_count: int = 1
    max_count: int = 1
    soft_max_chars: int | None = None  # longer text is allowed but gets truncated on screen
    soft_reason: str = ""


@dataclass(frozen=True)
class AdFormat:
    platform: Platform
    name: str
    title: str
    fields: Mapping[str, FieldLimit]
    link_field: str
    unique_fields: tuple[str, ...] = ()
    joined_fields: Mapping[str, str] = field(default_factory=dict)  # repeated lines joined into one text


GOOGLE_RSA = AdFormat(
    platform=Platform.GOOGLE_ADS,
    name="google_rsa",
    title="Google responsive search ad",
    fields={
        "headline": FieldLimit("headline", 30, min_count=3, max_count=15),
        "description": FieldLimit("description", 90, min_count=2, max_count=4),
        "path": FieldLimit("display path", 15, min_count=0, max_count=2),
        "final_url": FieldLimit("final URL", 2048),
    },
    link_field="final_url",
    unique_fields=("headline", "description"),
)

META_FEED = AdFormat(
    platform=Platform.META,
    name="meta_feed",
    title="Meta feed link ad",
    fields={
        "primary_text": FieldLimit(
            "primary text",
            2200,
            min_count=1,
            max_count=5,
            soft_max_chars=125,
            soft_reason="mobile feeds cut it off with '… See more'",
        ),
        "headline": FieldLimit(
            "headline", 255, soft_max_chars=40, soft_reason="mobile feeds cut longer headlines off"
        ),
        "description": FieldLimit(
            "description", 255, min_count=0, soft_max_chars=30, soft_reason="often hidden when longer"
        ),
        "call_to_action": FieldLimit("call to action", 40),
        "link": FieldLimit("link", 2048),
    },
    link_field="link",
    joined_fields={"primary_text": "\n"},
)

AD_FORMATS: dict[str, AdFormat] = {fmt.name: fmt for fmt in (GOOGLE_RSA, META_FEED)}
FORMAT_FOR_PLATFORM: dict[Platform, AdFormat] = {fmt.platform: fmt for fmt in AD_FORMATS.values()}


# --- text measurement -------------------------------------------------------------------------


def char_count(text: str) -> int:
    """Characters as the platforms count them: code points after NFC (Cyrillic letters count as one)."""
    return len(unicodedata.normalize("NFC", text))


def letter_script(letter: str) -> str | None:
    """'Latin', 'Cyrillic', another script's name, or None for non-letters."""
    if not letter.isalpha():
        return None
    name = unicodedata.name(letter, "")
    for script in Script:
        if name.startswith(script.value.upper()):
            return script.value
    return name.split(" ", 1)[0].title() if name else "Unknown"


_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def script_problems(text: str, expected: Script, allowed_words: frozenset[str]) -> list[str]:
    """Words not written in the language's script (allowed: brand and organisation names)."""
    problems: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group(0)
        scripts = {letter_script(ch) for ch in word if ch.isalpha()}
        if len(scripts) > 1:
            problems.append(f"«{word}» mixes {' and '.join(sorted(s or '?' for s in scripts))} letters")
        elif scripts != {expected.value} and word.casefold() not in allowed_words:
            problems.append(f"«{word}» is in {scripts.pop()} script, expected {expected.value}")
    return problems


def tone_problems(text: str, avoid: Iterable[str], proper_names: Iterable[str] = ()) -> list[str]:
    """Words the campaign avoids (they cast the reader as a victim); matched at word starts, any case.

    Proper names (support organisations' names) are left out: they are what they are."""
    for name in proper_names:
        text = text.replace(name, " ")
    found = []
    lowered = [word.casefold() for word in words(text)]
    for stem in avoid:
        stem_folded = stem.casefold()
        if any(word.startswith(stem_folded) for word in lowered):
            found.append(stem)
    return found


_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
_PLACEHOLDER_OR_PERCENT = re.compile(r"%\((\w+)\)[sd]|%%")
_BROKEN_PLACEHOLDER = re.compile(r"%\((?!\w+\)[sd])|%(?![(%])")


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def interpolate(text: str, params: Mapping[str, object], max_chars: int | None = None) -> str:
    """Fill `%(name)s` placeholders (and `%%`) without printf: no widths, no other conversions.

    `text % params` would let a translation such as `%(name)999999999s` build a gigabyte string,
    and raise on any stray `%`. Without params the text is returned as written. With `max_chars`,
    a result longer than that is refused before it is built: a translation repeating one
    placeholder thousands of times would otherwise multiply a parameter's length.
    """
    if not params:
        return text
    if _BROKEN_PLACEHOLDER.search(text.replace("%%", "")):
        raise ValueError(f"«{text}» has a malformed placeholder (write it exactly as %(name)s, and % as %%)")
    values: dict[str, str] = {}
    size = len(text)
    for match in _PLACEHOLDER_OR_PERCENT.finditer(text):
        name = match.group(1)
        if name is None:  # %%
            size -= 1
            continue
        if name not in params:
            raise ValueError(f"«{text[:200]}» needs placeholder %({name})s passed in")
        value = values.setdefault(name, str(params[name]))
        size += len(value) - len(match.group(0))
    if max_chars is not None and size > max_chars:
        raise ValueError(f"«{text[:80]}…» would build text of {size:,} characters (at most {max_chars:,})")
    return _PLACEHOLDER_OR_PERCENT.sub(lambda match: values[match.group(1)] if match.group(1) else "%", text)


_MARKUP = re.compile(r"\{\{|\{%|\{#|\}\}|%\}|<\s*/?\s*[a-zA-Z!][^<>]*>?|&#?\w+;", re.IGNORECASE)


def markup_problem(source: str, translation: str) -> str | None:
    """Template syntax or HTML in a translation that the English text does not have, or None.

    Ads are plain text: `{{ … }}` would show literally (translations are never rendered as
    templates), and a tag or `<script` is either a mistake or an attempt to reach the preview.
    """
    in_source = {match.group(0)[:20] for match in _MARKUP.finditer(source)}
    found = sorted({match.group(0)[:20] for match in _MARKUP.finditer(translation)} - in_source)
    if not found:
        return None
    return (
        "contains markup or template syntax (" + ", ".join(f"«{item}»" for item in found) + "); "
        "ads are plain text: remove it"
    )


def placeholder_problem(source: str, translation: str) -> str | None:
    """Why a translation's %(name)s placeholders do not match the source text, or None."""
    if _BROKEN_PLACEHOLDER.search(translation):
        return "has a malformed placeholder (write it exactly as %(name)s)"
    expected, found = placeholders(source), placeholders(translation)
    if expected == found:
        return None
    parts = []
    if expected - found:
        parts.append("is missing " + ", ".join(f"%({name})s" for name in sorted(expected - found)))
    if found - expected:
        parts.append("has unknown " + ", ".join(f"%({name})s" for name in sorted(found - expected)))
    return " and ".join(parts) + " (copy placeholders unchanged from the English text)"


def normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


# --- links ------------------------------------------------------------------------------------


def tracked_link(
    url: str,
    *,
    platform: Platform,
    campaign: str,
    theme: str,
    country: str,
    language: str,
    organisation_id: str,
    version: str = VERSION_PLACEHOLDER,
) -> str:
    """The organisation's own URL with UTM and SafePassage parameters appended (its query is kept as is)."""
    parts = urlsplit(url)
    ours = urlencode(
        {
            "utm_source": platform.value,
            "utm_medium": UTM_MEDIUM[platform],
            "utm_campaign": f"{campaign}_{theme}",
            "utm_content": version,
            ORG_PARAMETER: organisation_id,
            COUNTRY_PARAMETER: country,
            LANGUAGE_PARAMETER: language,
        }
    )
    query = f"{parts.query}&{ours}" if parts.query else ours
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, parts.fragment))


def link_parameters(url: str) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


# --- rendered ads -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceRef:
    """Where a piece of text was written: the template line and, if translated, the catalogue line."""

    template: str
    line: int | None
    catalogue: str | None = None
    catalogue_line: int | None = None
    untranslated: bool = False  # a catalogue lacked the text, so the English source was used

    def describe(self) -> str:
        where = f"{self.template}:{self.line}" if self.line else self.template
        if self.catalogue:
            where += f" (text from {self.catalogue}" + (
                f":{self.catalogue_line})" if self.catalogue_line else ")"
            )
        return where


@dataclass(frozen=True)
class FieldValue:
    name: str
    text: str
    source: SourceRef


@dataclass(frozen=True)
class Combination:
    theme: str
    platform: Platform
    country: str
    language: str

    def __str__(self) -> str:
        return f"{self.theme} · {self.platform.value} · {self.country} · {self.language}"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    file: str
    line: int | None
    message: str
    combination: Combination | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


def content_of(ad_format: AdFormat, values: Sequence[FieldValue]) -> dict[str, Any]:
    """The platform-ready content: lists for repeatable fields, strings for single ones."""
    content: dict[str, Any] = {}
    for name, limit in ad_format.fields.items():
        texts = [value.text for value in values if value.name == name]
        if name in ad_format.joined_fields:
            content[name] = ad_format.joined_fields[name].join(texts)
        elif limit.max_count > 1:
            content[f"{name}s" if not name.endswith("s") else name] = texts
        else:
            content[name] = texts[0] if texts else ""
    return content


def content_hash(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def stamp_version(content: Mapping[str, Any], version: str) -> dict[str, Any]:
    """Replace the version placeholder in links with the creative's version id."""
    text = json.dumps(content, ensure_ascii=False)
    return dict(json.loads(text.replace(VERSION_PLACEHOLDER, version)))


@dataclass(frozen=True)
class AdContext:
    """What the checks need to know about the audience of one ad."""

    combination: Combination
    script: Script
    organisations_serving: Mapping[str, tuple[tuple[str, ...], tuple[str, ...], str]]
    # org id -> (countries, languages, url) for every organisation in config
    allowed_words: frozenset[str]
    avoid_words: tuple[str, ...] = ()
    proper_names: tuple[str, ...] = ()


# --- checks on one rendered ad -------------------------------------------------------------------
# check_ad runs AD_RULES in order. Two of them run finer rules: FIELD_RULES field by field and
# VALUE_RULES line by line, so the findings on one field (or one line) stay together in the report.


def _finding_at(severity: Severity, source: SourceRef, message: str, combination: Combination) -> Finding:
    """A finding on a piece of text, pointing where it can be fixed."""
    if source.catalogue:
        # Translated text is fixed in the catalogue; the template line says where it is used.
        message = f"{message} [used at {source.template}:{source.line}]"
        return Finding(severity, source.catalogue, source.catalogue_line, message, combination)
    return Finding(severity, source.template, source.line, message, combination)


def _values_named(values: Sequence[FieldValue], name: str) -> list[FieldValue]:
    return [value for value in values if value.name == name]


def field_count_is_allowed(
    ad_format: AdFormat, name: str, values: Sequence[FieldValue], context: AdContext
) -> list[Finding]:
    limit = ad_format.fields[name]
    found = _values_named(values, name)
    if limit.min_count <= len(found) <= limit.max_count:
        return []
    wanted = (
        f"exactly {limit.min_count}"
        if limit.min_count == limit.max_count
        else f"{limit.min_count} to {limit.max_count}"
    )
    # The last such line, or (none written) the template the ad's other lines come from.
    where = found[-1].source if found else values[0].source if values else None
    combo = context.combination
    return [
        Finding(
            Severity.ERROR,
            where.template if where else combo.theme,
            where.line if where else None,
            f"{ad_format.title} needs {wanted} {limit.label}(s), this template gives {len(found)}",
            combo,
        )
    ]


def field_lengths_are_allowed(
    ad_format: AdFormat, name: str, values: Sequence[FieldValue], context: AdContext
) -> list[Finding]:
    limit = ad_format.fields[name]
    findings = []
    for value in _values_named(values, name):
        if problem := _length_problem(ad_format, limit, value.text):
            severity, message = problem
            findings.append(_finding_at(severity, value.source, message, context.combination))
    return findings


def _length_problem(ad_format: AdFormat, limit: FieldLimit, text: str) -> tuple[Severity, str] | None:
    """A required text left empty, longer than the platform allows, or cut off on screen; or None."""
    length = char_count(text)
    if not text.strip() and limit.min_count:
        return Severity.ERROR, f"{limit.label} is empty"
    if limit.max_chars is not None and length > limit.max_chars:
        return (
            Severity.ERROR,
            f"{limit.label} is {length} characters, {ad_format.platform.value} allows "
            f"{limit.max_chars}: «{text}» — shorten it by {length - limit.max_chars}",
        )
    if limit.soft_max_chars is not None and length > limit.soft_max_chars:
        return (
            Severity.WARNING,
            f"{limit.label} is {length} characters; over {limit.soft_max_chars} {limit.soft_reason}",
        )
    return None


FieldRule = Callable[[AdFormat, str, Sequence[FieldValue], AdContext], list[Finding]]
FIELD_RULES: tuple[FieldRule, ...] = (field_count_is_allowed, field_lengths_are_allowed)


def fields_fit_their_limits(
    ad_format: AdFormat, values: Sequence[FieldValue], context: AdContext
) -> list[Finding]:
    return [
        finding
        for name in ad_format.fields
        for rule in FIELD_RULES
        for finding in rule(ad_format, name, values, context)
    ]


def repeated_fields_differ(
    ad_format: AdFormat, values: Sequence[FieldValue], context: AdContext
) -> list[Finding]:
    """No two headlines (or descriptions) read the same, ignoring case and spacing: platforms reject that."""
    findings = []
    for name in ad_format.unique_fields:
        seen: dict[str, FieldValue] = {}
        for value in _values_named(values, name):
            first = seen.setdefault(normalised(value.text), value)
            if first is not value:
                findings.append(
                    _finding_at(
                        Severity.ERROR,
                        value.source,
                        f"duplicate {name}: «{value.text}» is the same as line {first.source.line}; "
                        f"{ad_format.platform.value} rejects repeated {name}s in one ad",
                        context.combination,
                    )
                )
    return findings


def display_path_has_no_spaces_or_slashes(
    ad_format: AdFormat, value: FieldValue, context: AdContext
) -> list[Finding]:
    if value.name != "path" or not re.search(r"[\s/]", value.text):
        return []
    message = f"display path «{value.text}» may not contain spaces or '/'"
    return [_finding_at(Severity.ERROR, value.source, message, context.combination)]


def call_to_action_is_one_meta_offers(
    ad_format: AdFormat, value: FieldValue, context: AdContext
) -> list[Finding]:
    if value.name != "call_to_action" or value.text in META_CALLS_TO_ACTION:
        return []
    message = f"call to action {value.text!r} is not one of {', '.join(sorted(META_CALLS_TO_ACTION))}"
    return [_finding_at(Severity.ERROR, value.source, message, context.combination)]


def _is_wording(ad_format: AdFormat, value: FieldValue) -> bool:
    """Text a reader reads in the ad's language: not a link or call-to-action code, and not English
    standing in for a missing translation (that is reported once, as the missing translation)."""
    return value.name not in (ad_format.link_field, "call_to_action") and not value.source.untranslated


def wording_does_not_stigmatise(ad_format: AdFormat, value: FieldValue, context: AdContext) -> list[Finding]:
    if not _is_wording(ad_format, value):
        return []
    return [
        _finding_at(
            Severity.WARNING,
            value.source,
            f"{value.name} uses «{stem}…»: prevention ads speak to capable people making plans, "
            "never to victims; say what to check or where to get help instead",
            context.combination,
        )
        for stem in tone_problems(value.text, context.avoid_words, context.proper_names)
    ]


def wording_is_in_the_language_script(
    ad_format: AdFormat, value: FieldValue, context: AdContext
) -> list[Finding]:
    if not _is_wording(ad_format, value):
        return []
    combo = context.combination
    return [
        _finding_at(
            Severity.ERROR,
            value.source,
            f"wrong script in a {context.script.value} ad ({combo.language}) {value.name}: {problem}",
            combo,
        )
        for problem in script_problems(value.text, context.script, context.allowed_words)
    ]


ValueRule = Callable[[AdFormat, FieldValue, AdContext], list[Finding]]
VALUE_RULES: tuple[ValueRule, ...] = (
    display_path_has_no_spaces_or_slashes,
    call_to_action_is_one_meta_offers,
    wording_does_not_stigmatise,
    wording_is_in_the_language_script,
)


def values_pass_their_checks(
    ad_format: AdFormat, values: Sequence[FieldValue], context: AdContext
) -> list[Finding]:
    return [
        finding for value in values for rule in VALUE_RULES for finding in rule(ad_format, value, context)
    ]


def links_signpost_a_serving_organisation(
    ad_format: AdFormat, values: Sequence[FieldValue], context: AdContext
) -> list[Finding]:
    return [
        finding
        for value in _values_named(values, ad_format.link_field)
        for finding in _link_findings(value, context)
    ]


def _link_findings(value: FieldValue, context: AdContext) -> list[Finding]:
    combo = context.combination
    source = value.source
    url = value.text

    def error(message: str) -> Finding:
        return Finding(Severity.ERROR, source.template, source.line, message, combo)

    if not url.startswith("https://"):
        return [error(f"link must start with https:// (got «{url[:60]}»)")]
    params = link_parameters(url)
    org_id = params.get(ORG_PARAMETER)
    if not org_id:
        return [error(f"link has no {ORG_PARAMETER} parameter; build links with link(organisation)")]
    org = context.organisations_serving.get(org_id)
    if org is None:
        return [error(f"link names unknown organisation {org_id!r} (config/organisations.yaml)")]
    countries, languages, org_url = org
    findings = []
    if combo.country not in countries:
        findings.append(
            error(
                f"link goes to {org_id}, which does not serve {combo.country} "
                f"(it serves {', '.join(countries)}); signpost a local organisation"
            )
        )
    elif combo.language not in languages:
        findings.append(
            Finding(
                Severity.WARNING,
                source.template,
                source.line,
                f"link goes to {org_id}, which does not list {combo.language} among its languages",
                combo,
            )
        )
    if host_of(url) != host_of(org_url):
        findings.append(error(f"link host {host_of(url)} is not {org_id}'s own host {host_of(org_url)}"))
    expected = {
        "utm_source": combo.platform.value,
        "utm_medium": UTM_MEDIUM[combo.platform],
        COUNTRY_PARAMETER: combo.country,
        LANGUAGE_PARAMETER: combo.language,
    }
    for key, wanted in expected.items():
        if params.get(key) != wanted:
            findings.append(error(f"link parameter {key}={params.get(key)!r}, expected {wanted!r}"))
    if "utm_campaign" not in params or "utm_content" not in params:
        findings.append(error("link lacks utm_campaign or utm_content"))
    return findings


AdRule = Callable[[AdFormat, Sequence[FieldValue], AdContext], list[Finding]]
AD_RULES: tuple[AdRule, ...] = (
    fields_fit_their_limits,
    repeated_fields_differ,
    values_pass_their_checks,
    links_signpost_a_serving_organisation,
)


def check_ad(ad_format: AdFormat, values: Sequence[FieldValue], context: AdContext) -> list[Finding]:
    """Every platform-rule and content check on one rendered ad (AD_RULES, in order)."""
    return [finding for rule in AD_RULES for finding in rule(ad_format, values, context)]


# --- reports ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupedFinding:
    severity: Severity
    where: str
    message: str
    combinations: tuple[Combination, ...]

    def render(self) -> str:
        scope = summarise_combinations(self.combinations)
        return f"{self.where}: {self.message}" + (f"\n      in {scope}" if scope else "")


def summarise_combinations(combinations: Sequence[Combination]) -> str:
    if not combinations:
        return ""
    if len(combinations) <= 3:
        return "; ".join(str(c) for c in combinations)
    countries = sorted({c.country for c in combinations})
    platforms = sorted({c.platform.value for c in combinations})
    themes = sorted({c.theme for c in combinations})
    return (
        f"{len(combinations)} ads ({', '.join(themes)}; {', '.join(platforms)}; "
        f"countries {', '.join(countries)})"
    )


def group_findings(findings: Iterable[Finding]) -> list[GroupedFinding]:
    """One entry per distinct problem, listing every ad it affects; errors first, then by file/line."""
    groups: dict[tuple[Severity, str, int | None, str], list[Combination]] = {}
    for finding in findings:
        combos = groups.setdefault((finding.severity, finding.file, finding.line, finding.message), [])
        if finding.combination is not None and finding.combination not in combos:
            combos.append(finding.combination)
    ordered = sorted(
        groups.items(),
        key=lambda item: (item[0][0] != Severity.ERROR, item[0][1], item[0][2] or 0, item[0][3]),
    )
    return [
        GroupedFinding(severity, f"{file}:{line}" if line else file, message, tuple(combos))
        for (severity, file, line, message), combos in ordered
    ]


def render_report(findings: Sequence[Finding], ads: int) -> str:
    grouped = group_findings(findings)
    errors = [g for g in grouped if g.severity is Severity.ERROR]
    warnings = [g for g in grouped if g.severity is Severity.WARNING]
    lines = []
    if errors:
        lines.append(f"{len(errors)} error(s) — fix these before the creatives can ship:")
        lines += [f"  ✗ {g.render()}" for g in errors]
    if warnings:
        lines += ["", f"{len(warnings)} warning(s) — worth a look, they do not block:"] if errors else []
        if not errors:
            lines.append(f"{len(warnings)} warning(s) — worth a look, they do not block:")
        lines += [f"  ! {g.render()}" for g in warnings]
    verdict = (
        f"Checked {ads} ads: {len(errors)} error(s), {len(warnings)} warning(s)."
        if errors or warnings
        else f"Checked {ads} ads: all clean."
    )
    return "\n".join([*lines, "", verdict] if lines else [verdict])
