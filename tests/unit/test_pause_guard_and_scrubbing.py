"""The pause guard (pure) and the one scrubber every platform error goes through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from safepassage.adapters.redaction import register_secret, scrub
from safepassage.domain.pauses import CountryPaused, PauseGuard


@dataclass(frozen=True)
class Operation:
    """Any platform's operation: the guard needs only these four fields and a key."""

    action: str
    kind: str
    country: str
    fields: dict[str, Any]

    @property
    def key(self) -> str:
        return f"SP|{self.country}|{self.kind}"


def op(action: str, kind: str, country: str, **fields: Any) -> Operation:
    return Operation(action, kind, country, fields)


def test_the_guard_refuses_switching_on_in_a_paused_country_and_reads_pauses_per_request() -> None:
    pauses: dict[str, str] = {}
    reads: list[int] = []

    def active() -> dict[str, str]:
        reads.append(1)
        return pauses

    guard = PauseGuard(active)
    enabling = [
        op("create", "campaign", "PL", status="ENABLED"),
        op("create", "campaign", "DE", status="ENABLED"),
    ]
    guard.check(enabling)  # nothing paused yet
    pauses["PL"] = "scam wave (by anna)"
    with pytest.raises(CountryPaused, match=r"PL paused .*scam wave \(by anna\).*SP\|PL\|campaign"):
        guard.check(enabling)
    with pytest.raises(CountryPaused):
        guard.check([op("update", "campaign", "PL", status="ENABLED")])
    with pytest.raises(CountryPaused):
        guard.check([op("create", "ad_set", "PL")])  # Meta's default status is ACTIVE
    # Allowed: pausing, and what cannot serve below a paused campaign (a plan made after the pause).
    allowed = [
        op("create", "campaign", "PL", status="PAUSED"),
        op("create", "ad_group", "PL", status="ENABLED"),
        op("update", "campaign_budget", "PL", amount_micros=10**9),
        op("update", "campaign", "PL", status="PAUSED"),
        op("create", "campaign", "DE", status="ENABLED"),
    ]
    guard.check(allowed)
    assert len(reads) == 5, "read at each request that switches something on, never cached"


def test_scrub_removes_credentials_from_every_shape_they_come_in() -> None:
    register_secret("registered-secret-value")
    samples = {
        "GET http://127.0.0.1:1/v26.0/act_1/adsets?access_token=EAAB1&appsecret_proof=9f8e": "EAAB1",
        "Params:  {'access_token': 'EAAB2', 'limit': 200}": "EAAB2",
        '{"developer_token": "dev-3", "x": 1}': "dev-3",
        "metadata: authorization: Bearer ya29.token4": "ya29.token4",
        "postgresql+psycopg://postgres:pw5@127.0.0.1:5432/db": "pw5",
        '"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEkey6\\n-----END PRIVATE KEY-----\\n"': "MIIEkey6",
        "an echo of registered-secret-value in a reply": "registered-secret-value",
    }
    for text, secret in samples.items():
        cleaned = scrub(text)
        assert secret not in cleaned and "***" in cleaned, cleaned
    assert scrub("Google Ads INVALID_ARGUMENT: SP|PL|uk: name too long") == (
        "Google Ads INVALID_ARGUMENT: SP|PL|uk: name too long"
    )
