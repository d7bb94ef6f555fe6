"""Load config/push.yaml, validated against the campaign config; problems name file, line, field."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from safepassage import settings
from safepassage.adapters.files import load_document
from safepassage.domain.errors import InvalidInput
from safepassage.domain.push_settings import PushSettings, cross_check_push
from safepassage.services.campaign_config import load_campaign_config

PUSH_FILE = "push.yaml"


def load_push_settings(config_dir: Path | None = None) -> PushSettings:
    directory = Path(config_dir or settings.config_dir())
    document = load_document(directory / PUSH_FILE, display_name=f"config/{PUSH_FILE}")
    try:
        push = PushSettings.model_validate(document.data)
    except ValidationError as error:
        raise InvalidInput(document.problems_from(error)) from None
    findings = cross_check_push(push, load_campaign_config(directory))
    if findings:
        raise InvalidInput(document.problem(finding.loc, finding.message) for finding in findings)
    approvers = settings.review_approvers()
    if approvers is not None:
        push = push.model_copy(update={"review": push.review.model_copy(update={"approvers": approvers})})
    return push
