"""SafePassage pages in the Airflow UI's navigation: creative gallery, targeting, push plans.

Every page needs Airflow's login and read access to its DAG (safepassage.orchestration.ui).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from safepassage.orchestration.ui import URL_PREFIX, create_app, nav_entries


class SafePassageViews(AirflowPlugin):
    name = "safepassage"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "SafePassage views"}]  # noqa: RUF012
    external_views = nav_entries()
