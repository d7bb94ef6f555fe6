"""Where things live, and the environment Airflow runs with.

Everything path-like is derived from the project root so that `make demo`, the tests, the CLI
and Airflow itself agree. Paths can be moved with environment variables for production.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("SAFEPASSAGE_HOME", Path(__file__).resolve().parents[2]))


def _path(env: str, default: Path) -> Path:
    return Path(os.environ[env]) if os.environ.get(env) else default


def config_dir() -> Path:
    return _path("SAFEPASSAGE_CONFIG_DIR", PROJECT_ROOT / "config")


def intelligence_dir() -> Path:
    return _path("SAFEPASSAGE_INTELLIGENCE_DIR", PROJECT_ROOT / "intelligence")


def creatives_dir() -> Path:
    return _path("SAFEPASSAGE_CREATIVES_DIR", PROJECT_ROOT / "creatives")


def data_dir() -> Path:
    """Ignored by git: the default warehouse, sandbox state, reports."""
    return _path("SAFEPASSAGE_DATA_DIR", PROJECT_ROOT / "data")


def warehouse_url() -> str:
    """`SAFEPASSAGE_WAREHOUSE_URL` (PostgreSQL in production) or a SQLite file under data/."""
    url = os.environ.get("SAFEPASSAGE_WAREHOUSE_URL")
    if url:
        return url
    return f"sqlite:///{data_dir() / 'warehouse.sqlite'}"


def review_approvers() -> tuple[str, ...] | None:
    """Who may decide a waiting plan on this deployment (comma-separated Airflow user ids), in place
    of `review.approvers` in config/push.yaml; unset: the file decides."""
    value = os.environ.get("SAFEPASSAGE_REVIEW_APPROVERS")
    return None if value is None else tuple(user.strip() for user in value.split(",") if user.strip())


def redis_url() -> str:
    """The message broker judgement events go through (Redis pub/sub); no secret in the default."""
    return os.environ.get("SAFEPASSAGE_REDIS_URL", "redis://127.0.0.1:6379/0")


def judgement_channel() -> str:
    """Redis pub/sub channel that says "a key judgement was published" (tests use their own)."""
    return os.environ.get("SAFEPASSAGE_JUDGEMENT_CHANNEL", "safepassage.key_judgements")


def judgement_poll_seconds() -> float:
    """How often the triggerer's watcher polls the channel (the provider's default is 60 s)."""
    return float(os.environ.get("SAFEPASSAGE_JUDGEMENT_POLL_SECONDS", "0.2"))


REDIS_CONN_ID = "safepassage_redis"


def airflow_environment() -> dict[str, str]:
    """Settings every Airflow process of this project needs; existing values win."""
    wanted = {
        "AIRFLOW_HOME": str(PROJECT_ROOT / ".airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # A new DAG waits for a person to switch it on; `make demo` unpauses its own Airflow's DAGs.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        f"AIRFLOW_CONN_{REDIS_CONN_ID.upper()}": redis_url(),
        # Loopback unless configured otherwise. The worker/trigger log servers (8793/8794) have
        # no host setting in Airflow 3.3.2 (serve_logs binds every interface) and answer only
        # requests with a JWT signed with the API secret.
        "AIRFLOW__API__HOST": "127.0.0.1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    found = {key: os.environ.get(key, value) for key, value in wanted.items()}
    # `airflow standalone` starts its components as `airflow …` from PATH: put this environment's
    # scripts first, so a fresh clone works without activating the virtualenv.
    scripts = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    found["PATH"] = (
        path if scripts in path.split(os.pathsep) else os.pathsep.join(filter(None, [scripts, path]))
    )
    return found


def apply_airflow_environment() -> None:
    os.environ.update(airflow_environment())
