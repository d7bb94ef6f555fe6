"""docker-compose.yml is valid Compose, ships the product only, and stays in step with the stack
`make cluster` runs on this machine (orchestration/local_airflow.py): same components, same settings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from safepassage import settings
from tests.e2e.airflow_cluster import COMPONENTS, AirflowCluster

ROOT = settings.PROJECT_ROOT
COMPOSE = ROOT / "docker-compose.yml"
# Settings only the one-machine cluster needs: its temp dirs, a fresh DAG folder picked up fast,
# log-server ports (several clusters share this machine), an auth manager with no passwords and
# the small machine's limits (LocalAirflow).
LOCAL_ONLY = {
    "AIRFLOW__CORE__PARALLELISM",
    "AIRFLOW__API__WORKERS",
    "AIRFLOW__CORE__DAGS_FOLDER",
    "AIRFLOW__CORE__PLUGINS_FOLDER",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL",
    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT",
    "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS",
}
# Settings only a real deployment needs: Connections encrypted at rest, named users, the
# scheduler's health endpoint for the container health check.
DEPLOYMENT_ONLY = {
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
    "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return document


def airflow_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Long-running Airflow components (the init job and the optional Flower left out)."""
    image = compose["x-airflow-common"]["image"]
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("image") == image and name not in ("airflow-init", "flower")
    }


def test_compose_file_validates_against_the_compose_specification() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_the_components_the_local_cluster_runs(compose: dict[str, Any]) -> None:
    commands = {service["command"] for service in airflow_services(compose).values()}
    cluster = AirflowCluster(Path("/nonexistent"), [], {}, executor="CeleryExecutor")
    assert commands == {*COMPONENTS, "celery worker"}
    assert len(cluster.workers) == 2, "the local cluster proves work moves between workers"
    assert compose["services"]["flower"]["profiles"] == ["flower"]
    assert compose["services"]["emulators"]["profiles"] == ["emulators"]


def test_compose_and_local_cluster_set_the_same_airflow_settings(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("AIRFLOW__")]:
        monkeypatch.delenv(key)
    cluster = AirflowCluster(Path("/nonexistent"), [], {}, executor="CeleryExecutor")
    local = {key for key in cluster.env if key.startswith("AIRFLOW__")} - LOCAL_ONLY
    deployed = {key for key in compose["x-airflow-common"]["environment"] if key.startswith("AIRFLOW__")}
    assert local == deployed - DEPLOYMENT_ONLY
    assert (
        cluster.env["AIRFLOW__CORE__EXECUTOR"]
        == compose["x-airflow-common"]["environment"]["AIRFLOW__CORE__EXECUTOR"]
    )


def test_every_service_has_a_health_check_and_binds_for_its_container(compose: dict[str, Any]) -> None:
    missing = [
        name
        for name, service in compose["services"].items()
        if name != "airflow-init" and "healthcheck" not in service
    ]
    assert missing == []
    env = compose["x-airflow-common"]["environment"]
    assert env["AIRFLOW__API__HOST"] == "0.0.0.0", (
        "inside the container; the host port is 127.0.0.1 by default"
    )
    assert compose["services"]["airflow-apiserver"]["ports"] == ["${AIRFLOW_PUBLISH:-127.0.0.1:8080}:8080"]


def test_the_project_folders_are_mounted_and_the_warehouse_is_the_agreed_connection(
    compose: dict[str, Any],
) -> None:
    mounts = {v.split(":")[0] for v in compose["x-airflow-common"]["volumes"] if v.startswith("./")}
    assert mounts == {"./dags", "./plugins", "./config", "./creatives", "./intelligence"}
    assert all((ROOT / mount).is_dir() for mount in mounts)
    env = compose["x-airflow-common"]["environment"]
    # the Connection the DAGs read (conn type postgres) and the same database for the CLI's fallback
    assert env["AIRFLOW_CONN_SAFEPASSAGE_WAREHOUSE"].startswith("postgres://warehouse:")
    assert env["SAFEPASSAGE_WAREHOUSE_URL"].startswith("postgresql+psycopg://warehouse:")
    for url in (env["AIRFLOW_CONN_SAFEPASSAGE_WAREHOUSE"], env["SAFEPASSAGE_WAREHOUSE_URL"]):
        assert url.endswith("@warehouse-db:5432/warehouse")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@airflow-db:5432/airflow")


def test_init_migrates_both_databases_and_creates_pools_and_connections(compose: dict[str, Any]) -> None:
    script = compose["services"]["airflow-init"]["command"][-1]
    assert script.index("airflow db migrate") < script.index("safepassage init")
    # init last: its readiness lines see the Connections stored just before
    assert script.index("airflow connections add") < script.index("safepassage init")
    for conn_id in ("google_ads_default", "meta_default", "safepassage_alerts"):
        assert conn_id in script


def test_secrets_come_from_an_uncommitted_env_file_that_the_example_documents() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    required = set(re.findall(r"\$\{(\w+):\?", text))
    example = {
        line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line
    }
    assert required and required <= example
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    assert not re.search(r"PASSWORD:\s*[\"']?\w", text), "no literal password in the compose file"


def test_the_image_is_the_pinned_airflow_with_the_product_only() -> None:
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    airflow = next(pin for pin in pins if pin.startswith("apache-airflow=="))
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"FROM apache/airflow:{airflow.split('==')[1]}-python3.11" in dockerfile
    assert "--constraint requirements.lock" in dockerfile
    copied = [line.split()[-2] for line in dockerfile.splitlines() if line.startswith("COPY")]
    assert not [path for path in copied if path.startswith(("emulators", "dev", "tests", "bench"))]
    # Nothing of the emulators or the development helpers is left to an exclusion list: they are not
    # in dags/, so the image cannot carry them.
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8")
    assert "sandbox" not in ignored and "demo" not in ignored and "emulators" not in ignored.split("#")[0]


def test_dags_holds_the_dag_files_and_the_product_package_only() -> None:
    entries = {path.name for path in (ROOT / "dags").iterdir() if not path.name.endswith(".egg-info")}
    entries.discard("__pycache__")
    assert {name for name in entries if not name.endswith(".py")} == {"safepassage", ".airflowignore"}
    product = ROOT / "dags" / "safepassage"
    leaking = [
        str(path.relative_to(ROOT))
        for path in product.rglob("*.py")
        if re.search(
            r"^\s*(from|import) (ad_emulators|safepassage_dev|tests)\b",
            path.read_text(encoding="utf-8"),
            re.M,
        )
    ]
    assert leaking == []


HELM_VALUES = ROOT / "deploy" / "helm" / "values.yaml"
# Keys of the official chart's values this file may set, each checked against the chart's values.yaml
# and parameters reference (https://airflow.apache.org/docs/helm-chart/stable/parameters-ref.html).
# A key added to deploy/helm/values.yaml must be checked there and added here.
CHART_KEYS = {
    "airflowVersion",
    "defaultAirflowTag",
    "images.airflow.repository",
    "images.airflow.tag",
    "images.airflow.pullPolicy",
    "executor",
    "data.metadataSecretName",
    "data.brokerUrlSecretName",
    "fernetKeySecretName",
    "apiSecretKeySecretName",
    "jwtSecretName",
    "extraEnvFrom",
    "extraEnv",
    "postgresql.enabled",
    "redis.enabled",
    "config",  # free-form: Airflow configuration sections
    "migrateDatabaseJob.enabled",
    "migrateDatabaseJob.args",
    "apiServer.replicas",
    "scheduler.replicas",
    "dagProcessor.enabled",
    "dagProcessor.replicas",
    "triggerer.enabled",
    "triggerer.replicas",
    "workers.replicas",
    "workers.persistence.enabled",
    "flower.enabled",
    "createUserJob.enabled",
    "logs.persistence.enabled",
    "dags.gitSync.enabled",
    "dags.persistence.enabled",
}


def leaf_keys(values: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and path != "config":
            keys |= leaf_keys(value, f"{path}.")
        else:
            keys.add(path)
    return keys


def test_helm_values_use_documented_chart_keys_and_match_compose(compose: dict[str, Any]) -> None:
    values = yaml.safe_load(HELM_VALUES.read_text(encoding="utf-8"))
    assert leaf_keys(values) <= CHART_KEYS
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    version = next(pin for pin in pins if pin.startswith("apache-airflow==")).split("==")[1]
    assert values["airflowVersion"] == version and values["defaultAirflowTag"] == f"{version}-python3.11"
    env = compose["x-airflow-common"]["environment"]
    assert values["executor"] == env["AIRFLOW__CORE__EXECUTOR"]
    assert (
        values["config"]["celery_broker_transport_options"]["global_keyprefix"]
        == env["AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX"]
    )
    assert "safepassage init" in values["migrateDatabaseJob"]["args"][-1]
    # secrets only by the name of a Kubernetes secret, never as values
    assert not {"fernetKey", "jwtSecret", "apiSecretKey"} & set(values)
    assert "metadataConnection" not in values["data"]


def test_every_way_this_project_starts_airflow_creates_the_pools_one_way() -> None:
    """`safepassage init` (config/pools.yaml) before any task: make airflow, make demo, chaos, the
    Celery cluster, compose and Helm. Nothing else that starts Airflow creates a pool."""
    from safepassage_dev.demo import demo_airflow

    init = ("safepassage", "init")
    assert init in demo_airflow().setup
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^airflow:.*\n\t\$\(BIN\)/safepassage up ", makefile, re.MULTILINE)
    up = (ROOT / "dev" / "safepassage_dev" / "commands" / "up.py").read_text(encoding="utf-8")
    assert 'setup=(("safepassage", "init"),)' in up
    for path in (ROOT / "bench" / "chaos.py", ROOT / "tests" / "e2e" / "test_celery_cluster.py"):
        assert 'setup=(("safepassage", "init"),)' in path.read_text(encoding="utf-8"), path
    creating = [
        str(path.relative_to(ROOT))
        for folder in (
            "dags",
            "dev",
            "bench",
            "plugins",
        )  # what starts Airflow; tests may make their own pools
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"create_or_update_pool|\"POST\",\s*\"/api/v2/pools", path.read_text(encoding="utf-8"))
    ]
    assert creating == ["dags/safepassage/orchestration/pools.py"]
