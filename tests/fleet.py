"""The real parts of a fleet, started by tests on loopback: a PostgreSQL cluster at its
defaults, PgBouncer and HAProxy run from the files in deploy/, several `casesvc serve` nodes,
and wrk to load them. Each is stopped when its ``with`` block ends.

Under ``CI=true`` a missing program is an error (`.ci/run` installs them), never a skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import missing
from tests.servers import ROOT, free_port, running_server

DEPLOY = ROOT / "deploy"
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/nonexistent"))


def need(program: str) -> str:
    """The path of ``program``; missing, a skip on a developer's machine and an error in CI."""
    found = shutil.which(program) or next(
        (str(p) for p in (Path("/usr/sbin") / program, PG_BIN / program) if p.exists()), None
    )
    if found is None:
        missing(f"{program} is not installed (Debian's packages have it)")
    return found


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.getuid() == 0 else command


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Until ``check()`` is true (polling a real process that announces nothing); the
    timeout only turns a hang into a failure."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen in {timeout} s")
        time.sleep(0.1)


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str]:
    """A new PostgreSQL cluster at its defaults (max_connections 100), with a database
    ``casesvc``; yields its URL. Only fsync is off, for speed."""
    initdb = need("initdb")
    pg_ctl = str(Path(initdb).with_name("pg_ctl"))
    folder = Path(tempfile.mkdtemp(prefix="casesvc-fleet-pg-"))
    if os.getuid() == 0:
        shutil.chown(folder, "postgres")
    port = free_port()
    data = folder / "data"
    subprocess.run(
        _as_postgres([initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = [pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-w", "start", "-o", options]
    subprocess.run(_as_postgres(start), check=True, capture_output=True)
    try:
        url = f"postgresql://postgres@127.0.0.1:{port}"
        psql(url + "/postgres", "CREATE DATABASE casesvc")
        yield url + "/casesvc"
    finally:
        stop = [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]
        subprocess.run(_as_postgres(stop), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def psql(url: str, sql: str) -> str:
    """Run ``sql`` with the psql program, as an operator would; its output (raises if refused)."""
    result = subprocess.run(
        [need("psql"), url, "-XAtc", sql], capture_output=True, text=True, timeout=60
    )
    if result.returncode:
        raise RuntimeError(f"psql refused: {result.stderr.strip()}")
    return result.stdout.strip()


@contextlib.contextmanager
def pgbouncer(postgres_url: str) -> Iterator[str]:
    """deploy/pgbouncer.ini in front of ``postgres_url``'s server, with only its database
    line, port, authentication and files changed; yields the URL nodes connect to."""
    program = need("pgbouncer")
    target = re.match(r"postgresql://(\w+)@([\d.]+):(\d+)/(\w+)", postgres_url)
    assert target, postgres_url
    user, host, port, name = target.groups()
    folder = Path(tempfile.mkdtemp(prefix="casesvc-pgbouncer-"))
    listen = free_port()
    replacements = {
        r"^casesvc = .*$": f"casesvc = host={host} port={port} dbname={name}",
        r"^listen_port = .*$": f"listen_port = {listen}",
        r"^auth_type = .*$": "auth_type = trust",
        r"^auth_file = .*$": f"auth_file = {folder / 'users.txt'}",
        r"^logfile = .*$": f"logfile = {folder / 'pgbouncer.log'}",
        r"^pidfile = .*$": f"pidfile = {folder / 'pgbouncer.pid'}",
    }
    text = (DEPLOY / "pgbouncer.ini").read_text()
    for pattern, line in replacements.items():
        text, n = re.subn(pattern, line, text, flags=re.MULTILINE)
        assert n == 1, pattern
    (folder / "pgbouncer.ini").write_text(text)
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    if os.getuid() == 0:
        shutil.chown(folder, "postgres")
        for child in folder.iterdir():
            shutil.chown(child, "postgres")
    command = _as_postgres([program, str(folder / "pgbouncer.ini")])
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"postgresql://{user}@127.0.0.1:{listen}/casesvc"
    try:
        wait_for(lambda: _answers(url, process), "PgBouncer answering")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def _answers(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"exited with {process.returncode}")
    try:
        psql(url, "SELECT 1")
        return True
    except RuntimeError:
        return False


@contextlib.contextmanager
def haproxy(nodes: list[str], expect_up: int = 3) -> Iterator[str]:
    """deploy/haproxy.cfg, as it is, in front of three node base URLs; yields its base URL
    once ``expect_up`` of them pass their health check (and the others have failed it)."""
    program = need("haproxy")
    assert 3 == len(nodes)
    port = free_port()
    env = dict(os.environ, CASESVC_LISTEN=f"127.0.0.1:{port}")
    for i, base in enumerate(nodes, 1):
        env[f"CASESVC_NODE{i}"] = base.removeprefix("http://")
    stats = Path(tempfile.mkdtemp(prefix="casesvc-haproxy-")) / "admin.sock"
    # A second file adds an admin socket, for the test to read the health checks' verdicts.
    command = [program, "-f", str(DEPLOY / "haproxy.cfg"), "-f", _admin_config(stats), "-db"]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: _checked(stats, process, expect_up), "HAProxy's health checks")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(stats.parent, ignore_errors=True)


def _admin_config(socket_path: Path) -> str:
    extra = socket_path.with_name("admin.cfg")
    extra.write_text(f"global\n    stats socket {socket_path} mode 600 level admin\n")
    return str(extra)


def _checked(socket_path: Path, process: subprocess.Popen[bytes], up: int) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"haproxy exited with {process.returncode}")
    states = [state for _, state in haproxy_servers(socket_path)]
    return states.count("UP") == up and states.count("DOWN") == 3 - up


def haproxy_servers(socket_path: Path) -> list[tuple[str, str]]:
    """(server, status) of the backend, from HAProxy's admin socket."""
    if not socket_path.exists():
        return []
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(socket_path))
        s.sendall(b"show stat\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    rows = [line.split(",") for line in data.decode().splitlines() if line.startswith("nodes,")]
    return [(row[1], row[17]) for row in rows if row[1] not in ("BACKEND",)]


@contextlib.contextmanager
def nodes(database_url: str, count: int, *serve_args: str) -> Iterator[list[str]]:
    """``count`` `casesvc serve` nodes at their defaults on one database; their base URLs."""
    with contextlib.ExitStack() as stack:
        bases = [
            stack.enter_context(running_server(database_url, *serve_args))[0] for _ in range(count)
        ]
        yield bases


SOCKET_ERRORS = r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"


@dataclass
class WrkResult:
    requests: int
    failed: int  # non-2xx/3xx answers plus connect, read, write errors and timeouts
    output: str


def start_wrk(
    url: str, *, connections: int, seconds: int, script: str | None = None
) -> subprocess.Popen[str]:
    """wrk against ``url`` (one thread; a request that takes 10 s is a timeout, a failure)."""
    command = [need("wrk"), "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    if script:
        command += ["-s", str(Path(__file__).parent / "system" / script)]
    return subprocess.Popen([*command, url], stdout=subprocess.PIPE, text=True)


def wrk_result(process: subprocess.Popen[str]) -> WrkResult:
    output, _ = process.communicate(timeout=120)
    assert 0 == process.returncode, output
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    failed = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    errors = re.search(SOCKET_ERRORS, output)
    if errors:
        failed += sum(int(n) for n in errors.groups())
    return WrkResult(requests, failed, output)


def call(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """One request: its status, JSON body and headers, by lower-case name (an error answer's
    too)."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response), _lower(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error), _lower(error.headers)


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
