"""One scrubber for every platform error before it crosses a boundary (logs, warehouse, XCom, terminal).

facebook-business sends `access_token` and `appsecret_proof` as query parameters, so a `requests`
exception or a `FacebookRequestError` (which prints the request's params and paging URLs) can carry
them; Google errors can carry a developer token or an OAuth bearer token; a database error can carry
the warehouse URL. Two nets: the known secret-shaped patterns (named query parameters and JSON keys,
bearer tokens, PEM private keys, passwords in URLs), and the exact values the client factory and the
connection readers register here as they read them (Airflow's masker is told the same values).
"""

from __future__ import annotations

import re
import threading

REDACTED = "***"
_SECRET_NAMES = (
    r"access_token|appsecret_proof|app_secret|client_secret|refresh_token|developer[_-]token|"
    r"private_key(?:_id)?|password|passwd|api_key|token"
)
_PATTERNS = (
    # name=value in URLs, query strings and form bodies
    re.compile(rf"(?i)\b({_SECRET_NAMES})=([^&\s'\"<>]+)"),
    # 'name': 'value' / "name": "value" in reprs and JSON (also escaped JSON inside strings)
    re.compile(rf"(?i)(\\?['\"](?:{_SECRET_NAMES})\\?['\"]\s*:\s*\\?['\"])((?:[^'\"\\]++|\\.)*?)(\\?['\"])"),
    # gRPC / HTTP metadata and headers
    re.compile(r"(?i)\b(authorization['\"]?\s*[:,=]\s*['\"]?bearer\s+)([A-Za-z0-9._~+/=-]+)"),
    re.compile(r"(?i)\b(bearer\s+)([A-Za-z0-9._~+/=-]{8,})"),
    re.compile(r"(?i)\b(developer-token['\"]?\s*[:,=]\s*['\"]?)([A-Za-z0-9._~+/=-]+)"),
    # a password in a URL: scheme://user:password@host
    re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)([^@\s/]+)(@)"),
)
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S)
_ESCAPED_PEM = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:\\\\?n|[A-Za-z0-9+/=\s])*(?:-----END [A-Z ]*PRIVATE KEY-----)?"
)
_MIN_SECRET_LENGTH = 6  # shorter values (an app id's digits, "true") would blank out ordinary text

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(*values: object) -> None:
    """Remember secret values so `scrub` removes them wherever they appear (also JSON-escaped)."""
    with _lock:
        for value in values:
            text = str(value) if value is not None else ""
            if len(text) >= _MIN_SECRET_LENGTH:
                _secrets.add(text)
                escaped = text.encode("unicode_escape").decode("ascii")
                if escaped != text:
                    _secrets.add(escaped)


def scrub(value: object) -> str:
    """`value` as text with every known secret replaced by ***."""
    text = str(value)
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _PEM.sub(REDACTED, text)
    text = _ESCAPED_PEM.sub(REDACTED, text)
    for pattern in _PATTERNS:
        text = pattern.sub(_keep_name, text)
    return text


def _keep_name(match: re.Match[str]) -> str:
    groups = match.groups()
    if len(groups) == 3:
        return f"{groups[0]}{REDACTED}{groups[2]}"
    if groups[1] == REDACTED:
        return match.group(0)
    separator = "" if groups[0].endswith(("=", " ", ":", "'", '"')) else "="
    return f"{groups[0]}{separator}{REDACTED}"


class PlatformError(RuntimeError):
    """A platform call failed; the message is already scrubbed and the SDK's exception is not chained
    (its traceback would print the request URL, credentials included)."""

    def __init__(self, platform: str, error: BaseException) -> None:
        self.platform = platform
        self.error_type = type(error).__name__
        super().__init__(f"{platform}: {self.error_type}: {scrub(error)}")


__all__ = ["REDACTED", "PlatformError", "register_secret", "scrub"]
