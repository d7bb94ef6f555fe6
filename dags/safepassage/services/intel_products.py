"""Intelligence products: the key-judgements summary for a period, and a briefing note per sector
and country for businesses and financial institutions wherever a judgement sees supply-chain or
operational risk (`sectors_at_risk`).

Templates (`products/templates/*.j2`) are campaign managers' HTML and render in the same bounded
template_sandbox as the ad creatives (adapters.creative_templates); every value handed to them is escaped
first, and so is every translation. Campaign figures in them are aggregates; counts below the
small-cell threshold are shown as "fewer than N", because these notes leave the organisation.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from safepassage import settings
from safepassage.adapters.creative_templates import (
    Catalogue,
    CatalogueError,
    TemplateFailure,
    load_catalogue,
    messages_by_line,
    render,
    template_sandbox,
    write_catalogues,
)
from safepassage.adapters.files import load_document
from safepassage.domain.campaign import CampaignConfig, slug
from safepassage.domain.errors import InvalidInput, Problem
from safepassage.domain.impact import Period, Slice
from safepassage.domain.intelligence import KeyJudgement
from safepassage.services.impact import ImpactFigures, compute_impact, load_reporting_settings
from safepassage.services.impact_report import CSS, write_pdf
from safepassage.services.ports import Warehouse

SETTINGS_FILE = "products.yaml"
TEMPLATES = ("key_judgements.j2", "briefing_note.j2")
SOURCE_LANGUAGE = "en"


class ProductSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    note_languages: dict[str, str] = Field(default_factory=dict, description="country -> language")
    summary_languages: tuple[str, ...] = (SOURCE_LANGUAGE,)


def products_dir() -> Path:
    return settings.PROJECT_ROOT / "products"


@dataclass
class ProductLibrary:
    root: Path
    config: CampaignConfig
    settings: ProductSettings
    catalogues: dict[str, Catalogue] = field(default_factory=dict)

    def display(self, path: Path) -> str:
        try:
            return f"products/{path.relative_to(self.root).as_posix()}"
        except ValueError:
            return str(path)


def load_products(root: Path | None = None, config: CampaignConfig | None = None) -> ProductLibrary:
    from safepassage.services.campaign_config import load_campaign_config

    root = Path(root or products_dir())
    config = config or load_campaign_config()
    document = load_document(root / SETTINGS_FILE, display_name=f"products/{SETTINGS_FILE}")
    try:
        product_settings = ProductSettings.model_validate(document.data)
    except ValidationError as error:
        raise InvalidInput(document.problems_from(error)) from None
    known = {language.code for language in config.languages}
    problems = [
        document.problem(("note_languages", country), f"unknown country {country!r}")
        for country in product_settings.note_languages
        if country not in config.country_by_code
    ] + [
        document.problem(
            ("note_languages", country), f"unknown language {language!r} (config/languages.yaml)"
        )
        for country, language in product_settings.note_languages.items()
        if language not in known
    ]
    library = ProductLibrary(root, config, product_settings)
    for language in sorted({*product_settings.note_languages.values(), *product_settings.summary_languages}):
        if language == SOURCE_LANGUAGE:
            continue
        path = root / "locale" / language / "LC_MESSAGES" / "messages.po"
        try:
            library.catalogues[language] = load_catalogue(path, language, library.display(path))
        except CatalogueError as error:
            problems.append(
                Problem(file=error.display_name, field="", message=error.message, line=error.line)
            )
    if problems:
        raise InvalidInput(problems)
    return library


def update_catalogues(library: ProductLibrary) -> dict[str, tuple[int, int]]:
    """Collect every _() text of the templates into locale/messages.pot and merge it into each
    language's messages.po (new texts empty, changed ones fuzzy). Returns (untranslated, fuzzy)."""
    environment = template_sandbox(library.root / "templates")
    messages: dict[str, list[tuple[str, int]]] = {}
    for name in TEMPLATES:
        for line, texts in messages_by_line(environment, name).items():
            for text in texts:
                if text:
                    messages.setdefault(text, []).append((f"templates/{name}", line))
    languages = sorted(
        {*library.settings.note_languages.values(), *library.settings.summary_languages} - {SOURCE_LANGUAGE}
    )
    return write_catalogues(library.root / "locale", messages, languages, "SafePassage intelligence products")


# --- rendering --------------------------------------------------------------------------------


def _escaped(value: Any) -> Any:
    """Every string the template sees is HTML-escaped: judgements and names are data, not markup."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, Mapping):
        return {str(k): _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(v) for v in value]
    return value


def render_product(library: ProductLibrary, template: str, language: str, context: Mapping[str, Any]) -> str:
    """One product's HTML body in one language; a missing translation or a template error stops it
    with the file and line to fix."""
    catalogue = library.catalogues.get(language)
    template_file = f"products/templates/{template}"

    def gettext(message: str, **params: Any) -> str:
        text = message
        if language != SOURCE_LANGUAGE:
            entry = catalogue.entries.get(message) if catalogue else None
            if entry is None or not entry.text or entry.fuzzy:
                where = catalogue.display_name if catalogue else f"products/locale/{language}"
                raise ValueError(
                    f"no {language} translation of «{message}» in {where} "
                    "(run `safepassage products catalogues`, then translate it)"
                )
            text = entry.text
        text = html.escape(text, quote=False)
        return text % params if params else text  # params are escaped already (context)

    environment = template_sandbox(library.root / "templates")
    try:
        return render(environment, template, {**_escaped(dict(context)), "_": gettext, "gettext": gettext})
    except TemplateFailure as failure:
        raise InvalidInput(
            [Problem(file=template_file, field="", message=failure.message, line=failure.line)]
        ) from None


def page(title: str, body: str, language: str) -> str:
    return (
        f'<!doctype html><html lang="{html.escape(language)}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>{body}</body></html>"
    )


# --- what goes into the products --------------------------------------------------------------


def judgements_in(warehouse: Warehouse, period: Period) -> list[KeyJudgement]:
    from safepassage.services.intelligence import stored_judgements

    return [
        j
        for j in stored_judgements(warehouse)
        if j.valid_from <= period.end and j.valid_until >= period.start
    ]


def _joined(*parts: str) -> str:
    return ", ".join(part for part in parts if part)


def _count(value: int | None, threshold: int) -> str:
    if value is None:
        return "—"
    return f"< {threshold}" if 0 < value < threshold else f"{value:,}"


def _judgement_heading(judgement: KeyJudgement) -> dict[str, Any]:
    """What both products show of a judgement before its content: which one, when, and how sure."""
    return {
        "id": judgement.id,
        "title": judgement.title,
        "issued": judgement.issued.isoformat(),
        "valid_from": judgement.valid_from.isoformat(),
        "valid_until": judgement.valid_until.isoformat(),
        "confidence": judgement.confidence.value,
    }


def summary_context(
    judgements: list[KeyJudgement], figures: ImpactFigures, config: CampaignConfig, threshold: int
) -> dict[str, Any]:
    names = {c.code: c.name for c in config.countries}
    language_names = {lang.code: lang.name for lang in config.languages}
    return {
        "summary": {
            "period": str(figures.period),
            "campaign": {
                "reach": figures.reach.text(),
                "countries": len(figures.countries),
                "languages": len(figures.languages),
                "organisations": len(figures.organisations),
                "signposting_clicks": _count(figures.traffic.signposting_clicks, threshold),
                "people_signposted_to_safety": _count(figures.people_signposted_to_safety, threshold),
                "simulated": figures.simulated,
            },
            "judgements": [
                {
                    **_judgement_heading(j),
                    "summary": j.summary,
                    "countries": [
                        {
                            "name": names.get(code, code),
                            "risk_level": a.risk_level.value.replace("_", " "),
                            "hotspots": [h.name for h in a.hotspots],
                            "languages": [language_names.get(lang, lang) for lang in a.languages],
                            "sectors": list(a.sectors_at_risk),
                        }
                        for code, a in j.countries.items()
                    ],
                }
                for j in judgements
            ],
        }
    }


def sectors_at_risk(judgements: list[KeyJudgement]) -> dict[tuple[str, str], list[KeyJudgement]]:
    """(country, sector) -> the judgements that see risk there, in order."""
    found: dict[tuple[str, str], list[KeyJudgement]] = {}
    for judgement in judgements:
        for code, assessment in judgement.countries.items():
            for sector in assessment.sectors_at_risk:
                found.setdefault((code, sector), []).append(judgement)
    return dict(sorted(found.items()))


def note_context(
    country: str,
    sector: str,
    judgements: list[KeyJudgement],
    figures: ImpactFigures,
    config: CampaignConfig,
    threshold: int,
) -> dict[str, Any]:
    language_names = {lang.code: lang.name for lang in config.languages}
    rows = []
    for j in judgements:
        a = j.countries[country]
        people = a.people_on_the_move
        rows.append(
            {
                **_judgement_heading(j),
                "risk_level": a.risk_level.value.replace("_", " "),
                "risk_themes": [theme.value for theme in a.risk_themes],
                "summary": j.summary,
                "hotspots": [h.name for h in a.hotspots],
                "languages": [language_names.get(lang, lang) for lang in a.languages],
                "people_on_the_move": f"{people.value:,} ({_joined(people.basis.value, people.note)})",
                "audience": list(a.audience_hints),
            }
        )
    traffic = figures.breakdowns["country"].get(country)
    reach = figures.reach_by_country.get(country)
    return {
        "note": {
            "country": {"code": country, "name": config.country(country).name},
            "sector": sector,
            "period": str(figures.period),
            "judgements": rows,
            "campaign": {
                "reach": reach.text() if reach else "—",
                "signposting_clicks": _count(traffic.signposting_clicks if traffic else 0, threshold),
                "people_signposted_to_safety": _count(figures.outcomes_by_country.get(country, 0), threshold),
                "simulated": figures.simulated,
            },
            "organisations": [
                {"name": org.name, "url": str(org.url), "helpline": org.helpline or ""}
                for org in config.organisations_for(country)
            ],
        }
    }


@dataclass(frozen=True)
class WrittenProducts:
    files: list[Path]

    def summary(self) -> str:
        pdfs = [f for f in self.files if f.suffix == ".pdf"]
        where = pdfs[0].parent if pdfs else "—"
        return f"Intelligence products: {len(pdfs)} documents (HTML and PDF) in {where}"


def write_products(
    warehouse: Warehouse, period: Period, out_dir: Path, library: ProductLibrary | None = None
) -> WrittenProducts:
    """Every product for the period, in every configured language; all rendered before any is written."""
    library = library or load_products()
    config = library.config
    reporting = load_reporting_settings()
    threshold = reporting.small_cell_threshold
    judgements = judgements_in(warehouse, period)
    figures = compute_impact(warehouse, period, Slice(), simulated=reporting.platform_figures_simulated)
    documents: list[tuple[str, str, str]] = []  # (file stem, title, html)
    for language in library.settings.summary_languages:
        body = render_product(
            library, "key_judgements.j2", language, summary_context(judgements, figures, config, threshold)
        )
        documents.append(
            (f"key-judgements-{language}", f"Key judgements {period}", page("Key judgements", body, language))
        )
    for (country, sector), seen_by in sectors_at_risk(judgements).items():
        context = note_context(country, sector, seen_by, figures, config, threshold)
        languages = [
            SOURCE_LANGUAGE,
            *(
                [library.settings.note_languages[country]]
                if country in library.settings.note_languages
                else []
            ),
        ]
        for language in languages:
            body = render_product(library, "briefing_note.j2", language, context)
            stem = f"briefing-{country.lower()}-{slug(sector)}-{language}"
            documents.append(
                (stem, f"Briefing note {sector} {country}", page(f"Briefing note: {sector}", body, language))
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for stem, _title, document in documents:
        html_path = out_dir / f"{stem}.html"
        html_path.write_text(document, encoding="utf-8")
        written.extend([html_path, write_pdf(document, out_dir / f"{stem}.pdf")])
    return WrittenProducts(written)
