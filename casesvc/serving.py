"""Production serving with gunicorn: several worker processes, each with its own app."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

MAX_DEFAULT_WORKERS = 8


def default_workers() -> int:
    """Two workers per core, capped."""
    return max(1, min(2 * (os.cpu_count() or 1), MAX_DEFAULT_WORKERS))


class Server(BaseApplication):
    """gunicorn, configured in code. Each worker builds its own app (and connections)
    after the fork, so nothing is shared between processes."""

    def __init__(self, app_factory: Callable[[], Flask], options: dict[str, Any]) -> None:
        self.app_factory = app_factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.app_factory()


def serve(
    app_factory: Callable[[], Flask], *, host: str, port: int, workers: int, threads: int
) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully (in-flight requests finish)."""
    Server(
        app_factory,
        {
            "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread" if threads > 1 else "sync",
            "preload_app": False,
            "accesslog": "-",
            "errorlog": "-",
            # gunicorn's largest request line (its default is 4094): every request the
            # OpenAPI document allows fits, e.g. a 512-character page_token percent-encoded.
            "limit_request_line": 8190,
            "graceful_timeout": 20,
            "timeout": 30,
            "proc_name": "casesvc",
        },
    ).run()
