"""Start real `casesvc serve` processes on loopback ports, for tests that need a server."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(database_url: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run `casesvc ARGS` in a subprocess; returns its stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "cli", "--database-url", database_url, *args],
        cwd=ROOT,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url + "/openapi.json", timeout=2).close()
            return
        except OSError:
            time.sleep(0.1)  # waiting for a real process to bind, not for the clock
    raise TimeoutError(f"{url} did not come up in {timeout} s")


@contextlib.contextmanager
def running_server(
    database_url: str,
    *serve_args: str,
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`casesvc serve` on a free port, in its own process group; stopped with SIGTERM."""
    port = free_port()
    environment = dict(env or os.environ, DATABASE_URL=database_url)
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *serve_args,
        ],
        cwd=ROOT,
        env=environment,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield url, process
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if log:
            out.close()  # type: ignore[union-attr]
