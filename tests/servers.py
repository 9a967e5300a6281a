"""Real `casesvc serve` processes for tests: devtools.servers, plus the CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

from devtools.servers import ROOT, free_port, running_server, wait_until_up, workers_of

__all__ = ["ROOT", "cli", "free_port", "running_server", "wait_until_up", "workers_of"]


def cli(database_url: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run `casesvc ARGS` in a subprocess; returns its stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "casesvc", "--database-url", database_url, *args],
        cwd=ROOT,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout
