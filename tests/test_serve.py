"""A real `casesvc serve` process on a loopback port."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url + "/openapi.json", timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)  # waiting for a real process to bind, not for the clock
    raise TimeoutError(url)


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    port = free_port()
    env = dict(os.environ, DATABASE_URL=database_url)
    cli = [sys.executable, "-m", "cli", "--database-url", database_url]
    subprocess.run([*cli, "db", "upgrade"], check=True, cwd=ROOT, env=env, capture_output=True)
    process = subprocess.Popen(
        [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_curl_style_post_then_get(server: str) -> None:
    """A bodyless POST creates a case that a GET finds at once."""
    request = urllib.request.Request(server + "/cases", method="POST")
    with urllib.request.urlopen(request) as response:
        created = json.load(response)
        assert (201, f"/cases/{created['case_id']}") == (
            response.status,
            response.headers["Location"],
        )
    with urllib.request.urlopen(server + f"/cases/{created['case_id']}") as response:
        assert created["case_id"] == json.load(response)["case_id"]
