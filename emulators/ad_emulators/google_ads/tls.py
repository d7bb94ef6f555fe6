"""Key material the emulator makes for itself: a TLS certificate for loopback and a service-account key.

The official SDK always opens a TLS channel and, offline, can only authenticate with a service-account
JSON whose `token_uri` points at a local token endpoint. Both are generated once per state directory.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ensure_certificate(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) PEM files for `localhost` and `127.0.0.1`; made on first use."""
    cert_path, key_path = directory / "google_ads_ca.pem", directory / "google_ads_tls_key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SafePassage Google Ads sandbox")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    key_path.write_bytes(_pem(key))
    key_path.chmod(0o600)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def ensure_service_account(directory: Path, token_uri: str) -> Path:
    """A service-account JSON key (Google's format) whose `token_uri` is the emulator's token endpoint.

    The key pair is kept across restarts; `token_uri` is rewritten because the port may change.
    """
    path = directory / "google_ads_service_account.json"
    if path.exists():
        document = json.loads(path.read_text())
    else:
        document = {
            "type": "service_account",
            "project_id": "safepassage-sandbox",
            "private_key_id": "sandbox-key-1",
            "private_key": _pem(_new_key()).decode(),
            "client_email": "sandbox@safepassage-sandbox.iam.gserviceaccount.com",
            "client_id": "100000000000000000001",
            "auth_uri": token_uri,
        }
    document["token_uri"] = token_uri
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))
    path.chmod(0o600)
    return path


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def verify_jwt_assertion(assertion: str, service_account: dict[str, str], audience: str) -> dict[str, object]:
    """Claims of an RS256 JWT-bearer assertion signed by the service account's key; ValueError if not."""
    try:
        header_b64, payload_b64, signature_b64 = assertion.split(".")
        private_key = serialization.load_pem_private_key(service_account["private_key"].encode(), None)
        assert isinstance(private_key, rsa.RSAPrivateKey)
        private_key.public_key().verify(
            _b64decode(signature_b64),
            f"{header_b64}.{payload_b64}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
        claims: dict[str, object] = json.loads(_b64decode(payload_b64))
    except (ValueError, InvalidSignature, KeyError, AssertionError) as error:
        raise ValueError(f"invalid assertion: {type(error).__name__}") from None
    # google-auth addresses the assertion to Google's token URL even when `token_uri` is elsewhere.
    if claims.get("iss") != service_account["client_email"] or claims.get("aud") not in (
        audience,
        GOOGLE_TOKEN_URL,
    ):
        raise ValueError("assertion issuer or audience does not match")
    return claims
