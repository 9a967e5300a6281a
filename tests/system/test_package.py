"""casesvc as a user deploys it: a built wheel in a fresh virtualenv, run outside the checkout."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.servers import ROOT, free_port, wait_until_up

# What a clean clone does not have (a stale build/ could otherwise leak into the wheel).
NOT_SOURCE = (".git", ".venv*", "build", "*.egg-info", "__pycache__", "*_cache", "instance")
PIP = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: nothing that points back into the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.pop("DATABASE_URL", None)
    return {**env, **extra}


def new_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    return path / "bin"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """casesvc's wheel, built from a copy of the checkout as a clean clone has it."""
    root = tmp_path_factory.mktemp("build")
    dist, source = root / "dist", root / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    built = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
        cwd=root,
        env=clean_env(),
    )
    assert 0 == built.returncode, built.stderr
    (found,) = dist.glob("casesvc-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Iterator[Path]:
    """The bin/ of a fresh venv holding the built wheel and the pinned runtime only."""
    root = tmp_path_factory.mktemp("wheel")
    bin_dir = new_venv(root / "venv")
    lock = str(ROOT / "requirements.lock")
    result = run([str(bin_dir / "python"), *PIP, "-c", lock, str(wheel)], root, clean_env())
    assert 0 == result.returncode, result.stderr
    yield bin_dir


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory that is neither the checkout nor inside it."""
    path = tmp_path / "elsewhere"
    path.mkdir()
    assert ROOT not in path.parents
    return path


def call(url: str, method: str = "GET") -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


def test_the_wheel_installs_only_the_casesvc_package(wheel: Path, installed: Path) -> None:
    """Nothing but casesvc lands in site-packages (no top-level `cli` module to clash with
    another package's), and the command runs from the package, also as `python -m casesvc`."""
    with zipfile.ZipFile(wheel) as archive:
        top = {name.split("/", 1)[0] for name in archive.namelist()}
    dist_info = f"casesvc-{version('casesvc')}.dist-info"
    as_module = run(
        [str(installed / "python"), "-m", "casesvc", "--version"], ROOT.parent, clean_env()
    )

    assert {"casesvc", dist_info} == top
    assert (
        "casesvc.cli:main" in zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode()
    )
    assert (0, f"casesvc, version {version('casesvc')}\n") == (
        as_module.returncode,
        as_module.stdout,
    )


def test_the_wheel_installs_and_runs_anywhere(
    installed: Path, elsewhere: Path, empty_database_url: str
) -> None:
    """From a directory outside the checkout, the installed wheel migrates an empty database,
    creates a case, and serves the API, the web UI and /docs."""
    env = clean_env(DATABASE_URL=empty_database_url)
    casesvc = str(installed / "casesvc")

    upgrade = run([casesvc, "db", "upgrade"], elsewhere, env)
    created = run([casesvc, "create"], elsewhere, env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [casesvc, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_up(base + "/openapi.json", server)
        posted = call(base + "/cases", "POST")
        case = json.loads(posted[2])
        fetched = json.loads(call(f"{base}/cases/{case['case_id']}")[2])
        listed = json.loads(call(base + "/cases")[2])
        dashboard = call(base + "/")
        docs = call(base + "/docs")
        swagger = call(base + "/docs/static/swagger-ui-bundle.js")
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert 0 == upgrade.returncode, upgrade.stderr
    assert "applied 0001_create_cases" in upgrade.stdout
    assert 0 == created.returncode, created.stderr
    assert re.fullmatch(r"[A-Za-z0-9_-]+\n", created.stdout)
    assert (201, "submitted") == (posted[0], case["status"])
    assert case == fetched
    assert {case["case_id"], created.stdout.strip()} == {c["case_id"] for c in listed["cases"]}
    assert (200, "text/html; charset=utf-8") == dashboard[:2]
    assert (200, "text/html; charset=utf-8") == docs[:2]
    assert 200 == swagger[0]
    assert [] == list(elsewhere.iterdir())  # nothing written into the working directory


@pytest.mark.sqlite_only
def test_the_embedded_default_lives_in_the_venv(installed: Path, elsewhere: Path) -> None:
    """Without DATABASE_URL, the installed casesvc keeps its SQLite file in the venv's
    var/casesvc-instance (Flask's rule), never in site-packages or the working directory."""
    casesvc = str(installed / "casesvc")

    created = run([casesvc, "create"], elsewhere, clean_env())
    shown = run([casesvc, "show", created.stdout.strip(), "--json"], elsewhere, clean_env())

    assert 0 == created.returncode, created.stderr
    assert "submitted" == json.loads(shown.stdout)["status"]
    assert (installed.parent / "var" / "casesvc-instance" / "casesvc.sqlite3").is_file()
    assert [] == list(elsewhere.iterdir())


def test_one_version_everywhere(installed: Path, elsewhere: Path, database_url: str) -> None:
    """`casesvc --version`, the package metadata and the OpenAPI info.version agree."""
    casesvc = str(installed / "casesvc")
    env = clean_env(DATABASE_URL=database_url)
    cli_version = run([casesvc, "--version"], elsewhere, env).stdout.split()[-1]
    spec = run([str(installed / "python"), "-m", "casesvc.openapi"], elsewhere, clean_env()).stdout
    metadata = run(
        [
            str(installed / "python"),
            "-c",
            "import importlib.metadata as m; print(m.version('casesvc'))",
        ],
        elsewhere,
        env,
    ).stdout.strip()

    assert version("casesvc") == cli_version == metadata == json.loads(spec)["info"]["version"]


@pytest.mark.sqlite_only
def test_pip_install_of_the_source_tree_works(tmp_path: Path, elsewhere: Path) -> None:
    """`pip install <checkout>` (not editable) gives a casesvc that migrates and creates."""
    bin_dir = new_venv(tmp_path / "venv")
    lock = str(ROOT / "requirements.lock")
    installed = run([str(bin_dir / "python"), *PIP, "-c", lock, str(ROOT)], tmp_path, clean_env())
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}")

    upgrade = run([str(bin_dir / "casesvc"), "db", "upgrade"], elsewhere, env)
    created = run([str(bin_dir / "casesvc"), "create"], elsewhere, env)

    assert 0 == installed.returncode, installed.stderr
    assert (0, 0) == (upgrade.returncode, created.returncode), upgrade.stderr + created.stderr


def pins(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return {n.lower(): v for n, _, v in (line.partition("==") for line in lines if "==" in line)}


def test_the_runtime_lock_is_lean_and_agrees_with_the_dev_lock() -> None:
    """requirements.lock pins the runtime alone, each pin as in requirements-dev.lock, so one
    wheelhouse made from the dev lock installs either set offline."""
    runtime, dev = pins(ROOT / "requirements.lock"), pins(ROOT / "requirements-dev.lock")
    tools = {"pytest", "playwright", "mypy", "ruff", "schemathesis", "openapi-generator-cli"}

    assert runtime == {name: dev[name] for name in runtime}
    assert set() == tools & set(runtime)
    assert tools <= set(dev)
