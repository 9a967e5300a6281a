"""The shape of the package: a domain with no framework in it, and imports that run one way.

DEVELOPERS.md draws the layers; these tests hold the code to them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "casesvc"

# Lower layers never import higher ones. Within a layer, imports may go either way, but
# never round in a cycle (test_the_import_graph_has_no_cycle).
LAYERS = {
    # 0, the base: time, the stage rule, configuration and small parsers. The package itself
    # imports nothing.
    "casesvc": 0,
    "casesvc.clock": 0,
    "casesvc.lifecycle": 0,
    "casesvc.config": 0,
    "casesvc.database_url": 0,
    "casesvc.origins": 0,
    "casesvc.redaction": 0,
    # 1, the store: tables, connections, migrations and the SQL the service runs.
    "casesvc.models": 1,
    "casesvc.db": 1,
    "casesvc.sqlcache": 1,
    "casesvc.store": 1,
    # 2, the rules: the case format, the samples, the service, a case's representation, and
    # the wiring every entry point starts from.
    "casesvc.schemas": 2,
    "casesvc.determinations": 2,
    "casesvc.pagetokens": 2,
    "casesvc.service": 2,
    "casesvc.representation": 2,
    "casesvc.bootstrap": 2,
}
ADAPTERS = 3  # everything else: the HTTP API, the web UI, the CLI, the server

# What the domain must load none of.
FRAMEWORKS = ("flask", "werkzeug", "flask_smorest", "flask_cors", "click", "granian")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """The casesvc modules ``path`` imports when it runs (imports for type checkers only, under
    ``if TYPE_CHECKING:``, are left out), functions' own imports included."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and is_type_checking(child):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.add(child.module)
                # `from casesvc import db`: the submodule, where there is one
                found.update(f"{child.module}.{alias.name}" for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text()))
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: runtime_imports(path, modules) - {name} for name, path in paths.items()}


def layer(module: str) -> int:
    return LAYERS.get(module, ADAPTERS)


def test_every_module_of_the_domain_has_a_layer() -> None:
    """A new module below the adapters is placed on purpose, not by default."""
    graph = import_graph()
    assert set(LAYERS) <= set(graph), set(LAYERS) - set(graph)
    adapters = {m for m in graph if layer(m) == ADAPTERS}
    assert {"casesvc.app", "casesvc.cli", "casesvc.api", "casesvc.serving"} <= adapters


def test_no_import_goes_back_up() -> None:
    graph = import_graph()
    upward = sorted(
        f"{importer} (layer {layer(importer)}) imports {imported} (layer {layer(imported)})"
        for importer, imported_set in graph.items()
        for imported in imported_set
        if layer(imported) > layer(importer)
    )
    assert [] == upward


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    done: set[str] = set()

    def walk(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            pytest.fail("import cycle: " + " -> ".join((*path[path.index(module) :], module)))
        if module in done:
            return
        for imported in sorted(graph[module]):
            walk(imported, (*path, module))
        done.add(module)

    for module in sorted(graph):
        walk(module, ())


def test_the_domain_loads_no_web_or_cli_framework() -> None:
    """Importing every module below the adapters loads no Flask, werkzeug, flask-smorest,
    Click or granian (in a fresh interpreter, so nothing this test run imported counts)."""
    code = (
        "import sys\n"
        f"for name in {sorted(LAYERS)!r}: __import__(name)\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({FRAMEWORKS!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "[]" == result.stdout.strip(), result.stdout


def test_the_adapters_do_load_them() -> None:
    """The check above can fail: the app factory's module loads Flask."""
    code = (
        "import sys, casesvc.app\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({FRAMEWORKS!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "flask" in result.stdout


# -- the repository's other Python: tests/, scripts/ and devtools/ ---------------------------

ROOT = PACKAGE.parent
# Which top-level packages each folder may not import: the tests and the scripts share only
# devtools/ (and casesvc), and devtools/ sits below both.
FORBIDDEN = {"tests": {"scripts"}, "scripts": {"tests"}, "devtools": {"tests", "scripts"}}


def imported_names(source: str) -> set[str]:
    """Every module an absolute import in ``source`` names, wherever the import is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_imported_names_sees_every_kind_of_import() -> None:
    """The check below can fail: plain, from and function-local imports are all seen."""
    source = (
        "import tests.live\n"
        "from scripts.servers import ROOT\n"
        "def f():\n"
        "    from devtools import live\n"
        "from . import sibling\n"
    )
    assert {"tests.live", "scripts.servers", "devtools"} == imported_names(source)


def test_tests_and_scripts_do_not_import_each_other() -> None:
    """No file in tests/ imports scripts/, none in scripts/ imports tests/, and devtools/, which
    both use, imports neither."""
    crossings = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for folder, forbidden in FORBIDDEN.items()
        for path in (ROOT / folder).rglob("*.py")
        for name in imported_names(path.read_text())
        if name.split(".")[0] in forbidden
    )
    assert [] == crossings
    assert (ROOT / "devtools" / "__init__.py").is_file()


def test_every_import_of_casesvc_resolves() -> None:
    """Each name imported from casesvc anywhere in the repository exists, those imported
    inside functions (which nothing runs until then: make bench's seeding) included."""
    import importlib

    root = PACKAGE.parent
    files = [
        path
        for folder in ("casesvc", "tests", "scripts", "devtools", "migrations")
        for path in (root / folder).rglob("*.py")
        if "node_modules" not in path.parts
    ]
    broken = []
    for path in [*files, root / "cli.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            module_name = node.module or "" if isinstance(node, ast.ImportFrom) else ""
            if module_name == "casesvc" or module_name.startswith("casesvc."):
                assert isinstance(node, ast.ImportFrom)
                module = importlib.import_module(module_name)
                for alias in node.names:
                    name = f"{node.module}.{alias.name}"
                    if not hasattr(module, alias.name) and importlib.util.find_spec(name) is None:
                        broken.append(f"{path.relative_to(root)}: {name}")
    assert [] == broken
