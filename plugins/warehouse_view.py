"""Airflow plugin "Warehouse": the Warehouse view (``dw.ui``) mounted by the api-server at
``/warehouse`` and linked in the UI's navigation (an external view: the UI shows the page in a
frame at ``/plugin/warehouse``, with the user's login cookie)."""

from __future__ import annotations

from functools import cached_property

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/warehouse"


class WarehouseViewPlugin(AirflowPlugin):
    name = "warehouse_view"
    external_views = [{
        "name": "Warehouse",
        "href": f"{URL_PREFIX}/",
        "url_route": "warehouse",
        "destination": "nav",
        "nav_top_level": True,
        "icon": f"{URL_PREFIX}/static/icon.svg",
    }]

    @cached_property
    def fastapi_apps(self):  # built once, and only where Airflow asks for it (the api-server)
        from dw.ui.app import create_app

        return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Warehouse"}]
