"""Helpers for developing casesvc, shared by the tests (tests/) and the scripts (scripts/).

Real `casesvc serve` processes on loopback ports (``devtools.servers``) and an in-process
server on a fake clock with Debian's Chromium to drive it (``devtools.live``). Neither
tests/ nor scripts/ imports the other (tests/unit/test_architecture.py); what both need is
here. Not installed: the wheel holds only the casesvc packages (pyproject.toml).
"""
