"""Airflow Connection (or the sandbox descriptor) -> settings for the SDK client factory.

Connections use the extras shape of the official Airflow providers:

* `google_ads_default` (GoogleAdsHook): extra `google_ads_client` = the dict `GoogleAdsClient.load_from_dict`
  accepts (`developer_token`, `json_key_file_path` or `client_id`/`client_secret`/`refresh_token`,
  `login_customer_id`, ...). A service-account key may instead be given inline as extra `keyfile_dict`
  (as a Google Cloud connection holds it); it stays in memory (never written to a file). SafePassage
  adds extra `customer_ids` (list or comma-separated) naming the accounts it manages.
* `meta_default` (FacebookAdsReportingHook): extras `account_id` (list or comma-separated `act_...`),
  `app_id`, `app_secret`, `access_token`; optional `api_version`.

* `safepassage_warehouse` (optional): the warehouse database (conn type `postgres` or `sqlite`, or extra
  `sqlalchemy_url`); without it, `SAFEPASSAGE_WAREHOUSE_URL` or the local SQLite file (local runs).

Every secret read from a connection is registered with Airflow's masker (task logs) and with the
project's scrubber (`safepassage.adapters.redaction`, for platform errors) before it is used.

When `SAFEPASSAGE_EMULATORS_DESCRIPTOR` names a sandbox descriptor (written by `ad-emulators serve`),
it wins over the platform connections, so the whole project talks to the local emulators with no other
change.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safepassage.adapters.platform_clients import META_API_VERSION, GoogleAdsSettings, MetaSettings
from safepassage.adapters.redaction import register_secret

if TYPE_CHECKING:
    from safepassage.adapters.warehouse import Warehouse as SqlWarehouse
    from safepassage.services.ports import Warehouse

GOOGLE_ADS_CONN_ID = "google_ads_default"
META_CONN_ID = "meta_default"
WAREHOUSE_CONN_ID = "safepassage_warehouse"
EMULATORS_DESCRIPTOR_ENV = "SAFEPASSAGE_EMULATORS_DESCRIPTOR"
_SECRET_EXTRAS = ("developer_token", "client_secret", "refresh_token", "app_secret", "access_token")


class ConnectionSettingsError(ValueError):
    """A connection lacks something the client needs; the message names the connection and the key."""


def emulators_descriptor() -> dict[str, Any] | None:
    path = os.environ.get(EMULATORS_DESCRIPTOR_ENV)
    if not path:
        return None
    try:
        document: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConnectionSettingsError(
            f"{EMULATORS_DESCRIPTOR_ENV}={path}: cannot read the sandbox descriptor ({type(error).__name__})"
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
    keep_secret(*(section["client_config"].get(key) for key in _SECRET_EXTRAS))
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
    service_account = None
    if keyfile and "json_key_file_path" not in config:
        service_account = json.loads(keyfile) if isinstance(keyfile, str) else dict(keyfile)
        keep_secret(service_account.get("private_key"), service_account.get("private_key_id"))
    keep_secret(*(config.get(key) for key in _SECRET_EXTRAS))
    has_service_account = "json_key_file_path" in config or service_account is not None
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
        service_account_info=service_account,
    )


def keep_secret(*values: Any) -> None:
    """Mask these values in Airflow's task logs and in every scrubbed platform error."""
    register_secret(*values)
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - Airflow is a dependency; this is only the CLI without it
        return
    for value in values:
        if value:
            mask_secret(str(value))


def google_ads_settings(conn_id: str = GOOGLE_ADS_CONN_ID) -> GoogleAdsSettings:
    """Settings from the sandbox descriptor if one is configured, else from the Airflow Connection."""
    descriptor = emulators_descriptor()
    if descriptor is not None:
        return google_ads_settings_from_descriptor(descriptor)
    from airflow.sdk import BaseHook

    return google_ads_settings_from_extras(BaseHook.get_connection(conn_id).extra_dejson, conn_id)


# ---- Meta ---------------------------------------------------------------------------------------------
def meta_settings_from_descriptor(descriptor: Mapping[str, Any]) -> MetaSettings:
    section = descriptor["meta"]
    keep_secret(section["app_secret"], section["access_token"])
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
    keep_secret(extras["app_secret"], extras["access_token"])
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
    descriptor = emulators_descriptor()
    if descriptor is not None:
        return meta_settings_from_descriptor(descriptor)
    from airflow.sdk import BaseHook

    return meta_settings_from_extras(BaseHook.get_connection(conn_id).extra_dejson, conn_id)


# ---- Warehouse ----------------------------------------------------------------------------------------
def warehouse_url(conn_id: str = WAREHOUSE_CONN_ID) -> str:
    """The Airflow Connection `safepassage_warehouse` if there is one, else the local default
    (`SAFEPASSAGE_WAREHOUSE_URL`, or SQLite under data/). Its password is masked before use."""
    from safepassage import settings
    from safepassage.adapters.warehouse import url_from_parts

    try:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException

        connection = BaseHook.get_connection(conn_id)
    except (ImportError, AirflowNotFoundException):
        url = settings.warehouse_url()
        keep_secret(*_url_password(url))
        return url
    extras = connection.extra_dejson
    if extras.get("sqlalchemy_url"):
        url = str(extras["sqlalchemy_url"])
    else:
        try:
            url = url_from_parts(
                connection.conn_type,
                connection.host,
                connection.port,
                connection.login,
                connection.password,
                connection.schema,
            )
        except ValueError as error:
            raise ConnectionSettingsError(f"connection {conn_id!r}: {error}") from None
    keep_secret(connection.password, *_url_password(url))
    return url


def _url_password(url: str) -> list[str]:
    from urllib.parse import unquote, urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password, unquote(password)] if password else []


def open_warehouse(conn_id: str = WAREHOUSE_CONN_ID) -> Warehouse:
    """The warehouse, from the Airflow Connection (or the local default): the one place the SQL
    adapter is handed to the services, which know it only as `services.ports.Warehouse`."""
    return _warehouse_at(warehouse_url(conn_id))


def shared_warehouse(conn_id: str = WAREHOUSE_CONN_ID) -> Warehouse:
    """The process's warehouse for a long-lived server (the UI pages): one engine and pool per URL."""
    return _shared_warehouse_at(warehouse_url(conn_id))


def _warehouse_at(url: str) -> SqlWarehouse:
    from safepassage.adapters.warehouse import Warehouse

    return Warehouse(url)


_shared_warehouse_at = functools.lru_cache(maxsize=4)(_warehouse_at)


__all__ = [
    "EMULATORS_DESCRIPTOR_ENV",
    "GOOGLE_ADS_CONN_ID",
    "META_CONN_ID",
    "WAREHOUSE_CONN_ID",
    "ConnectionSettingsError",
    "emulators_descriptor",
    "google_ads_settings",
    "google_ads_settings_from_descriptor",
    "google_ads_settings_from_extras",
    "meta_settings",
    "meta_settings_from_descriptor",
    "meta_settings_from_extras",
    "open_warehouse",
    "shared_warehouse",
    "warehouse_url",
]
