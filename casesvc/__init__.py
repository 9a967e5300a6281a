"""casesvc: prior-authorization cases whose review lifecycle comes from the clock."""

from __future__ import annotations

import threading
from importlib.metadata import version
from typing import Any

import swagger_ui_bundle
from flask import Flask, request, send_from_directory

from casesvc import db, security
from casesvc.api import metrics
from casesvc.api.render import Renderer
from casesvc.api.spec import Api
from casesvc.clock import Clock, SystemClock
from casesvc.config import Config
from casesvc.determinations import Catalog
from casesvc.errors import register_database_errors
from casesvc.lifecycle import Lifecycle
from casesvc.service import CaseService

__all__ = ["build_service", "create_app"]

API_INFO = {
    "description": (
        "Prior-authorization cases. `POST /cases` starts a case; it then moves from "
        "`submitted` to `processing` (10 s) to `complete` (30 s), which `GET /cases/{case_id}` "
        "shows. Every error answers with the `ApiError` body."
    ),
}


def build_service(config: Config, clock: Clock | None = None) -> CaseService:
    """The case service for ``config``: what both the API and the CLI run on."""
    database = db.open_database(config.database_url)
    db.bind(database)
    if config.auto_upgrade:
        db.upgrade(database, config.migrations_dir)
    db.check_schema(database, config.migrations_dir)
    return CaseService(
        database=database,
        clock=clock or SystemClock(),
        lifecycle=Lifecycle.from_seconds(config.processing_after, config.complete_after),
        catalog=Catalog.load(config.assets_dir),
        secret_key=config.secret_key,
    )


def create_app(config: Config | None = None, *, clock: Clock | None = None) -> Flask:
    """The Flask application. Without ``config``, it is read from the environment."""
    config = config or Config.from_env()
    app = Flask(__name__)
    app.config.update(
        TESTING=config.testing,
        API_TITLE="casesvc",
        API_VERSION=version("casesvc"),  # the one version: the package metadata
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/docs/static/",
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # First, so that every request is timed and counted, those refused by a hook included.
    if config.metrics:
        metrics.install(app, metrics.Metrics(config.metrics_dir))
    service = build_service(config, clock)
    app.extensions["casesvc.service"] = service
    app.extensions["casesvc.renderer"] = Renderer()
    app.extensions["casesvc.config"] = config

    # A request borrows a connection from the process's pool and gives it back when it
    # ends, except in a process's main thread (a gunicorn sync worker, one request at a
    # time), which keeps its connection from one request to the next and so skips the
    # checkout. Threads (gthread workers, the dev server) always give it back. A request
    # that failed gives its connection back too; one that lost the database drops it.
    # The health probes take none here: /healthz touches no database, and /readyz connects
    # itself, so that it can tell an unreachable database from one that is not current.
    database = service.database

    @app.before_request
    def _connect() -> None:
        if request.blueprint != "health":
            database.connect(reuse_if_open=True)

    @app.teardown_request
    def _release(exc: BaseException | None) -> None:
        borrowed = threading.current_thread() is not threading.main_thread()
        if (exc is not None or borrowed) and not database.is_closed():
            database.close()

    @app.get("/docs/static/<path:filename>")
    def swagger_ui_static(filename: str) -> Any:
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    from casesvc.api.cases import blp as cases_blp
    from casesvc.api.health import blp as health_blp

    api = Api(app, spec_kwargs={"info": API_INFO})
    api.register_blueprint(cases_blp)
    api.register_blueprint(metrics.blp)
    api.register_blueprint(health_blp)
    register_database_errors(app, api, database)
    security.install(app, api, config)

    from casesvc.web import blp as web_blp

    app.register_blueprint(web_blp)  # plain Flask: the UI stays out of the OpenAPI document
    return app
