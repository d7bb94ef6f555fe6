"""Graph API errors as Meta sends them: `{"error": {message, type, code, error_subcode, ...}}`.

The SDK turns these into `FacebookRequestError` (code, subcode, transient flag, blame fields).
Codes follow Meta's public error reference and rate-limiting pages.
"""

from __future__ import annotations

import json
import secrets
from typing import Any


class GraphError(Exception):
    def __init__(
        self,
        message: str,
        *,
        code: int = 100,
        subcode: int | None = None,
        http_status: int = 400,
        error_type: str = "OAuthException",
        is_transient: bool = False,
        user_title: str | None = None,
        user_message: str | None = None,
        blame_field: tuple[str, ...] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.http_status = http_status
        self.error_type = error_type
        self.is_transient = is_transient
        self.user_title = user_title
        self.user_message = user_message
        self.blame_field = blame_field
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
            "is_transient": self.is_transient,
            "fbtrace_id": secrets.token_urlsafe(12),
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.user_title:
            error["error_user_title"] = self.user_title
        if self.user_message:
            error["error_user_msg"] = self.user_message
        if self.blame_field:
            error["error_data"] = json.dumps({"blame_field_specs": [list(self.blame_field)]})
        return {"error": error}


def invalid_parameter(
    message: str, *, field: tuple[str, ...] | None = None, title: str | None = None
) -> GraphError:
    """Code 100, the error Meta returns for any malformed or disallowed parameter."""
    return GraphError(
        "(#100) Invalid parameter",
        code=100,
        user_title=title or "Invalid parameter",
        user_message=message,
        blame_field=field,
    )


def unsupported_request(method: str, node: str) -> GraphError:
    return GraphError(
        f"Unsupported {method.lower()} request. Object with ID '{node}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        code=100,
        subcode=33,
        error_type="GraphMethodException",
    )


def nonexisting_field(field: str, node_type: str) -> GraphError:
    return GraphError(f"(#100) Tried accessing nonexisting field ({field}) on node type ({node_type})")
