"""Production serving with granian: worker processes whose Rust front end reads requests.

Each worker's HTTP/1.1 side (connections, request lines, headers, keep-alive) runs in Rust, so
a client that is slow to send, or sends nothing, costs a socket and a little memory, never a
Python thread. A request reaches Python only once its headers are in; it then runs on one of
the worker's blocking threads. (gunicorn's sync workers read each request themselves, so a
handful of idle connections stopped them answering anyone: issue 12.)

Workers are started by ``multiprocessing`` (``fork`` on Linux up to Python 3.13, ``spawn``
from 3.14, where granian avoids ``forkserver``). Either way, each worker builds its own app, and
so its own connection pool, after it exists: ``app_factory`` is called in the worker.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from flask import Flask
from werkzeug.serving import WSGIRequestHandler

from casesvc.redaction import redact, redact_access_record

# Measured on the 2-core benchmark machine (docs/performance.md, "Sizing"): two workers per core
# serve 15-20% more than one. A worker runs Python on one core at a time (the GIL) and leaves it
# idle while its threads wait on the socket, the database or each other; a second worker per
# core fills those gaps. More than two per core gained nothing measurable.
WORKERS_PER_CORE = 2
MAX_DEFAULT_WORKERS = 8
# Python threads per worker that run requests. With the GIL one thread does nearly all the
# work; the others are there for requests that wait (on the database, or on a body that
# trickles in: the app reads every body whole before acting), so a few slow bodies never hold
# up the rest. Each slow body holds one thread until it ends or its client goes.
DEFAULT_THREADS = 16


def body_readers_for(threads: int) -> int:
    """How many of a worker's ``threads`` may read request bodies at once: half of them
    (Config.body_readers), so slow bodies always leave the other half free."""
    return max(1, threads // 2)


# Connections a worker holds at once, idle or busy (granian's "backpressure"); further ones
# wait in the listen queue. Idle connections are cheap in Rust, so this is generous.
MAX_CONNECTIONS_PER_WORKER = 1000
# By default, in-flight requests get this long to finish after SIGTERM; then their worker is
# killed.
GRACE_SECONDS = 20
# A client gets this long to send a request's headers (granian's default: 30 s).
HEADER_READ_TIMEOUT_MS = 30_000
# Room for the request line and headers. Every request the OpenAPI document allows fits
# (the longest, a 512-character page_token of 4-byte UTF-8, is about 6 KB percent-encoded).
MAX_HEAD_BYTES = 64 * 1024
# The access line: no query string (it could carry a token or a page token) and no headers;
# its path is redacted (casesvc/redaction.py) by a filter each worker installs.
ACCESS_LOG_FORMAT = (
    '[%(time)s] %(addr)s - "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).3f'
)


class PortInUse(OSError):
    """The address to serve on is taken (or not ours to take)."""


def check_port(host: str, port: int) -> None:
    """Fail at once, before any worker starts, if ``host:port`` cannot be bound; the server
    itself would retry and end with a generic error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = "is already in use" if exc.errno == errno.EADDRINUSE else f"({exc.strerror})"
            raise PortInUse(
                f"cannot serve on {host}:{port}: the port {reason}; choose another with "
                f"--port N (make run PORT=N)"
            ) from None


def is_loopback(host: str) -> bool:
    """Whether ``host`` only ever accepts connections from this machine. Any name but
    ``localhost`` might resolve elsewhere, so it counts as not loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_workers(cpu_count: int | None) -> int:
    """Two workers per core, capped."""
    return max(1, min(WORKERS_PER_CORE * (cpu_count or 1), MAX_DEFAULT_WORKERS))


def serve(
    app_factory: Callable[[], Flask],
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    access_log: bool,
    grace_seconds: int = GRACE_SECONDS,
) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully and exit 0: in-flight requests get
    ``grace_seconds`` to finish, then their worker is killed.

    ``app_factory`` runs in each worker; it must be picklable (a module-level function or a
    ``functools.partial`` of one), since a spawned worker receives it pickled.
    """
    from granian.constants import HTTPModes, Interfaces  # the CLI imports this module: stay light
    from granian.http import HTTP1Settings
    from granian.server import Server

    server = Server(
        "casesvc.wsgi:app",  # names the app in granian's logs; the app comes from app_factory
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        backpressure=MAX_CONNECTIONS_PER_WORKER,
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(
            header_read_timeout=HEADER_READ_TIMEOUT_MS, max_buffer_size=MAX_HEAD_BYTES
        ),
        log_access=access_log,
        log_access_format=ACCESS_LOG_FORMAT,
        workers_kill_timeout=grace_seconds,
    )
    # granian warns at every start that threads beyond 2 per core "seem quite high"; here they
    # are meant to wait (module docstring), so the warning would only mislead operators.
    logging.getLogger("_granian").addFilter(_not_the_threads_warning)
    server.serve(target_loader=WorkerBoot(app_factory), wrap_loader=False)


def _not_the_threads_warning(record: logging.LogRecord) -> bool:
    return "Python threads, which seems quite high" not in record.getMessage()


class DevRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler, whose log lines (the request line, in full, and errors
    quoting it) are redacted as the access log is."""

    def log(self, type: str, message: str, *args: Any) -> None:
        super().log(type, "%s", redact(message % args if args else message))


def serve_dev(app: Flask, *, host: str, port: int) -> None:
    """Flask's development server, reloading on changes, with a redacted request log."""
    app.run(host, port, use_reloader=True, threaded=True, request_handler=DevRequestHandler)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class WorkerBoot:
    """Builds a worker's app without losing a stop signal that arrives meanwhile.

    granian installs a worker's own SIGTERM handler only after the app is loaded; until
    then the worker runs the handler it inherited from the main process, which does nothing
    useful there. A stop during those few hundred milliseconds was lost, and the worker then
    served on until killed at the end of the grace period. So the boot records such a signal
    and sends it again once granian's handler is in place.
    """

    def __init__(self, app_factory: Callable[[], Flask]) -> None:
        self.app_factory = app_factory

    def __call__(self) -> Flask:
        received: list[int] = []

        def remember(signum: int, _frame: FrameType | None) -> None:
            received.append(signum)

        for signum in STOP_SIGNALS:
            signal.signal(signum, remember)
        threading.Thread(target=_redeliver, args=(remember, received), daemon=True).start()
        # granian has configured this worker's logging by now (a spawned worker inherits
        # nothing): its access lines name paths, which could hold a token.
        logging.getLogger("granian.access").addFilter(redact_access_record)
        return self.app_factory()


BOOT_WATCH_SECONDS = 120


def _redeliver(booting_handler: object, received: list[int]) -> None:
    # Waits (polling: nothing announces it) for granian to replace the boot handler, which
    # it does right after the app loads; gives up if that never happens.
    deadline = time.monotonic() + BOOT_WATCH_SECONDS
    while signal.getsignal(signal.SIGTERM) is booting_handler:
        if time.monotonic() > deadline:
            return
        time.sleep(0.01)
    for signum in received[:1]:
        os.kill(os.getpid(), signum)
