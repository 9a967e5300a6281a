"""The generated clients, for real: openapi-generator's typescript-fetch and python clients,
type-checked or installed, then run against a live `casesvc serve`.

Each client is generated once per session. The live server's stages are shortened (0.2 s to
processing, 0.5 s to complete) so that the documented poll loop (docs/clients.md) finishes
after one Retry-After.
The clients speak HTTP only, so this runs in the SQLite pass alone.
"""

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import missing
from tests.servers import cli, running_server

pytestmark = pytest.mark.sqlite_only

ROOT = Path(__file__).resolve().parents[2]
TS_DIR = ROOT / "tests" / "client_ts"
PY_DIR = ROOT / "tests" / "client_py"
SNAPSHOT = ROOT / "docs" / "openapi.json"
GENERATOR = Path(sys.executable).parent / "openapi-generator-cli"
# The python generator prints this for every model, even `{"type": "object"}` alone.
HARMLESS = ("Failed to get the schema name: null",)
# What a spec that generates an unclean client makes openapi-generator say.
UNCLEAN = re.compile(r"\b(WARN|ERROR)\b|operationId|[Rr]enamed|reserved word", re.MULTILINE)


@dataclass
class Generated:
    path: Path
    complaints: list[str]


def require(tool: str) -> str:
    """The tool's path; a missing tool fails under CI and skips elsewhere."""
    path = shutil.which(tool)
    if path is None:
        missing(f"{tool} is not installed")
    return path


def run(command: list[str], *, timeout: float = 300, **kwargs: object) -> str:
    """Run a command; on failure, the assertion shows its output."""
    result = subprocess.run(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )
    assert 0 == result.returncode, f"{command} failed:\n{result.stdout[-4000:]}"
    return str(result.stdout)


def generate(spec: str, generator: str, out: Path, *options: str) -> Generated:
    """openapi-generator, as docs/clients.md runs it, and what it complained about."""
    require("java")
    log = run([str(GENERATOR), "generate", "-i", spec, "-g", generator, "-o", str(out), *options])
    return Generated(out, complaints(log))


def complaints(log: str) -> list[str]:
    """The generator's lines that say the spec is not clean."""
    return [
        line
        for line in log.splitlines()
        if UNCLEAN.search(line) and not any(text in line for text in HARMLESS)
    ]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`casesvc serve` on a free loopback port, on its own database, with short stages."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'cases.db'}"
    env = dict(os.environ, CASESVC_PROCESSING_AFTER="0.2", CASESVC_COMPLETE_AFTER="0.5")
    cli(database_url, "db", "upgrade", env=env)
    with running_server(database_url, "--workers", "1", "--threads", "4", env=env) as (url, _):
        yield url


@pytest.fixture(scope="session")
def typescript_client(live_server: str, tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """The typescript-fetch client, generated from the live server's /openapi.json."""
    out = tmp_path_factory.mktemp("typescript") / "api"
    return generate(f"{live_server}/openapi.json", "typescript-fetch", out)


@pytest.fixture(scope="session")
def python_client(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """The python client, generated from the committed snapshot docs/openapi.json."""
    out = tmp_path_factory.mktemp("python") / "casesvc-client"
    return generate(
        str(SNAPSHOT), "python", out, "--additional-properties=packageName=casesvc_client"
    )


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """tests/client_ts/node_modules, installed from the committed lock if missing or stale."""
    require("node")
    npm = require("npm")
    installed = TS_DIR / "node_modules" / ".package-lock.json"
    lock = TS_DIR / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        run([npm, "ci", "--no-audit", "--no-fund"], cwd=TS_DIR)
    return TS_DIR / "node_modules"


@pytest.mark.parametrize("client", ["typescript_client", "python_client"])
def test_generator_has_no_complaints(request: pytest.FixtureRequest, client: str) -> None:
    """openapi-generator prints no warning (no empty operationId, no renamed model)."""
    generated: Generated = request.getfixturevalue(client)
    assert [] == generated.complaints


def test_complaints_are_recognised() -> None:
    """The scan catches openapi-generator's real warnings and lets its routine lines pass."""
    log = """\
[main] INFO  o.o.codegen.DefaultGenerator - OpenAPI Generator: typescript-fetch (client)
[main] WARN  o.o.codegen.utils.ModelUtils - Failed to get the schema name: null
[main] WARN  o.o.c.l.AbstractTypeScriptClientCodegen - Error (model name matches existing \
language type) cannot be used as a model name. Renamed to ModelError
[main] WARN  o.o.codegen.DefaultCodegen - Empty operationId found for path: post /cases. \
Renamed to auto-generated operationId: casesPost
[main] INFO  o.o.codegen.TemplateManager - writing file /tmp/api/models/Case.ts
"""
    assert ["ModelError", "casesPost"] == [line.split()[-1] for line in complaints(log)]


def test_typescript_client_compiles_and_runs(
    typescript_client: Generated, node_modules: Path, live_server: str
) -> None:
    """The TypeScript client type-checks under strict tsc, and the smoke program (with the
    documented example) passes against the live server."""
    work = typescript_client.path.parent
    for name in ("tsconfig.json", "example.ts", "smoke.ts"):
        shutil.copy(TS_DIR / name, work / name)
    (work / "node_modules").symlink_to(node_modules, target_is_directory=True)
    node = require("node")

    run([node, str(node_modules / "typescript" / "bin" / "tsc"), "-p", str(work)])
    output = run([node, str(work / "dist" / "smoke.js"), live_server], timeout=60)

    assert "typescript client: ok" in output


def test_python_client_installs_and_runs(
    python_client: Generated, live_server: str, tmp_path: Path
) -> None:
    """The Python client installs in a fresh venv, and the smoke program (with the docs
    example) passes against the live server."""
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, "-c", str(PY_DIR / "constraints.txt"), str(python_client.path)])

    output = run([python, str(PY_DIR / "smoke.py"), live_server], timeout=60, cwd=PY_DIR)

    assert "python client: ok" in output


@pytest.mark.parametrize("example", [TS_DIR / "example.ts", PY_DIR / "example.py"])
def test_the_docs_show_the_tested_example(example: Path) -> None:
    """docs/clients.md's client examples are, verbatim, the code the smoke programs run."""
    shown = example.read_text(encoding="utf-8") in (ROOT / "docs" / "clients.md").read_text(
        "utf-8"
    )
    assert shown, f"docs/clients.md does not show {example.relative_to(ROOT)} verbatim"
