"""The Makefile's own help."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.sqlite_only  # no database: once is enough


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_help_lines_up_every_description() -> None:
    """`make help` starts every target's description in one column, past the longest name."""
    lines = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    targets = re.findall(r"^([a-z-]+):.*## ", (ROOT / "Makefile").read_text(), re.MULTILINE)
    columns = {re.match(r"\s*\S+\s+", line).end() for line in lines}  # type: ignore[union-attr]
    longest = max(len(target) for target in targets)
    assert len(targets) == len(lines)
    assert 1 == len(columns)
    assert columns.pop() > longest + 2
