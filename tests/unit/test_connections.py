"""Airflow Connection extras / emulators descriptor -> client settings, without building a client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safepassage.adapters.platform_clients import GoogleAdsSettings, MetaSettings
from safepassage.orchestration import connections
from safepassage.orchestration.connections import (
    ConnectionSettingsError,
    google_ads_settings,
    google_ads_settings_from_extras,
    meta_settings,
    meta_settings_from_extras,
)

DESCRIPTOR = {
    "version": 1,
    "google_ads": {
        "endpoint": "127.0.0.1:4000",
        "ca_cert": "/tmp/emulators/google_ads_ca.pem",
        "client_config": {
            "developer_token": "dev-secret",
            "json_key_file_path": "/tmp/sa.json",
            "endpoint": "127.0.0.1:4000",
            "use_proto_plus": True,
        },
        "customer_ids": ["5550001001"],
    },
    "meta": {
        "graph_url": "http://127.0.0.1:4001",
        "api_version": "v26.0",
        "app_id": "42",
        "app_secret": "app-secret",
        "access_token": "token-secret",
        "ad_account_ids": ["act_1"],
    },
}


def test_google_ads_extras_follow_the_airflow_provider_shape():
    settings = google_ads_settings_from_extras(
        {
            "google_ads_client": {
                "developer_token": "dev",
                "client_id": "id",
                "client_secret": "cs",
                "refresh_token": "rt",
                "login_customer_id": "1112223333",
            },
            "customer_ids": "555-000-1001, 5550001002",
        }
    )
    assert settings.customer_ids == ("5550001001", "5550001002")
    assert settings.client_config["login_customer_id"] == "1112223333"
    assert settings.ca_cert is None


def test_inline_service_account_key_stays_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    key = {"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIfake\n"}
    settings = google_ads_settings_from_extras(
        {"google_ads_client": {"developer_token": "dev-token-1"}, "keyfile_dict": json.dumps(key)}
    )
    assert settings.service_account_info == key
    assert "json_key_file_path" not in settings.client_config
    assert list(tmp_path.iterdir()) == [], "nothing may be written to a temporary file"
    assert "MIIfake" not in repr(settings)


@pytest.mark.parametrize(
    ("extras", "message"),
    [
        ({}, "developer_token"),
        ({"google_ads_client": {"developer_token": "dev"}}, "service account"),
    ],
)
def test_incomplete_google_ads_connection_names_what_is_missing(extras, message):
    with pytest.raises(ConnectionSettingsError, match=message):
        google_ads_settings_from_extras(extras, "google_ads_default")


def test_meta_extras_follow_the_airflow_provider_shape():
    settings = meta_settings_from_extras(
        {"account_id": ["123", "act_456"], "app_id": 7, "app_secret": "s", "access_token": "t"}
    )
    assert settings.ad_account_ids == ("act_123", "act_456")
    assert settings.graph_url is None
    assert settings.api_version == "v26.0"
    with pytest.raises(ConnectionSettingsError, match="app_secret, access_token"):
        meta_settings_from_extras({"app_id": "1"})


def test_the_sandbox_descriptor_wins_over_connections(tmp_path, monkeypatch):
    path = tmp_path / "descriptor.json"
    path.write_text(json.dumps(DESCRIPTOR))
    monkeypatch.setenv(connections.EMULATORS_DESCRIPTOR_ENV, str(path))

    google = google_ads_settings("google_ads_default")
    meta = meta_settings("meta_default")

    assert google.ca_cert == "/tmp/emulators/google_ads_ca.pem"
    assert google.client_config["endpoint"] == "127.0.0.1:4000"
    assert google.customer_ids == ("5550001001",)
    assert meta.graph_url == "http://127.0.0.1:4001"
    assert meta.ad_account_ids == ("act_1",)


def test_an_unreadable_descriptor_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv(connections.EMULATORS_DESCRIPTOR_ENV, str(tmp_path / "missing.json"))
    with pytest.raises(ConnectionSettingsError, match=r"missing\.json"):
        google_ads_settings()


def test_settings_never_show_secrets():
    google = GoogleAdsSettings(client_config=DESCRIPTOR["google_ads"]["client_config"], customer_ids=("1",))
    meta = MetaSettings(app_id="42", app_secret="app-secret", access_token="token-secret")
    shown = repr(google) + str(google) + repr(meta) + str(meta)
    assert "dev-secret" not in shown and "app-secret" not in shown and "token-secret" not in shown
    assert "127.0.0.1:4000" in shown  # the rest stays visible for debugging


def test_settings_come_from_airflow_connections_without_a_descriptor(monkeypatch):
    monkeypatch.delenv(connections.EMULATORS_DESCRIPTOR_ENV, raising=False)
    google_extra = {
        "google_ads_client": {"developer_token": "developer-secret", "json_key_file_path": "/keys/sa.json"},
        "customer_ids": ["5550001001"],
    }
    meta_extra = {
        "account_id": "5550002001",
        "app_id": "4242",
        "app_secret": "app-secret",
        "access_token": "token-secret",
    }
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOOGLE_ADS_DEFAULT", json.dumps({"conn_type": "google_ads", "extra": google_extra})
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_META_DEFAULT", json.dumps({"conn_type": "facebook_social", "extra": meta_extra})
    )

    google = google_ads_settings()
    meta = meta_settings()

    assert google.client_config["json_key_file_path"] == "/keys/sa.json" and google.ca_cert is None
    assert google.customer_ids == ("5550001001",)
    assert meta.ad_account_ids == ("act_5550002001",) and meta.graph_url is None
