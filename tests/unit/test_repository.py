"""The checkout itself: what git keeps out of it."""

from pathlib import Path

import pytest

GITIGNORE = Path(__file__).resolve().parents[2] / ".gitignore"


@pytest.mark.parametrize("pattern", ["build/", "dist/"])
def test_build_output_is_ignored(pattern: str) -> None:
    """What `pip wheel -w dist` or `python -m build` leaves in a checkout is never committed
    by accident."""
    assert pattern in GITIGNORE.read_text(encoding="utf-8").splitlines()
