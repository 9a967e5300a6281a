"""Real `casesvc serve` processes on loopback ports."""

import dataclasses
import functools
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import granian.server
import pytest
from click.testing import CliRunner
from flask import Flask

from casesvc.api import parts_of
from casesvc.app import create_app
from casesvc.cli import main, operator
from casesvc.config import Config
from casesvc.db import close_all
from casesvc.lifecycle import Timed
from casesvc.serving import STOP_SIGNALS, WorkerBoot
from tests.fleet import wait_for
from tests.servers import ROOT, cli, running_server


def post_case(base: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    request = urllib.request.Request(base + "/cases", method="POST")
    with urllib.request.urlopen(request) as response:
        return response.status, json.load(response), response.headers["Location"]


def get_json(url: str) -> dict:  # type: ignore[type-arg]
    with urllib.request.urlopen(url) as response:
        return json.load(response)  # type: ignore[no-any-return]


def test_curl_style_post_then_get(database_url: str, tmp_path: Path) -> None:
    """A bodyless POST creates a case that a GET finds at once, and with --access-log each
    request is a line on stdout."""
    cli(database_url, "db", "upgrade")
    log = tmp_path / "serve.log"
    with running_server(database_url, "--workers", "2", "--access-log", log=log) as (base, _):
        status, created, location = post_case(base)
        fetched = get_json(base + location)
        # granian writes access lines from a worker's own thread, and drops any not yet
        # written when the worker stops (it lost this one once, under load).
        wait_for(lambda: '"POST /cases HTTP/1.1" 201' in log.read_text(), "the POST's line")

    assert (201, f"/cases/{created['case_id']}") == (status, location)
    assert created["case_id"] == fetched["case_id"]


def test_no_access_log_by_default(database_url: str, tmp_path: Path) -> None:
    """Without --access-log, requests leave no line on stdout."""
    cli(database_url, "db", "upgrade")
    log = tmp_path / "serve.log"
    with running_server(database_url, "--workers", "1", log=log) as (base, _):
        post_case(base)

    assert "/cases" not in log.read_text()


def test_sigterm_stops_gracefully(database_url: str, tmp_path: Path) -> None:
    """SIGTERM stops the server with exit code 0."""
    cli(database_url, "db", "upgrade")
    with running_server(database_url, "--workers", "1", log=tmp_path / "log") as (_, process):
        process.send_signal(signal.SIGTERM)
        assert 0 == process.wait(timeout=30)


def start_chunked_post(base: str) -> socket.socket:
    """A POST /cases whose chunked body has begun but not ended: the app waits on it."""
    parts = urllib.parse.urlsplit(base)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    sock.sendall(b"POST /cases HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    sock.sendall(b"1\r\nx\r\n")
    return sock


def test_sigterm_lets_an_in_flight_request_finish(database_url: str, tmp_path: Path) -> None:
    """A request begun before SIGTERM still gets its answer, then the server exits 0."""
    cli(database_url, "db", "upgrade")
    with running_server(database_url, "--workers", "1", log=tmp_path / "log") as (base, process):
        with start_chunked_post(base) as sock:
            get_json(base + "/cases")  # the worker is serving: the POST is in its hands
            process.send_signal(signal.SIGTERM)
            sock.sendall(b"0\r\n\r\n")  # the body ends after the stop was asked for
            status_line = sock.makefile("rb").readline()
        exit_code = process.wait(timeout=30)

    assert (b"HTTP/1.1 201 Created\r\n", 0) == (status_line, exit_code)


def test_sigterm_stops_within_the_grace_period(database_url: str, tmp_path: Path) -> None:
    """A request that never finishes holds the stop for the grace period only: once it is
    over, its worker is killed, and the server exits 0 while the request is still
    unfinished. (How long the period is, is granian's to time: the test below checks the
    value it gets.)"""
    cli(database_url, "db", "upgrade")
    serve_args = ("--workers", "1", "--grace-period", "1")
    log = tmp_path / "log"
    with (
        running_server(database_url, *serve_args, log=log) as (base, process),
        start_chunked_post(base),
    ):
        get_json(base + "/cases")
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=120)  # only a hang (no kill at all) waits this long

    assert 0 == exit_code
    assert "Killing worker-1 after it refused to gracefully stop" in log.read_text()


def test_the_grace_period_reaches_granian(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve hands granian its --grace-period as the time a stopping worker gets before it
    is killed (workers_kill_timeout): 20 s by default."""
    given: list[object] = []

    class Granian:
        def __init__(self, *args: object, **kwargs: object) -> None:
            given.append(kwargs["workers_kill_timeout"])

        def serve(self, **kwargs: object) -> None:
            pass

    monkeypatch.setattr(granian.server, "Server", Granian)
    monkeypatch.setattr(operator, "check_port", lambda host, port: None)
    env = {"DATABASE_URL": database_url}
    codes = [
        CliRunner().invoke(main, ["serve", *args], env=env).exit_code
        for args in ([], ["--grace-period", "1"], ["--grace-period", "45"])
    ]

    assert ([0, 0, 0], [20, 1, 45]) == (codes, given)


def test_dev_server_serves(database_url: str) -> None:
    """--dev serves with Flask's development server."""
    cli(database_url, "db", "upgrade")
    with running_server(database_url, "--dev") as (base, _):
        status, created, _location = post_case(base)

    assert (201, "submitted") == (status, created["status"])


def test_serve_refuses_a_database_behind(empty_database_url: str) -> None:
    """serve on an unmigrated (non-default) database exits 1 naming `casesvc db upgrade`."""
    result = subprocess.run(  # timeout: a server that did start must not hang the suite
        [
            sys.executable,
            "-m",
            "casesvc",
            "--database-url",
            empty_database_url,
            "serve",
            "--port",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert 1 == result.returncode
    assert "casesvc db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_longest_documented_query_fits_the_request_line(database_url: str) -> None:
    """A page_token at the documented 512-character maximum, all 4-byte UTF-8 and so ~6 KB
    once percent-encoded, reaches the app (a JSON 400), not the server's own 414."""
    cli(database_url, "db", "upgrade")
    token = urllib.parse.quote("\U000e924c" * 512)
    with running_server(database_url, "--workers", "1") as (base, _):
        try:
            urllib.request.urlopen(f"{base}/cases?page_size=500&view=basic&page_token={token}")
        except urllib.error.HTTPError as error:
            status, content_type = error.code, error.headers["Content-Type"]

    assert (400, "application/json") == (status, content_type)


def test_a_stop_during_worker_boot_reaches_the_server() -> None:
    """A SIGTERM that arrives while a worker builds its app is sent again once the server's
    own handler is installed, instead of being lost."""
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    delivered = threading.Event()
    built = Flask(__name__)

    def build_while_stopped() -> Flask:
        os.kill(os.getpid(), signal.SIGTERM)  # the stop arrives mid-boot
        return built

    try:
        app = WorkerBoot(build_while_stopped)()
        signal.signal(signal.SIGTERM, lambda *_: delivered.set())  # what granian does next
        reached = delivered.wait(timeout=10)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    assert (built, True) == (app, reached)


def test_a_taken_port_is_one_line_and_exit_1(database_url: str) -> None:
    """serve on a port another process listens on exits 1 at once, with one line naming
    the port and how to choose another."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "casesvc",
                "--database-url",
                database_url,
                "serve",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert 1 == result.returncode
    assert [
        f"casesvc: error: cannot serve on 127.0.0.1:{port}: the port is already in use; "
        "choose another with --port N (make run PORT=N)"
    ] == result.stderr.splitlines()


def test_the_worker_loader_survives_pickling(config: Config) -> None:
    """What each worker runs to build its app pickles, as a spawned worker (granian's start
    method from Python 3.14) needs, and still builds the app with the same config."""
    odd = dataclasses.replace(config, processing_after=7.0)
    loader = pickle.loads(pickle.dumps(WorkerBoot(functools.partial(create_app, odd))))
    app = loader.app_factory()
    service = parts_of(app).service
    close_all(service.database)

    assert Timed.from_seconds(7.0, config.complete_after) == service.lifecycle


def test_serve_on_localhost(database_url: str) -> None:
    """--host localhost serves on 127.0.0.1 (granian takes addresses only, and crashed on the
    name: issue 22)."""
    cli(database_url, "db", "upgrade")
    with running_server(database_url, "--workers", "1", "--host", "localhost") as (base, _):
        assert {"status": "ok"} == get_json(base + "/healthz")


def test_framing_through_granian(database_url: str) -> None:
    """Over the wire: an HTTP/1.1 request with no Host, or two, is the app's JSON 400; one
    with bare LF line endings is served (RFC 9112 lets a recipient accept them; granian
    does, and HAProxy in front rewrites every request with CRLF)."""
    cli(database_url, "db", "upgrade")
    requests = {
        "no host": b"GET /cases HTTP/1.1\r\n\r\n",
        "two hosts": b"GET /cases HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "bare LF": b"GET /cases HTTP/1.1\nHost: a\n\n",
    }
    with running_server(database_url, "--workers", "1") as (base, _):
        parts = urllib.parse.urlsplit(base)
        answers = {}
        for name, request in requests.items():
            with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
                s.sendall(request)
                data = b""
                while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
                    data += s.recv(65536)
            answers[name] = data.split(b"\r\n", 1)[0]

    assert {
        "no host": b"HTTP/1.1 400 Bad Request",
        "two hosts": b"HTTP/1.1 400 Bad Request",
        "bare LF": b"HTTP/1.1 200 OK",
    } == answers
