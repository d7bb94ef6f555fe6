"""Airflow Connection (or the sandbox descriptor) -> settings for the SDK client factory.

Connections use the extras shape of the official Airflow providers:

* `google_ads_default` (GoogleAdsHook): extra `google_ads_client` = the dict `GoogleAdsClient.load_from_dict`
  accepts (`developer_token`, `json_key_file_path` or `client_id`/`client_secret`/`refresh_token`,
  `login_customer_id`, ...). A service-account key may instead be given inline as extra `keyfile_dict`
  (as a Google Cloud connection holds it); it is written to a private temporary file. SafePassage adds
  extra `customer_ids` (list or comma-separated) naming the accounts it manages.
* `meta_default` (FacebookAdsReportingHook): extras `account_id` (list or comma-separated `act_...`),
  `app_id`, `app_secret`, `access_token`; optional `api_version`.

When `SAFEPASSAGE_SANDBOX_DESCRIPTOR` names a sandbox descriptor (written by `safepassage sandbox serve`),
it wins over the connections, so the whole project talks to the local emulators with no other change.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from safepassage.adapters.platform_clients import META_API_VERSION, GoogleAdsSettings, MetaSettings

GOOGLE_ADS_CONN_ID = "google_ads_default"
META_CONN_ID = "meta_default"
SANDBOX_DESCRIPTOR_ENV = "SAFEPASSAGE_SANDBOX_DESCRIPTOR"


class ConnectionSettingsError(ValueError):
    """A connection lacks something the client needs; the message names the connection and the key."""


def sandbox_descriptor() -> dict[str, Any] | None:
    path = os.environ.get(SANDBOX_DESCRIPTOR_ENV)
    if not path:
        return None
    try:
        document: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConnectionSettingsError(
            f"{SANDBOX_DESCRIPTOR_ENV}={path}: cannot read the sandbox descriptor ({type(error).__name__})"
        ) from None
    return document


def _id_list(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(item).strip().replace("-", "") for item in items if str(item).strip())


# ---- Google Ads ---------------------------------------------------------------------------------------
def google_ads_settings_from_descriptor(descriptor: Mapping[str, Any]) -> GoogleAdsSettings:
    section = descriptor["google_ads"]
    return GoogleAdsSettings(
        client_config=dict(section["client_config"]),
        customer_ids=_id_list(section["customer_ids"]),
        ca_cert=section["ca_cert"],
    )


def google_ads_settings_from_extras(
    extras: Mapping[str, Any], conn_id: str = GOOGLE_ADS_CONN_ID
) -> GoogleAdsSettings:
    config = extras.get("google_ads_client")
    if isinstance(config, str):
        config = json.loads(config)
    if not isinstance(config, Mapping) or not config.get("developer_token"):
        raise ConnectionSettingsError(
            f"connection {conn_id!r}: extra 'google_ads_client' must be a dict with 'developer_token'"
        )
    config = dict(config)
    keyfile = extras.get("keyfile_dict")
    if keyfile and "json_key_file_path" not in config:
        config["json_key_file_path"] = _private_key_file(keyfile)
    has_service_account = "json_key_file_path" in config
    has_refresh_token = all(config.get(k) for k in ("client_id", "client_secret", "refresh_token"))
    if not (has_service_account or has_refresh_token or config.get("use_application_default_credentials")):
        raise ConnectionSettingsError(
            f"connection {conn_id!r}: give a service account ('json_key_file_path' or extra 'keyfile_dict') "
            "or 'client_id', 'client_secret' and 'refresh_token' in 'google_ads_client'"
        )
    return GoogleAdsSettings(
        client_config=config,
        customer_ids=_id_list(extras.get("customer_ids")),
        ca_cert=extras.get("ca_cert") or None,
    )


def _private_key_file(keyfile: Any) -> str:
    text = keyfile if isinstance(keyfile, str) else json.dumps(keyfile)
    fd, path = tempfile.mkstemp(prefix="safepassage-google-ads-", suffix=".json")  # created 0600
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(text)
    return path


def google_ads_settings(conn_id: str = GOOGLE_ADS_CONN_ID) -> GoogleAdsSettings:
    """Settings from the sandbox descriptor if one is configured, else from the Airflow Connection."""
    descriptor = sandbox_descriptor()
    if descriptor is not None:
        return google_ads_settings_from_descriptor(descriptor)
    from airflow.sdk import BaseHook

    return google_ads_settings_from_extras(BaseHook.get_connection(conn_id).extra_dejson, conn_id)


# ---- Meta ---------------------------------------------------------------------------------------------
def meta_settings_from_descriptor(descriptor: Mapping[str, Any]) -> MetaSettings:
    section = descriptor["meta"]
    return MetaSettings(
        app_id=str(section["app_id"]),
        app_secret=section["app_secret"],
        access_token=section["access_token"],
        ad_account_ids=tuple(section["ad_account_ids"]),
        api_version=section.get("api_version", META_API_VERSION),
        graph_url=section["graph_url"],
    )


def meta_settings_from_extras(extras: Mapping[str, Any], conn_id: str = META_CONN_ID) -> MetaSettings:
    missing = [key for key in ("app_id", "app_secret", "access_token") if not extras.get(key)]
    if missing:
        raise ConnectionSettingsError(f"connection {conn_id!r}: extras {', '.join(missing)} are missing")
    accounts = tuple(a if a.startswith("act_") else f"act_{a}" for a in _id_list(extras.get("account_id")))
    return MetaSettings(
        app_id=str(extras["app_id"]),
        app_secret=str(extras["app_secret"]),
        access_token=str(extras["access_token"]),
        ad_account_ids=accounts,
        api_version=str(extras.get("api_version") or META_API_VERSION),
        graph_url=extras.get("graph_url") or None,
    )


def meta_settings(conn_id: str = META_CONN_ID) -> MetaSettings:
    """Settings from the sandbox descriptor if one is configured, else from the Airflow Connection."""
    descriptor = sandbox_descriptor()
    if descriptor is not None:
        return meta_settings_from_descriptor(descriptor)
    from airflow.sdk import BaseHook

    return meta_settings_from_extras(BaseHook.get_connection(conn_id).extra_dejson, conn_id)


__all__ = [
    "GOOGLE_ADS_CONN_ID",
    "META_CONN_ID",
    "SANDBOX_DESCRIPTOR_ENV",
    "ConnectionSettingsError",
    "google_ads_settings",
    "google_ads_settings_from_descriptor",
    "google_ads_settings_from_extras",
    "meta_settings",
    "meta_settings_from_descriptor",
    "meta_settings_from_extras",
    "sandbox_descriptor",
]
