"""casesvc: prior-authorization cases whose review lifecycle comes from the clock."""

from __future__ import annotations

from typing import Any

import swagger_ui_bundle
from flask import Flask, send_from_directory

from casesvc import db, security
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
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/docs/static/",
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    service = build_service(config, clock)
    app.extensions["casesvc.service"] = service
    app.extensions["casesvc.renderer"] = Renderer()
    app.extensions["casesvc.config"] = config

    # A request borrows a connection from the process's pool and gives it back when it
    # ends, so a connection is only ever used by one request at a time, whichever thread runs
    # it. Under granian every request runs on one of the worker's blocking threads, which
    # come and go (an idle one exits), so a thread must never keep a connection past its
    # request: one that exited would take its connection out of the pool for good. A request
    # that lost the database has dropped its connection already (casesvc/errors.py).
    database = service.database

    @app.before_request
    def _connect() -> None:
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _release(_exc: BaseException | None) -> None:
        if not database.is_closed():
            database.close()

    @app.get("/docs/static/<path:filename>")
    def swagger_ui_static(filename: str) -> Any:
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    from casesvc.api.cases import blp as cases_blp

    api = Api(app, spec_kwargs={"info": API_INFO})
    api.register_blueprint(cases_blp)
    register_database_errors(app, api, database)
    security.install(app, api, config)

    from casesvc.web import blp as web_blp

    app.register_blueprint(web_blp)  # plain Flask: the UI stays out of the OpenAPI document
    return app
