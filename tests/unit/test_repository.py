"""The checkout itself: what git keeps out of it, and what the README says `make test` needs."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("pattern", ["build/", "dist/"])
def test_build_output_is_ignored(pattern: str) -> None:
    """What `pip wheel -w dist` or `python -m build` leaves in a checkout is never committed
    by accident."""
    assert pattern in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_the_readme_names_every_package_ci_installs() -> None:
    """The README's apt-get line for `make test` names each Debian package .ci/run installs,
    and PostgreSQL, whose server scripts/with-postgres needs but .ci/run does not install."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    installed = {"postgresql"}
    for names in re.findall(r"apt-get install -y -q+ ([a-z][a-z0-9 +.-]*?) >", ci):
        installed |= set(names.split())
    installed |= set(re.findall(r"missing\+=\(([a-z0-9+.-]+)\)", ci))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = {word for line in re.findall(r"apt-get install (.*)", readme) for word in line.split()}

    assert {"default-jre-headless", "nodejs", "npm", "chromium", "wrk"} <= installed
    assert set() == installed - named
