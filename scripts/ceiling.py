"""The benchmark's ceilings: a bare Flask route returning a constant small JSON document,
served by gunicorn (2 sync workers, the reference the targets use) or by granian.

    python -m scripts.ceiling gunicorn|granian PORT WORKERS
"""

from __future__ import annotations

import sys
from typing import Any

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def constant() -> tuple[dict[str, str], int]:
        return {"case_id": "case_000000000000000000000000", "status": "submitted"}, 200

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


def serve_on_granian(port: int, workers: int) -> None:
    """granian with `casesvc serve`'s own settings (threads, limits, no access log)."""
    from casesvc.serving import DEFAULT_THREADS, serve

    serve(
        create_app,
        host="127.0.0.1",
        port=port,
        workers=workers,
        threads=DEFAULT_THREADS,
        access_log=False,
    )


if __name__ == "__main__":
    server, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    {"gunicorn": serve_on_gunicorn, "granian": serve_on_granian}[server](port, workers)
