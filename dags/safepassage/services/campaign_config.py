"""Load and validate `config/` once per process; every problem names its file, line and field."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from safepassage import settings
from safepassage.adapters.files import SourceDocument, load_document
from safepassage.domain.campaign import CampaignConfig, cross_check
from safepassage.domain.errors import InvalidInput, Problem

# section -> (file, key holding the list in that file, or None when the whole file is the section)
CONFIG_FILES: dict[str, tuple[str, str | None]] = {
    "countries": ("countries.yaml", "countries"),
    "languages": ("languages.yaml", "languages"),
    "organisations": ("organisations.yaml", "organisations"),
    "budget": ("budget.yaml", None),
    "policy": ("platform_policy.yaml", None),
}
_SECTION_ALIASES = {"platform_policy": "policy"}


def load_campaign_config(config_dir: Path | None = None) -> CampaignConfig:
    """Validated campaign configuration; cached per directory (restart to pick up edits)."""
    return _load(Path(config_dir or settings.config_dir()).resolve())


def clear_cache() -> None:
    _load.cache_clear()


@lru_cache(maxsize=8)
def _load(config_dir: Path) -> CampaignConfig:
    documents: dict[str, SourceDocument] = {}
    problems: list[Problem] = []
    for section, (filename, _) in CONFIG_FILES.items():
        try:
            documents[section] = load_document(config_dir / filename, display_name=f"config/{filename}")
        except InvalidInput as error:
            problems.extend(error.problems)
    if problems:
        raise InvalidInput(problems)

    raw: dict[str, object] = {}
    for section, (_, key) in CONFIG_FILES.items():
        data = documents[section].data
        if key is None:
            raw[section] = data
        elif isinstance(data, dict) and key in data:
            raw[section] = data[key]
            # A misspelt or stray top-level key would otherwise be ignored without a word.
            problems.extend(
                documents[section].problem((other,), f"unknown top-level key: this file holds only {key!r}")
                for other in data
                if other != key
            )
        else:
            problems.append(documents[section].problem((key,), f"missing the top-level list {key!r}"))
    if problems:
        raise InvalidInput(problems)

    try:
        config = CampaignConfig.model_validate(raw)
    except ValidationError as error:
        raise InvalidInput(_locate(error, documents)) from None

    findings = cross_check(config)
    if findings:
        raise InvalidInput(
            _document_for(finding.section, documents).problem(finding.loc, finding.message)
            for finding in findings
        )
    return config


def _document_for(section: str, documents: dict[str, SourceDocument]) -> SourceDocument:
    return documents[_SECTION_ALIASES.get(section, section)]


def _locate(error: ValidationError, documents: dict[str, SourceDocument]) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        section, *rest = item["loc"]
        document = _document_for(str(section), documents)
        key = CONFIG_FILES[_SECTION_ALIASES.get(str(section), str(section))][1]
        loc = (key, *rest) if key else tuple(rest)
        problems.append(document.problem(loc, str(item["msg"]).removeprefix("Value error, ")))
    return problems
