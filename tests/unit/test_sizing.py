"""The server's default size, as `casesvc serve` picks it."""

import pytest

from casesvc.serving import default_workers


@pytest.mark.parametrize(
    ("cores", "expected"), [(None, 2), (1, 2), (2, 4), (3, 6), (4, 8), (16, 8)]
)
def test_two_workers_per_core_at_most_eight(cores: int | None, expected: int) -> None:
    """Two workers per core, at most 8; an unknown core count counts as one core."""
    assert expected == default_workers(cores)
