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

import contextlib
import ctypes
import dataclasses
import errno
import ipaddress
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from flask import Flask
from werkzeug.serving import WSGIRequestHandler
from werkzeug.urls import uri_to_iri

from casesvc.config import MULTIPROC_VARIABLE, Config
from casesvc.redaction import redact, redact_access_record

# Measured on the 2-core benchmark machine (docs/performance.md, "Sizing"): two workers per core
# serve more than one. A worker runs Python on one core at a time (the GIL) and leaves it
# idle while its threads wait on the socket, the database or each other; a second worker per
# core fills those gaps. More than two per core gained nothing measurable.
WORKERS_PER_CORE = 2
MAX_DEFAULT_WORKERS = 8
# Connections a worker holds at once, idle or busy (granian's "backpressure": a worker stops
# accepting past it, and new connections wait in that worker's listen queue, where the kernel
# put them, while other workers may be free). Idle and slow connections cost a few KB in Rust
# and no Python thread, so this is far above what one host opens: tests/system/test_slow_clients
# holds 6,000 idle or slowloris sockets while another client is answered (docs/deploying.md).
MAX_CONNECTIONS_PER_WORKER = 8192
# Each worker's listen queue (the kernel caps it at net.core.somaxconn).
LISTEN_BACKLOG = 4096
# By default, in-flight requests get this long to finish after SIGTERM; then their worker is
# killed.
GRACE_SECONDS = 20
# A worker whose memory is above this at a check (every RSS_CHECK_SECONDS) is replaced,
# gracefully (a new one starts first): a worker keeps what a burst took and rarely gives it
# back. A worker at rest uses about 50 MiB and peaks near 62 under make bench; 200 clients that
# pipelined large pages and never read left each at about 100 (docs/deploying.md).
MAX_WORKER_RSS_MIB = 96
RSS_CHECK_SECONDS = 30
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


def bind_address(host: str) -> str:
    """The IP address to listen on for ``--host``: an IP literal as it is, ``localhost`` as
    127.0.0.1. granian takes addresses only, and any other name might resolve to several, or
    elsewhere: a ValueError that says so."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        raise ValueError(
            f"--host must be an IP address or localhost, got {host!r} (to listen on every "
            "interface: 0.0.0.0, or :: for IPv6 too)"
        ) from None


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
    max_rss_mib: int | None = MAX_WORKER_RSS_MIB,
) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully and exit 0: in-flight requests get
    ``grace_seconds`` to finish, then their worker is killed.

    ``app_factory`` runs in each worker; it must be picklable (a module-level function or a
    ``functools.partial`` of one), since a spawned worker receives it pickled. A worker whose
    memory stays above ``max_rss_mib`` is replaced (None: never).
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
        backlog=LISTEN_BACKLOG,
        backpressure=MAX_CONNECTIONS_PER_WORKER,
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(
            header_read_timeout=HEADER_READ_TIMEOUT_MS, max_buffer_size=MAX_HEAD_BYTES
        ),
        log_access=access_log,
        log_access_format=ACCESS_LOG_FORMAT,
        workers_kill_timeout=grace_seconds,
        # A worker that dies (a crash, the OOM killer, kill -9) is replaced at once; the
        # others serve meanwhile. One that dies again within 5.5 s stops the server.
        respawn_failed_workers=True,
        workers_max_rss=max_rss_mib,
        rss_sample_interval=RSS_CHECK_SECONDS,
    )
    logging.getLogger("_granian").addFilter(quiet_granian)
    server.serve(target_loader=WorkerBoot(app_factory), wrap_loader=False)


# granian's start-up warnings that casesvc's sizing contradicts on purpose: two workers per
# core and 16 threads each are measured choices (docs/performance.md, "Sizing"), so the
# warnings would only mislead operators.
QUIET = (
    "Python threads, which seems quite high",
    "number of workers appears to be higher than the amount of CPU cores",
)


def quiet_granian(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    return not any(text in message for text in QUIET)


class DevRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler, whose log lines (the request line, in full, and errors
    quoting it) are redacted as the access log is."""

    def log(self, type: str, message: str, *args: Any) -> None:
        super().log(type, "%s", redact(message % args if args else message))

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        """werkzeug's request line (its path percent-decoded, as werkzeug writes it), without
        the terminal colours werkzeug adds (their escape characters would be written escaped,
        as any a client sends)."""
        line = f"{self.command} {uri_to_iri(self.path)} {self.request_version}"
        self.log("info", '"%s" %s %s', line, getattr(code, "value", code), size)


def serve_dev(app: Flask, *, host: str, port: int) -> None:
    """Flask's development server, reloading on changes, with a redacted request log."""
    app.run(host, port, use_reloader=True, threaded=True, request_handler=DevRequestHandler)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class WorkerBoot:
    """Builds a worker's app without losing a stop signal that arrives meanwhile, in a
    process group of the worker's own.

    Ctrl-C in a terminal sends SIGINT to the whole foreground process group. A granian worker
    that got it straight from the terminal, and then the main process's SIGTERM, stopped
    only when killed at the end of the grace period (issue 21: 20 s, "Killing worker-N after
    it refused to gracefully stop"). So each worker leaves the group: only the main process
    hears the terminal, and stops its workers itself, once each. A worker must then not
    outlive the main process (kill -9 of it): the kernel kills it when its parent dies
    (PR_SET_PDEATHSIG). SIGKILL, not SIGTERM: a worker whose main process is gone has no one
    to drain for, and one blocked in C code (waiting on a lock) never runs a Python
    handler, so a SIGTERM left it serving on, an orphan holding the port (seen once in CI).

    granian installs a worker's own SIGTERM handler only after the app is loaded; until
    then the worker runs the handler it inherited from the main process, which does nothing
    useful there. A stop during those few hundred milliseconds was lost, and the worker then
    served on until killed at the end of the grace period. So the boot records such a signal
    and sends it again once granian's handler is in place.
    """

    def __init__(self, app_factory: Callable[[], Flask]) -> None:
        self.app_factory = app_factory
        self.parent = os.getpid()  # the main process: this runs there, before any worker

    def __call__(self) -> Flask:
        received: list[int] = []

        def remember(signum: int, _frame: FrameType | None) -> None:
            received.append(signum)

        for signum in STOP_SIGNALS:
            signal.signal(signum, remember)
        if os.getpid() != self.parent:  # in a worker (not when a test calls the boot itself)
            leave_the_terminals_group(self.parent)
        threading.Thread(target=_redeliver, args=(remember, received), daemon=True).start()
        # granian has configured this worker's logging by now (a spawned worker inherits
        # nothing): its access lines name paths, which could hold a token.
        logging.getLogger("granian.access").addFilter(redact_access_record)
        return self.app_factory()


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def leave_the_terminals_group(parent: int) -> None:
    """Move this worker into a process group of its own, to be stopped by its parent alone,
    and have the kernel kill it when that parent dies (Linux)."""
    os.setpgid(0, 0)
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGKILL)


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


@contextlib.contextmanager
def worker_shared_dir(config: Config) -> Iterator[Config]:
    """``config`` with an empty multiprocess directory, for one run of a multi-worker server
    with metrics on.

    A directory the operator set (``PROMETHEUS_MULTIPROC_DIR``) is emptied first, as the
    library requires between runs; otherwise a fresh one is made and removed afterwards. The
    variable is exported, so that workers that read their config from the environment (and
    prometheus_client itself) see it too.
    """
    if not config.metrics:  # nothing will count: no directory to share
        yield config
        return
    given = config.metrics_dir
    path = given or Path(tempfile.mkdtemp(prefix="casesvc-metrics-"))
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_VARIABLE] = str(path)
    try:
        yield dataclasses.replace(config, metrics_dir=path)
    finally:
        if given is None:
            shutil.rmtree(path, ignore_errors=True)
