"""The Warehouse view's FastAPI app, mounted by Airflow's api-server at ``/warehouse``.

Endpoints (JSON, read-only; ``end``: the last day of the 30-day window, default ``queries.default_end``):

- ``GET /api/tables``     per warehouse table: last date loaded, freshness, rows per day, last load
- ``GET /api/sources``    per raw lake table: the window's partitions (present / empty / short / missing)
- ``GET /api/open``       open unknown-member dates, failed loads of the last 7 days
- ``GET /api/agreement``  per fact and date: extract vs warehouse rows and measure sums
- ``GET /``               the page (static/index.html), which draws these

Every endpoint and the page need Airflow's login: the JWT of ``Authorization: Bearer`` or the
``_token`` cookie the Airflow UI sets, checked by Airflow's own ``get_user`` dependency, and read
access to the ``warehouse`` DAG (``requires_access_dag``). No login: 401 (the page redirects to
Airflow's login); an invalid token: 403. Static files (the page's script, Chart.js) hold no data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
CHART_JS = HERE / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"
DAG_ID = "warehouse"


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def requires_login():
    """Airflow's auth: the user of the request's JWT (header or cookie) may read the warehouse DAG."""
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return Depends(requires_access_dag("GET", param_dag_id=DAG_ID))


def _configs() -> dict:
    from dw.config import warehouse_tables

    return warehouse_tables()


def _read(fn):
    """Run ``fn(cur, end, today)`` on the warehouse as the analyst; ``end`` from the request or default."""
    from dw.ui import connections, queries

    def run(end: dt.date | None):
        today = _today()
        with connections.warehouse_connect() as conn, queries.analyst(conn) as cur:
            end = end or queries.default_end(cur, today, list(_configs()))
            return fn(cur, end, today), end, today

    return run


def create_app() -> FastAPI:
    app = FastAPI(title="Warehouse", description="dw-etl: the warehouse's health at a glance (read-only)",
                  docs_url=None, redoc_url=None, openapi_url=None)
    auth = [requires_login()]

    @app.get("/api/tables", dependencies=auth)
    def tables(end: dt.date | None = Query(None)):
        from dw.ui import queries

        configs = _configs()
        items, end, today = _read(lambda cur, e, t: queries.tables(cur, configs, e, t))(end)
        return {"end": end.isoformat(), "today": today.isoformat(), "tables": items}

    @app.get("/api/sources", dependencies=auth)
    def sources(end: dt.date | None = Query(None)):
        from dw.ui import connections, queries
        from dw.ui import sources as lake

        _, end, today = _read(lambda cur, e, t: None)(end)
        s3, bucket = connections.lake_s3()
        return {"end": end.isoformat(), "today": today.isoformat(),
                "sources": lake.calendar(s3, bucket, queries.window(end))}

    @app.get("/api/open", dependencies=auth)
    def open_questions():
        from dw.ui import queries

        out, _, today = _read(lambda cur, e, t: queries.open_questions(cur, t))(_today())
        return {"today": today.isoformat(), **out}

    @app.get("/api/agreement", dependencies=auth)
    def agreement(end: dt.date | None = Query(None)):
        from dw.ui import queries

        configs = _configs()
        items, end, today = _read(lambda cur, e, t: queries.agreement(cur, configs, e))(end)
        return {"end": end.isoformat(), "today": today.isoformat(), "agreement": items}

    @app.get("/static/vendor/chart.umd.min.js", include_in_schema=False)
    def chart_js():
        if not CHART_JS.exists():
            raise HTTPException(404, "Chart.js is not installed: `make venv` runs npm ci in plugins/dw/ui")
        return FileResponse(CHART_JS, media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page(request: Request):
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.core_api.security import get_user

        try:
            await get_user(request, None, None)
        except HTTPException:
            return RedirectResponse(get_auth_manager().get_url_login(next_url=str(request.url)), status_code=303)
        return FileResponse(STATIC / "index.html", media_type="text/html", headers={"Cache-Control": "no-store"})

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception):
        from dw.ui.queries import redact

        return JSONResponse({"detail": redact(f"{type(exc).__name__}: {exc}")[:500]}, status_code=500)

    return app
