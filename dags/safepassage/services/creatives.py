"""Render every theme × country × language × platform ad from creatives/, check it, and store versions.

`render_library()` is the one entry point the CLI, the preview and the DAG share: it renders all
combinations (only the languages each country serves) and returns the ads plus every finding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from safepassage import settings
from safepassage.adapters.creative_templates import (
    MAX_TEXT_CHARS,
    Catalogue,
    CatalogueEntry,
    CatalogueError,
    TemplateFailure,
    load_catalogue,
    messages_by_line,
    render,
    template_sandbox,
    template_source,
)
from safepassage.adapters.files import load_document
from safepassage.domain.campaign import CampaignConfig, Country, Language, Organisation
from safepassage.domain.creatives import (
    AD_FORMATS,
    AdContext,
    AdFormat,
    Combination,
    FieldValue,
    Finding,
    Severity,
    SourceRef,
    check_ad,
    content_hash,
    content_of,
    interpolate,
    markup_problem,
    placeholder_problem,
    render_report,
    stamp_version,
    tracked_link,
    words,
)
from safepassage.domain.errors import InvalidInput, Problem

if TYPE_CHECKING:
    from safepassage.services.ports import Warehouse

THEMES_FILE = "themes.yaml"
APP_ORGANISATION = "stop-the-traffik"


class Theme(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    name: str = Field(min_length=3)
    signpost: str = Field(
        default="local",
        description="'local': the organisations serving the ad's country and language; or one org id",
    )
    prefer: tuple[str, ...] = Field(default=(), description="org ids to signpost first where they serve")
    languages: tuple[str, ...] | None = Field(
        default=None, description="only these languages (default: every language a country serves)"
    )


class LibrarySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    campaign: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,60}$")
    source_language: str = "en"
    brand_terms: tuple[str, ...] = ()
    avoid_words: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="per language: word starts that stigmatise (warned about)"
    )
    themes: tuple[Theme, ...] = Field(min_length=1)


@dataclass(frozen=True)
class RenderedAd:
    """One platform-ready ad. `content` is what the platform push reads."""

    combination: Combination
    ad_format: str
    template_id: str
    organisation_id: str | None
    content: dict[str, Any]
    content_hash: str
    version: str
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)

    def record(self) -> dict[str, Any]:
        return {
            "content_hash": self.content_hash,
            "theme": self.combination.theme,
            "platform_code": self.combination.platform.value,
            "country_code": self.combination.country,
            "language_code": self.combination.language,
            "template_id": self.template_id,
            "content": {
                "format": self.ad_format,
                "version": self.version,
                "organisation_id": self.organisation_id,
                **self.content,
            },
        }


@dataclass
class RenderRun:
    ads: list[RenderedAd]
    findings: list[Finding] = field(default_factory=list)  # ad findings plus library-wide ones

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    def report(self) -> str:
        return render_report(self.findings, len(self.ads))

    @property
    def fingerprint(self) -> str:
        """Changes whenever any ad's content changes; lets a later task verify it stores what was checked."""
        digest = hashlib.sha256()
        for ad in sorted(self.ads, key=lambda a: a.content_hash):
            digest.update(ad.content_hash.encode())
        return digest.hexdigest()

    def raise_on_errors(self) -> None:
        if self.errors:
            raise InvalidInput(
                Problem(file=f.file, field="", message=f.message, line=f.line)
                for f in {(f.file, f.line, f.message): f for f in self.errors}.values()
            )


class CreativeLibrary:
    """creatives/: themes.yaml, templates/<theme>/<format>.j2, locale/<lang>/LC_MESSAGES/messages.po."""

    def __init__(self, root: Path, config: CampaignConfig):
        self.root = root
        self.config = config
        self.findings: list[Finding] = []
        document = load_document(root / THEMES_FILE, display_name=self.display(root / THEMES_FILE))
        try:
            self.settings = LibrarySettings.model_validate(document.data)
        except ValidationError as error:
            raise InvalidInput(document.problems_from(error)) from None
        problems = [document.problem(loc, message) for loc, message in _theme_problems(self.settings, config)]
        if problems:
            raise InvalidInput(problems)
        self.environment = template_sandbox(root / "templates")
        self.catalogues: dict[str, Catalogue] = {}
        for language in config.languages:
            if language.code == self.settings.source_language:
                continue
            path = root / "locale" / language.code / "LC_MESSAGES" / "messages.po"
            try:
                self.catalogues[language.code] = load_catalogue(path, language.code, self.display(path))
            except CatalogueError as error:
                self.findings.append(Finding(Severity.ERROR, error.display_name, error.line, error.message))
        self._messages: dict[str, dict[int, list[str | None]]] = {}
        self.allowed_words = frozenset(
            word.casefold()
            for text in (*self.settings.brand_terms, *(org.name for org in config.organisations))
            for word in words(text)
        )
        self.org_facts = {
            org.id: (org.countries, org.languages, str(org.url)) for org in config.organisations
        }

    def display(self, path: Path) -> str:
        """Paths as campaign managers see them: relative to the project, starting with creatives/."""
        try:
            return f"creatives/{path.relative_to(self.root).as_posix()}"
        except ValueError:
            return str(path)

    def template_name(self, theme: Theme, ad_format: AdFormat) -> str:
        return f"{theme.id}/{ad_format.name}.j2"

    def template_display(self, name: str) -> str:
        return f"creatives/templates/{name}"

    def messages(self, name: str) -> dict[int, list[str | None]]:
        if name not in self._messages:
            self._messages[name] = messages_by_line(self.environment, name)
        return self._messages[name]

    def used_messages(self) -> set[str]:
        used: set[str] = set()
        for theme in self.settings.themes:
            for ad_format in AD_FORMATS.values():
                try:
                    lines = self.messages(self.template_name(theme, ad_format))
                except Exception:  # reported when the template is rendered
                    continue
                used.update(m for found in lines.values() for m in found if m)
        return used


def _theme_problems(
    settings: LibrarySettings, config: CampaignConfig
) -> list[tuple[tuple[str | int, ...], str]]:
    """themes.yaml entries that name organisations or languages config/ does not know."""
    org_ids = {org.id for org in config.organisations}
    languages = set(config.language_by_code)
    found: list[tuple[tuple[str | int, ...], str]] = []
    seen: set[str] = set()
    for index, theme in enumerate(settings.themes):
        if theme.id in seen:
            found.append((("themes", index, "id"), f"theme {theme.id!r} is listed twice"))
        seen.add(theme.id)
        if theme.signpost != "local" and theme.signpost not in org_ids:
            found.append(
                (
                    ("themes", index, "signpost"),
                    f"unknown organisation {theme.signpost!r} (config/organisations.yaml)",
                )
            )
        for position, org_id in enumerate(theme.prefer):
            if org_id not in org_ids:
                found.append((("themes", index, "prefer", position), f"unknown organisation {org_id!r}"))
        for position, code in enumerate(theme.languages or ()):
            if code not in languages:
                found.append((("themes", index, "languages", position), f"unknown language {code!r}"))
    if settings.source_language not in languages:
        found.append((("source_language",), f"unknown language {settings.source_language!r}"))
    return found


def theme_names(creatives_dir: Path | None = None) -> dict[str, str]:
    """Theme id → name from themes.yaml, in its order (without loading templates or catalogues)."""
    path = Path(creatives_dir or settings.creatives_dir()) / THEMES_FILE
    document = load_document(path, display_name=f"creatives/{THEMES_FILE}")
    try:
        library_settings = LibrarySettings.model_validate(document.data)
    except ValidationError as error:
        raise InvalidInput(document.problems_from(error)) from None
    return {theme.id: theme.name for theme in library_settings.themes}


def load_library(creatives_dir: Path | None = None, config: CampaignConfig | None = None) -> CreativeLibrary:
    from safepassage.services.campaign_config import load_campaign_config

    return CreativeLibrary(Path(creatives_dir or settings.creatives_dir()), config or load_campaign_config())


def render_library(library: CreativeLibrary) -> RenderRun:
    run = RenderRun(ads=[], findings=list(library.findings))
    config = library.config
    for theme in library.settings.themes:
        for ad_format in AD_FORMATS.values():
            for country, language in config.country_languages():
                if theme.languages is not None and language.code not in theme.languages:
                    continue
                ad = render_ad(library, theme, ad_format, country, language)
                run.ads.append(ad)
                run.findings.extend(ad.findings)
    run.findings.extend(_catalogue_findings(library))
    return run


def choose_organisation(
    config: CampaignConfig, theme: Theme, country: str, language: str
) -> tuple[Organisation | None, str | None]:
    """The organisation an ad signposts to, and a warning when the choice is a compromise."""
    if theme.signpost != "local":
        orgs = [org for org in config.organisations if org.id == theme.signpost]
        return (
            (orgs[0], None) if orgs else (None, f"themes.yaml names unknown organisation {theme.signpost!r}")
        )
    serving = config.organisations_for(country, language)
    note = None
    if not serving:
        serving = config.organisations_for(country)
        note = f"no organisation serves {country} in {language}; signposting one that serves {country}"
    local = [org for org in serving if org.id != APP_ORGANISATION] or serving
    for wanted in theme.prefer:
        for org in local:
            if org.id == wanted:
                return org, note
    return (local[0] if local else None), note


def _org_view(org: Organisation, link: Callable[[Any], str]) -> dict[str, str]:
    return {
        "id": org.id,
        "name": org.name,
        "helpline": org.helpline or "",
        "host": (org.url.host or ""),
        "link": link(org.id),
    }


@dataclass(frozen=True)
class _AdToRender:
    """One ad: a theme's template for one platform, rendered for one country and language."""

    library: CreativeLibrary
    theme: Theme
    ad_format: AdFormat
    country: Country
    language: Language

    @property
    def combination(self) -> Combination:
        return Combination(self.theme.id, self.ad_format.platform, self.country.code, self.language.code)

    @property
    def template_name(self) -> str:
        return self.library.template_name(self.theme, self.ad_format)

    @property
    def template_id(self) -> str:
        return self.template_name.removesuffix(".j2")

    @property
    def template_file(self) -> str:
        return self.library.template_display(self.template_name)

    @property
    def catalogue(self) -> Catalogue | None:
        """The language's translations; None for the templates' own language or an unreadable catalogue."""
        return self.library.catalogues.get(self.language.code)


@dataclass
class _AdFindings:
    """One ad's findings, in the order they are found."""

    combination: Combination
    items: list[Finding] = field(default_factory=list)

    def add(self, severity: Severity, file: str, line: int | None, message: str) -> None:
        self.items.append(Finding(severity, file, line, message, self.combination))


def render_ad(
    library: CreativeLibrary, theme: Theme, ad_format: AdFormat, country: Country, language: Language
) -> RenderedAd:
    """Render one ad and check it. Problems are the ad's findings, in the order found; an ad whose
    template cannot be read or rendered has no content."""
    ad = _AdToRender(library, theme, ad_format, country, language)
    findings = _AdFindings(ad.combination)
    organisation = _signposted_organisation(ad, findings)
    texts_by_line = _translatable_texts(ad, findings)
    if texts_by_line is None:
        return _failed(ad, organisation, findings)
    _report_untranslatable_calls(ad, texts_by_line, findings)
    translate = _Translator(ad, _lines_using(texts_by_line), findings)
    output = _rendered_template(ad, _template_variables(ad, organisation, translate), findings)
    if output is None:
        return _failed(ad, organisation, findings)
    _report_blocks_spanning_lines(ad, output, findings)
    values = _field_values(ad, output, texts_by_line, translate.untranslated, findings)
    findings.items.extend(check_ad(ad_format, values, _ad_context(ad)))
    return _rendered(ad, organisation, values, findings)


def _signposted_organisation(ad: _AdToRender, findings: _AdFindings) -> Organisation | None:
    organisation, note = choose_organisation(ad.library.config, ad.theme, ad.country.code, ad.language.code)
    if note:
        severity = Severity.WARNING if organisation else Severity.ERROR
        findings.add(severity, ad.library.display(ad.library.root / THEMES_FILE), None, note)
    return organisation


def _translatable_texts(ad: _AdToRender, findings: _AdFindings) -> dict[int, list[str | None]] | None:
    """The `_()` texts on each template line; None (reported) when the template cannot be read."""
    try:
        return ad.library.messages(ad.template_name)
    except TemplateFailure as failure:
        findings.add(Severity.ERROR, ad.template_file, failure.line, failure.message)
    except Exception as error:  # missing template file and the like
        findings.add(Severity.ERROR, ad.template_file, None, f"cannot read the template: {error}")
    return None


def _report_untranslatable_calls(
    ad: _AdToRender, texts_by_line: dict[int, list[str | None]], findings: _AdFindings
) -> None:
    for line_number, texts in texts_by_line.items():
        for text in texts:
            if text is None:
                findings.add(
                    Severity.ERROR,
                    ad.template_file,
                    line_number,
                    "_() needs a plain quoted text as its first argument, so it can be translated",
                )


def _lines_using(texts_by_line: dict[int, list[str | None]]) -> dict[str, list[int]]:
    """Each translatable text → the template lines that use it."""
    lines: dict[str, list[int]] = {}
    for line_number, texts in texts_by_line.items():
        for text in texts:
            if text is not None:
                lines.setdefault(text, []).append(line_number)
    return lines


@dataclass
class _Translator:
    """The `_()` a template calls: a text in the ad's language, its %(name)s placeholders filled in.
    When the catalogue's translation cannot be used, the text is shown untranslated and an error says why."""

    ad: _AdToRender
    lines_using: dict[str, list[int]]
    findings: _AdFindings
    # Texts shown as the templates write them; check_ad skips their language checks (reported here, once).
    untranslated: set[str] = field(default_factory=set)

    def __call__(self, message: str, **params: Any) -> str:
        try:
            return interpolate(self._translation(message), params, max_chars=MAX_TEXT_CHARS)
        except ValueError as error:
            raise ValueError(f"_() text {error}") from None

    def _translation(self, message: str) -> str:
        catalogue = self.ad.catalogue
        if catalogue is None:
            if self.ad.language.code != self.ad.library.settings.source_language:
                self.untranslated.add(message)  # the unreadable catalogue is reported once, by the library
            return message
        used_in = self.lines_using.get(message, [])
        entry = catalogue.entries.get(message)
        if entry is None:
            self._show_untranslated(
                message,
                self.ad.template_file,
                used_in[0] if used_in else None,
                f"missing {self.ad.language.name} translation of «{message}»: run `safepassage creatives "
                f"catalogues`, then translate it in {catalogue.display_name}",
            )
            return message
        used_at = ", ".join(f"{self.ad.template_file}:{number}" for number in used_in)
        problem = _unusable_translation(message, entry, self.ad.language.name, used_at)
        if problem:
            self._show_untranslated(message, catalogue.display_name, entry.line, problem)
            return message
        return entry.text

    def _show_untranslated(self, message: str, file: str, line: int | None, problem: str) -> None:
        self.untranslated.add(message)
        self.findings.add(Severity.ERROR, file, line, problem)


def _unusable_translation(message: str, entry: CatalogueEntry, language: str, used_at: str) -> str | None:
    """Why a catalogue's translation of `message` cannot be shown, or None."""
    if not entry.text:
        return f"missing {language} translation of «{message}» [used at {used_at}]"
    if entry.fuzzy:
        return (
            f"{language} translation of «{message}» is marked fuzzy (needs review): check "
            f"it, then delete the '#, fuzzy' line above it [used at {used_at}]"
        )
    if problem := placeholder_problem(message, entry.text) or markup_problem(message, entry.text):
        return f"{language} translation of «{message}» {problem}"
    return None


def _link_function(ad: _AdToRender) -> Callable[[Any], str]:
    """The template's `link(organisation)`: the organisation's own URL, tracked for this ad."""

    def link(target: Any) -> str:
        org_id = str(target.get("id")) if isinstance(target, dict) else str(target)
        org = next((o for o in ad.library.config.organisations if o.id == org_id), None)
        if org is None:
            raise ValueError(f"link() got unknown organisation {org_id!r}")
        return tracked_link(
            str(org.url),
            platform=ad.ad_format.platform,
            campaign=ad.library.settings.campaign,
            theme=ad.theme.id,
            country=ad.country.code,
            language=ad.language.code,
            organisation_id=org.id,
        )

    return link


def _template_variables(
    ad: _AdToRender, organisation: Organisation | None, translate: _Translator
) -> dict[str, Any]:
    link = _link_function(ad)
    theme, country, language = ad.theme, ad.country, ad.language
    return {
        "_": translate,
        "gettext": translate,
        "link": link,
        "theme": {"id": theme.id, "name": theme.name},
        "country": {"code": country.code, "name": country.name},
        "language": {"code": language.code, "name": language.name, "native_name": language.native_name},
        "organisation": _org_view(organisation, link) if organisation else {},
        "organisations": [
            _org_view(org, link) for org in ad.library.config.organisations_for(country.code, language.code)
        ],
    }


def _rendered_template(ad: _AdToRender, variables: dict[str, Any], findings: _AdFindings) -> str | None:
    """The template's output; None (reported) when it fails to render."""
    try:
        return render(ad.library.environment, ad.template_name, variables)
    except TemplateFailure as failure:
        findings.add(Severity.ERROR, ad.template_file, failure.line, failure.message)
        return None


def _report_blocks_spanning_lines(ad: _AdToRender, output: str, findings: _AdFindings) -> None:
    # Output line n must come from template line n, or findings would name the wrong line.
    source = template_source(ad.library.environment, ad.template_name)
    if output.count("\n") != source.count("\n"):
        findings.add(
            Severity.ERROR,
            ad.template_file,
            None,
            "a {% ... %} block spans several lines; keep each block on the line of the field it shapes",
        )


def _field_values(
    ad: _AdToRender,
    output: str,
    texts_by_line: dict[int, list[str | None]],
    untranslated: set[str],
    findings: _AdFindings,
) -> list[FieldValue]:
    """The output's `field: text` lines; any other non-blank line is reported."""
    fields = ad.ad_format.fields
    values: list[FieldValue] = []
    for number, text in enumerate(output.split("\n"), start=1):
        if not text.strip():
            continue
        field_name, colon, value = text.partition(":")
        field_name = field_name.strip()
        if not colon or field_name not in fields:
            findings.add(
                Severity.ERROR,
                ad.template_file,
                number,
                f"expected 'field: text' with field one of {', '.join(fields)}; got «{text[:60]}»",
            )
            continue
        values.append(
            FieldValue(field_name, value.strip(), _source_of_line(ad, number, texts_by_line, untranslated))
        )
    return values


def _source_of_line(
    ad: _AdToRender, number: int, texts_by_line: dict[int, list[str | None]], untranslated: set[str]
) -> SourceRef:
    """Where a template line's text was written: with a translation, the catalogue entry of the
    line's first translated text (that is where a problem in it gets fixed)."""
    texts = [text for text in texts_by_line.get(number, []) if text is not None]
    catalogue = ad.catalogue
    entries = [catalogue.entries.get(text) for text in texts] if catalogue else []
    first = next((entry for entry in entries if entry is not None and entry.text), None)
    return SourceRef(
        ad.template_file,
        number,
        catalogue.display_name if catalogue and first else None,
        first.line if first else None,
        untranslated=any(text in untranslated for text in texts),
    )


def _ad_context(ad: _AdToRender) -> AdContext:
    library = ad.library
    return AdContext(
        ad.combination,
        ad.language.script,
        library.org_facts,
        library.allowed_words,
        library.settings.avoid_words.get(ad.language.code, ()),
        tuple(org.name for org in library.config.organisations),
    )


def _rendered(
    ad: _AdToRender, organisation: Organisation | None, values: list[FieldValue], findings: _AdFindings
) -> RenderedAd:
    ad_format = ad.ad_format
    content = content_of(ad_format, values)
    digest = content_hash({"combination": str(ad.combination), "format": ad_format.name, "content": content})
    version = digest[:12]
    return RenderedAd(
        combination=ad.combination,
        ad_format=ad_format.name,
        template_id=ad.template_id,
        organisation_id=organisation.id if organisation else None,
        content=stamp_version(content, version),
        content_hash=digest,
        version=version,
        findings=tuple(findings.items),
    )


def _failed(ad: _AdToRender, organisation: Organisation | None, findings: _AdFindings) -> RenderedAd:
    """An ad whose template could not be read or rendered: no content, only its findings."""
    return RenderedAd(
        combination=ad.combination,
        ad_format=ad.ad_format.name,
        template_id=ad.template_id,
        organisation_id=organisation.id if organisation else None,
        content={},
        content_hash="",
        version="",
        findings=tuple(findings.items),
    )


def _catalogue_findings(library: CreativeLibrary) -> list[Finding]:
    """Library-wide warnings: catalogue entries no template uses, obsolete entries."""
    used = library.used_messages()
    findings: list[Finding] = []
    for catalogue in library.catalogues.values():
        for message, entry in catalogue.entries.items():
            if message not in used:
                findings.append(
                    Finding(
                        Severity.WARNING,
                        catalogue.display_name,
                        entry.line,
                        f"«{message}» is not used by any template (remove it or use it)",
                    )
                )
    return findings


# --- warehouse --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreCounts:
    new: int
    unchanged: int

    def __str__(self) -> str:
        return f"{self.new} new creative version(s), {self.unchanged} unchanged"


def store_creative_versions(ads: Sequence[RenderedAd], warehouse: Warehouse) -> StoreCounts:
    """Insert each ad's version unless its content hash is already stored (unchanged → nothing new)."""

    if any(not ad.ok for ad in ads):
        raise ValueError("refusing to store creatives that failed their checks")
    new, unchanged = warehouse.creative_versions.insert_new_versions([ad.record() for ad in ads])
    return StoreCounts(new=new, unchanged=unchanged)


def check_and_store(
    warehouse: Warehouse, creatives_dir: Path | None = None, expected_fingerprint: str | None = None
) -> StoreCounts:
    """Render, refuse on any error, make sure nothing changed since the check, then store."""
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.reference_data import sync_reference_data

    config = load_campaign_config()
    run = render_library(load_library(creatives_dir, config))
    run.raise_on_errors()
    if expected_fingerprint and run.fingerprint != expected_fingerprint:
        raise InvalidInput(
            [Problem("creatives/", "", "templates changed after they were checked; re-run the DAG")]
        )
    warehouse.migrate()
    sync_reference_data(config, warehouse)
    return store_creative_versions(run.ads, warehouse)


def ads_by_key(ads: Iterable[RenderedAd]) -> dict[tuple[str, str, str, str], RenderedAd]:
    return {
        (
            ad.combination.theme,
            ad.combination.platform.value,
            ad.combination.country,
            ad.combination.language,
        ): ad
        for ad in ads
    }


def update_catalogues(library: CreativeLibrary) -> dict[str, tuple[int, int]]:
    """Extract every _() text from the templates into locale/messages.pot and merge into each .po."""
    from safepassage.adapters.creative_templates import write_catalogues

    # A catalogue that cannot be read (wrong charset, broken syntax) must be fixed first: merging
    # into it would rewrite the file with whatever was misread.
    problems = [Problem(file=f.file, field="", message=f.message, line=f.line) for f in library.findings]
    messages: dict[str, list[tuple[str, int]]] = {}
    for theme in library.settings.themes:
        for ad_format in AD_FORMATS.values():
            name = library.template_name(theme, ad_format)
            try:
                found = library.messages(name)
            except TemplateFailure as failure:
                where = library.template_display(name)
                problems.append(Problem(file=where, field="", message=failure.message, line=failure.line))
                continue
            for line, texts in found.items():
                for text in texts:
                    if text:
                        messages.setdefault(text, []).append((f"templates/{name}", line))
    if problems:
        raise InvalidInput(problems)
    languages = [
        lang.code for lang in library.config.languages if lang.code != library.settings.source_language
    ]
    return write_catalogues(library.root / "locale", messages, languages, library.settings.campaign)
