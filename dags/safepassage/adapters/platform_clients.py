"""The ONE place SDK clients are built: a Google Ads client and a Meta Marketing API session.

Settings come from `safepassage.orchestration.connections` (an Airflow Connection or the sandbox
descriptor). Nothing here, and nothing that calls it, knows whether the other end is Google/Meta or
the local sandbox: only the settings differ (an endpoint and CA certificate, a Graph URL).
Settings objects never show their secrets in repr, logs or tracebacks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from facebook_business.api import FacebookAdsApi
    from google.ads.googleads.client import GoogleAdsClient

GOOGLE_ADS_API_VERSION = "v26"
META_API_VERSION = "v26.0"
DEFAULT_GRAPH_URL = "https://graph.facebook.com"
SSL_ROOTS_ENV = "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"
GOOGLE_ADS_SCOPES = ("https://www.googleapis.com/auth/adwords",)  # what the SDK asks for a service account
# (connect, read) seconds for every Graph API request: without it the SDK waits forever on a silent peer.
META_TIMEOUT_SECONDS = (10.0, 120.0)
_SECRET_CONFIG_KEYS = {"developer_token", "client_secret", "refresh_token", "json_key_file_path"}


@dataclass(frozen=True)
class GoogleAdsSettings:
    """`client_config` is what `GoogleAdsClient.load_from_dict` takes (the Airflow provider's
    `google_ads_client` extra). `ca_cert` is only set for a server with a private CA (the sandbox).
    `service_account_info`: a service-account key held in memory (the connection's `keyfile_dict`),
    used instead of a `json_key_file_path`, so the private key is never written to disk."""

    client_config: Mapping[str, Any] = field(repr=False)
    customer_ids: tuple[str, ...] = ()
    login_customer_id: str | None = None
    ca_cert: str | None = None
    service_account_info: Mapping[str, Any] | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        shown = {k: ("***" if k in _SECRET_CONFIG_KEYS else v) for k, v in self.client_config.items()}
        return (
            f"GoogleAdsSettings(client_config={shown}, customer_ids={self.customer_ids}, "
            f"login_customer_id={self.login_customer_id}, ca_cert={self.ca_cert}, "
            f"service_account_info={'***' if self.service_account_info else None})"
        )


@dataclass(frozen=True)
class MetaSettings:
    """Meta Marketing API credentials (the Airflow Facebook provider's extras) and, for the sandbox, the
    Graph URL to use instead of graph.facebook.com."""

    app_id: str
    app_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    ad_account_ids: tuple[str, ...] = ()
    api_version: str = META_API_VERSION
    graph_url: str | None = None
    timeout: tuple[float, float] = META_TIMEOUT_SECONDS  # (connect, read) seconds per request


def google_ads_client(settings: GoogleAdsSettings) -> GoogleAdsClient:
    """A `GoogleAdsClient` (proto-plus messages, API v26) for these settings."""
    from google.ads.googleads.client import GoogleAdsClient

    if settings.ca_cert:
        # Read by gRPC once per process, before the first TLS channel: only ever set for the sandbox.
        os.environ[SSL_ROOTS_ENV] = settings.ca_cert
    config = {"use_proto_plus": True, **dict(settings.client_config)}
    if settings.login_customer_id:
        config["login_customer_id"] = settings.login_customer_id
    if settings.service_account_info is None:
        return GoogleAdsClient.load_from_dict(config, version=GOOGLE_ADS_API_VERSION)
    # `load_from_dict` only reads a key from a file path; the client's own constructor takes credentials.
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account

    credentials = service_account.Credentials.from_service_account_info(
        dict(settings.service_account_info),
        scopes=list(GOOGLE_ADS_SCOPES),
        subject=config.get("impersonated_email"),
    )
    credentials.refresh(Request())  # as the SDK does: a bad key fails here, not inside the first call
    return GoogleAdsClient(
        credentials=credentials,
        developer_token=config.get("developer_token"),
        endpoint=config.get("endpoint"),
        login_customer_id=config.get("login_customer_id"),
        linked_customer_id=config.get("linked_customer_id"),
        http_proxy=config.get("http_proxy"),
        use_proto_plus=bool(config.get("use_proto_plus", True)),
        version=GOOGLE_ADS_API_VERSION,
    )


def meta_api(settings: MetaSettings) -> FacebookAdsApi:
    """Initialise the facebook-business default API session and return it.

    `crash_log=False` always: the SDK would otherwise install an excepthook that posts crash
    reports to graph.facebook.com. `FacebookSession.GRAPH` is a class attribute (process-wide).
    Every request has a timeout (the SDK sets none by default).
    """
    from facebook_business.api import FacebookAdsApi
    from facebook_business.session import FacebookSession

    FacebookSession.GRAPH = (settings.graph_url or DEFAULT_GRAPH_URL).rstrip("/")
    return FacebookAdsApi.init(
        app_id=settings.app_id,
        app_secret=settings.app_secret,
        access_token=settings.access_token,
        api_version=settings.api_version,
        timeout=settings.timeout,
        crash_log=False,
    )


__all__ = [
    "GOOGLE_ADS_API_VERSION",
    "META_API_VERSION",
    "META_TIMEOUT_SECONDS",
    "GoogleAdsSettings",
    "MetaSettings",
    "google_ads_client",
    "meta_api",
]
