"""SafePassage pages in the Airflow UI's navigation: creative gallery, targeting, push plans, impact."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from safepassage.orchestration.ui import create_app

URL_PREFIX = "/safepassage"


class SafePassageViews(AirflowPlugin):
    name = "safepassage"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "SafePassage views"}]  # noqa: RUF012
    external_views = [  # noqa: RUF012
        {
            "name": "Creative gallery",
            "href": f"{URL_PREFIX.lstrip('/')}/creatives",
            "destination": "nav",
            "category": "browse",
            "url_route": "safepassage-creatives",
        },
        {
            "name": "Targeting",
            "href": f"{URL_PREFIX.lstrip('/')}/targeting",
            "destination": "nav",
            "category": "browse",
            "url_route": "safepassage-targeting",
        },
        {
            "name": "Push plans",
            "href": f"{URL_PREFIX.lstrip('/')}/plans",
            "destination": "nav",
            "category": "browse",
            "url_route": "safepassage-plans",
        },
        {
            "name": "Impact",
            "href": f"{URL_PREFIX.lstrip('/')}/impact",
            "destination": "nav",
            "category": "browse",
            "url_route": "safepassage-impact",
        },
    ]
