"""A real server's output carries no case content and no token."""

from __future__ import annotations

import json
import os
import re
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from casesvc.redaction import redact
from tests.fleet import wait_for
from tests.http.test_logs import TOKEN, assert_no_clinical_text, clinical_texts
from tests.servers import cli, running_server
from tests.tokens import SECRET_KEY, TOKEN_A


def test_no_case_content_or_token_in_server_output(database_url: str, tmp_path: Path) -> None:
    """A real server's stdout and stderr (access and error logs) through a full lifecycle,
    with authentication on, hold neither case text, nor the token, nor a query string."""
    cli(database_url, "db", "upgrade")
    log = tmp_path / "serve.log"
    env = dict(os.environ, CASESVC_API_TOKENS=TOKEN, CASESVC_SECRET_KEY=SECRET_KEY)
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def call(path: str, method: str = "GET") -> dict[str, Any]:
        request = urllib.request.Request(base + path, method=method, headers=auth)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)  # type: ignore[no-any-return]

    with running_server(database_url, "--workers", "2", "--access-log", env=env, log=log) as (
        base,
        _,
    ):
        case_id = call("/cases", "POST")["case_id"]
        statuses = [call(f"/cases/{case_id}")["status"]]
        for seconds in (10, 20):
            cli(database_url, "advance", case_id, "--by", str(seconds))
            statuses.append(call(f"/cases/{case_id}")["status"])
            call(f"/cases?view=full&access_token={TOKEN}")
        complete = call(f"/cases/{case_id}")

    output = log.read_text()
    assert ["submitted", "processing", "complete"] == statuses
    assert complete["summary"][:40] in clinical_texts()
    assert f'"GET /cases/{case_id} HTTP/1.1" 200' in output  # the access log is there
    assert '"GET /cases HTTP/1.1" 200' in output  # the list, logged without its query
    assert_no_clinical_text(output)
    assert TOKEN not in output


@pytest.mark.parametrize(
    "serve_args", [("--workers", "1", "--access-log"), ("--dev",)], ids=["granian", "dev"]
)
def test_request_log_never_writes_a_token(
    database_url: str, tmp_path: Path, serve_args: tuple[str, ...]
) -> None:
    """The request log of `casesvc serve --access-log` and of `--dev` writes no token, wherever
    the client put it: the Authorization header, the query string, or the path (plain or
    percent-encoded); a case id stays readable."""
    cli(database_url, "db", "upgrade")
    log = tmp_path / "serve.log"
    env = dict(os.environ, CASESVC_API_TOKENS=TOKEN_A, CASESVC_SECRET_KEY=SECRET_KEY)
    encoded = "".join(f"%{byte:02X}" for byte in TOKEN_A.encode())

    def status(path: str, method: str = "GET") -> int:
        request = urllib.request.Request(
            base + path, method=method, headers={"Authorization": f"Bearer {TOKEN_A}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    with running_server(database_url, *serve_args, env=env, log=log) as (base, _):
        request = urllib.request.Request(
            base + "/cases", method="POST", headers={"Authorization": f"Bearer {TOKEN_A}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            case_id = json.load(response)["case_id"]
        statuses = [
            status(f"/cases/{case_id}"),
            status(f"/cases?access_token={TOKEN_A}"),
            status(f"/cases/{TOKEN_A}"),
            status(f"/{TOKEN_A}"),
            status(f"/cases/{encoded}"),
        ]

    output = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text())  # werkzeug colours its lines
    assert [200, 200, 404, 404, 404] == statuses
    assert f'"GET /cases/{case_id} HTTP/1.1" 200' in output
    assert '"GET /cases HTTP/1.1" 200' in output
    assert '"GET /cases/[redacted] HTTP/1.1" 404' in output
    assert TOKEN_A not in output
    assert encoded not in output


ACCESS_LINE = re.compile(rb'\[[^\]]+\] 127\.0\.0\.1 - "GET /[\x20-\x7e]* HTTP/1\.1" \d{3} [\d.]+')
SERVER_LINE = re.compile(rb"(\[(INFO|WARNING)\] |casesvc: )[\x20-\x7e]*")


def test_no_request_can_write_a_control_byte_or_a_line_into_the_log(
    database_url: str, tmp_path: Path
) -> None:
    """Every byte 0x00-0xff in the path (percent-encoded), the query string, the User-Agent
    and the Referer, each followed by FORGED, with the access log on: the output is
    printable ASCII lines, each an access line or the server's own, and FORGED never starts
    one (a raw newline would have started a forged line; ESC would drive a terminal)."""
    cli(database_url, "db", "upgrade")
    log = tmp_path / "serve.log"
    requests = []
    for byte in range(256):
        encoded = f"%{byte:02X}".encode()
        raw = bytes([byte])
        # The path three times: granian's access log may drop a line under load.
        requests += [
            b"GET /dashboard/case/x" + encoded + b"FORGED HTTP/1.1\r\nHost: x\r\n\r\n"
        ] * 3
        requests += [
            b"GET /cases?q=" + encoded + b"FORGED HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: a" + raw + b"FORGED\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nReferer: /" + raw + b"FORGED\r\n\r\n",
        ]
    with running_server(database_url, "--workers", "1", "--access-log", log=log) as (base, _):
        parts = urlsplit(base)
        for request in requests:
            with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
                s.sendall(request)
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
        # granian writes access lines from a worker's own thread, drops any not yet written
        # when the worker stops, and lost one of 256 under load: wait until each byte's path
        # has a line (it was sent three times).
        wait_for(lambda: not unlogged_bytes(log.read_bytes()), "a line for every byte's path")

    lines = log.read_bytes().split(b"\n")
    assert b"" == lines[-1]
    strange = [
        line
        for line in lines[:-1]
        if not (ACCESS_LINE.fullmatch(line) or SERVER_LINE.fullmatch(line))
    ]
    assert [] == strange
    assert not any(line.startswith(b"FORGED") for line in lines)


def unlogged_bytes(output: bytes) -> list[int]:
    """The bytes whose path request has no access line, escaped, in ``output``."""
    text = output.decode("ascii", "replace")
    return [
        byte
        for byte in range(256)
        if f'"GET {redact("/dashboard/case/x" + chr(byte) + "FORGED")} HTTP/1.1"' not in text
    ]
