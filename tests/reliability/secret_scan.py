"""Find known secrets in a run's artefacts: text, files (PDF streams decompressed), databases.

`leaks(places, secrets)` lists "SECRET (ENCODING) in PLACE" for every hit, the raw value and the
usual ways it could be written down (URL-encoded, base64, JSON-escaped).
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, quote_plus

from sqlalchemy import create_engine, inspect, text

_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)


def encodings(secret: str) -> dict[str, str]:
    raw = secret.encode()
    return {
        "raw": secret,
        "URL-encoded": quote(secret, safe=""),
        "form-encoded": quote_plus(secret),
        "base64": base64.b64encode(raw).decode().rstrip("="),
        "URL-safe base64": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "JSON-escaped": json.dumps(secret)[1:-1],
    }


def readable(data: bytes) -> str:
    """The bytes as text, with any zlib (PDF FlateDecode) streams inflated and appended."""
    parts = [data.decode("utf-8", errors="replace")]
    if data.startswith(b"%PDF"):
        for stream in _PDF_STREAM.findall(data):
            try:
                parts.append(zlib.decompress(stream).decode("latin-1"))
            except zlib.error:
                continue
        try:
            import io

            from pypdf import PdfReader

            parts += [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]
        except Exception as error:  # an unreadable PDF is itself worth a look
            parts.append(f"<pypdf could not read it: {error}>")
    return "\n".join(parts)


def files_under(root: Path) -> dict[str, str]:
    """Every file under `root`, path -> readable text."""
    return {str(path): readable(path.read_bytes()) for path in sorted(root.rglob("*")) if path.is_file()}


def database_dump(url: str) -> str:
    """Every column of every row of every table, as text."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return "\n".join(
                f"{table}: {row!r}"
                for table in inspect(connection).get_table_names()
                for row in connection.execute(text(f'SELECT * FROM "{table}"'))
            )
    finally:
        engine.dispose()


def leaks(places: Mapping[str, str], secrets: Mapping[str, str]) -> list[str]:
    found = []
    for where, content in places.items():
        for what, secret in secrets.items():
            for encoding, written in encodings(secret).items():
                if written in content:
                    found.append(f"{what} ({encoding}) in {where}")
                    print(f"LEAK: {what} ({encoding}) in {where}")
                    break
    return found
