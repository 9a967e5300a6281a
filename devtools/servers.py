"""Start real servers on loopback ports: for the tests, `make bench` and `make loadtest`."""

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


def wait_until_up(probe_url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Until ``probe_url`` answers; fails if the process exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(probe_url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.1)  # waiting for a real process to bind, not for the clock
    raise TimeoutError(f"{probe_url} did not come up in {timeout} s")


def workers_of(pid: int) -> list[int]:
    """The worker processes of the `casesvc serve` whose main process is ``pid`` (each in a
    process group of its own: casesvc/serving.py)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in children]


@contextlib.contextmanager
def started(
    command: list[str],
    probe_url: str,
    *,
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` in its own process group, once ``probe_url`` answers; always stopped
    (SIGTERM to the group, then SIGKILL if it lingers)."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env or dict(os.environ),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_up(probe_url, process)
        yield process
    finally:
        workers = workers_of(process.pid)  # in groups of their own: not reached by killpg
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for pid in workers:  # none should be left (the kernel kills them with their parent)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if log:
            out.close()  # type: ignore[union-attr]


@contextlib.contextmanager
def running_server(
    database_url: str,
    *serve_args: str,
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`casesvc serve` on a free port; yields its base URL and process."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "casesvc",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    environment = dict(env or os.environ, DATABASE_URL=database_url)
    with started([*command, *serve_args], base + "/openapi.json", env=environment, log=log) as p:
        yield base, p
