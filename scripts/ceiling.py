"""The benchmark's ceilings: a bare Flask route returning a constant small JSON document,
served by gunicorn (2 sync workers, the reference the targets use) or by granian; and, for
PostgreSQL (``granian-pg``, DATABASE_URL), bare Flask running casesvc's point query and insert
with the same driver (psycopg 3, at its defaults: a connection per thread, which prepares
statements) on the same server.

    python -m scripts.ceiling gunicorn|granian|granian-pg PORT WORKERS
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
from typing import Any

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def constant() -> tuple[dict[str, str], int]:
        return {"case_id": "case_000000000000000000000000", "status": "submitted"}, 200

    return app


def create_pg_app(url: str) -> Flask:
    """GET /cases/<id> and POST /cases on PostgreSQL with nothing but Flask and psycopg."""
    import psycopg

    app = Flask(__name__)
    local = threading.local()

    def connection() -> Any:
        if getattr(local, "connection", None) is None:
            local.connection = psycopg.connect(url, autocommit=True)
        return local.connection

    @app.get("/")
    def up() -> Any:
        return {"status": "ok"}

    @app.get("/cases/<case_id>")
    def one(case_id: str) -> Any:
        row = (
            connection()
            .execute(
                "SELECT id, created_at, status, determination FROM cases "
                "WHERE id = %s AND client = %s",
                (case_id, "default"),
            )
            .fetchone()
        )
        if row is None:
            return {"code": 404}, 404
        return {"case_id": row[0], "created_at": row[1].isoformat(), "status": row[2]}

    @app.post("/cases")
    def create() -> Any:
        case_id = "case_" + secrets.token_hex(12)
        connection().execute(
            "INSERT INTO cases (id, created_at, timeline_started_at, processing_at, complete_at, "
            "status, determination, client) VALUES (%s, now(), now(), now() + interval '10 s', "
            "now() + interval '30 s', 'submitted', 'lumbar-mri-met', 'default')",
            (case_id,),
        )
        return {"case_id": case_id, "status": "submitted"}, 201

    return app


def serve_on_gunicorn(port: int, workers: int) -> None:
    """gunicorn with its defaults (sync workers, no access log), bound to loopback."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"127.0.0.1:{port}",
                "workers": workers,
                "worker_class": "sync",
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return create_app()

    Server().run()


def serve_on_granian(port: int, workers: int, app_factory: Any = create_app) -> None:
    """granian with `casesvc serve`'s own settings (threads, limits, no access log)."""
    from casesvc.config import DEFAULT_THREADS
    from casesvc.serving import serve

    serve(
        app_factory,
        host="127.0.0.1",
        port=port,
        workers=workers,
        threads=DEFAULT_THREADS,
        access_log=False,
    )


def serve_pg_on_granian(port: int, workers: int) -> None:
    import functools

    serve_on_granian(port, workers, functools.partial(create_pg_app, os.environ["DATABASE_URL"]))


if __name__ == "__main__":
    server, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    serve_on = {
        "gunicorn": serve_on_gunicorn,
        "granian": serve_on_granian,
        "granian-pg": serve_pg_on_granian,
    }
    serve_on[server](port, workers)
