"""The CLI's terminal output helpers, with no command run."""

import datetime as dt

import pytest

from casesvc.cli import output


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 s"),
        (59.9, "59 s"),
        (60, "1 min 00 s"),
        (3599, "59 min 59 s"),
        (3600, "1 h 00 min"),
        (86399, "23 h 59 min"),
        (86400, "1 d 0 h"),
        (1_000_000_000, "11,574 d 1 h"),
        (-5, "-5 s"),
        (-90, "-1 min 30 s"),
    ],
)
def test_durations_read_like_the_web_ui(seconds: float, words: str) -> None:
    """Spans print in at most two units, never as Python's timedelta."""
    assert words == output.duration(dt.timedelta(seconds=seconds))
