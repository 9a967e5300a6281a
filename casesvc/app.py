"""The Flask application factory: ``create_app(config)`` wires the API, the web UI and the
service together. ``casesvc.wsgi:app`` is the one module-level app."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import swagger_ui_bundle
from flask import Flask, request, send_from_directory

from casesvc.api import EXTENSION, AppParts, metrics, security
from casesvc.api.database import FlaskDatabase
from casesvc.api.spec import make_api
from casesvc.bootstrap import build_service
from casesvc.clock import Clock
from casesvc.config import Config
from casesvc.lifecycle import Lifecycle
from casesvc.redaction import redact
from casesvc.representation import Renderer

__all__ = ["create_app"]


def api_info(lifecycle: Lifecycle) -> dict[str, str]:
    """The OpenAPI document's description, with the lifecycle's own timing."""
    return {
        "description": (
            "Prior-authorization cases. `POST /cases` starts a case; it then moves "
            f"{lifecycle.describe()}, which `GET /cases/{{case_id}}` shows. Every error "
            "answers with the `ApiError` body."
        ),
    }


class CasesvcFlask(Flask):
    """Flask, whose line for an unhandled error redacts the path."""

    def log_exception(self, exc_info: Any) -> None:
        """Flask's line for an unhandled error, whose path is redacted as the access log's
        (a client may have put a token there)."""
        self.logger.error(
            f"Exception on {redact(request.path)} [{request.method}]", exc_info=exc_info
        )


def create_app(
    config: Config | None = None,
    *,
    clock: Clock | None = None,
    lifecycle: Lifecycle | None = None,
) -> Flask:
    """The Flask application. Without ``config``, it is read from the environment; without
    a ``lifecycle``, ``config`` names it (``CASESVC_LIFECYCLE``, ``timed`` by default).

    It does no I/O of its own: the database is reached per request, and its migrations are
    applied beforehand (``prepare_database``, ``casesvc db upgrade``).
    """
    config = config or Config.from_env()
    app = CasesvcFlask(__name__)
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
    # werkzeug's routing redirects a doubled slash to a URL on the request's own Host header,
    # which any client sets (an open redirect): a doubled slash is a 404 instead. Set before
    # any route is added, which takes it from the map. (No route ends in a slash, so the other
    # routing redirect, to add one, never happens: tests/http/test_hostile.py checks both.)
    app.url_map.merge_slashes = False
    # First, so that every request is timed and counted, those refused by a hook included.
    counters = metrics.Metrics(config.metrics_dir) if config.metrics else None
    if counters is not None:
        metrics.install(app, counters)
    service = build_service(config, clock, lifecycle)
    database = FlaskDatabase(service.database)
    app.extensions[EXTENSION] = AppParts(
        service=service,
        database=database,
        renderer=Renderer(),
        metrics=counters,
        migrations_dir=config.migrations_dir,
    )

    @app.get("/docs/static/<path:filename>")
    def swagger_ui_static(filename: str) -> Any:
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    from casesvc.api.cases import blp as cases_blp
    from casesvc.api.cases import document_samples
    from casesvc.api.health import blp as health_blp

    api = make_api(app, api_info(service.lifecycle))
    api.register_blueprint(cases_blp)
    document_samples(api, service.catalog.keys)
    api.register_blueprint(metrics.blp)
    api.register_blueprint(health_blp)
    database.init_app(app, api)
    security.install(app, api, config)

    from casesvc.web import blp as web_blp

    app.register_blueprint(web_blp)  # plain Flask: the UI stays out of the OpenAPI document
    return app
