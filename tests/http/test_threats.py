"""Threats the OWASP API Security Top 10 (2023) names that no other test file covers: the
API's inventory is complete (API9), and casesvc calls no other service (API7, API10)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from flask import Flask

from tests.servers import ROOT

# Modules that make outbound network requests.
OUTBOUND = {"urllib.request", "http.client", "requests", "httpx", "urllib3", "aiohttp", "ftplib",
            "smtplib", "xmlrpc.client", "socket"}  # fmt: skip
# socket is imported once, to probe whether the port to serve on is free (bind, never connect).
ALLOWED = {("casesvc/serving.py", "socket")}
# Routes that are not API operations: the web UI, the docs, and their static files.
NOT_API = ("/", "/dashboard", "/docs", "/openapi.json", "/favicon.ico", "/static", "/ui/static")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_casesvc_calls_no_other_service() -> None:
    """No module of casesvc imports an HTTP client or opens outbound sockets, and no HTTP
    client is among the runtime dependencies: there is no request to forge (SSRF) and no
    third-party answer to trust."""
    sources = [*sorted((ROOT / "casesvc").rglob("*.py")), ROOT / "cli.py"]
    used = {
        (str(path.relative_to(ROOT)), module)
        for path in sources
        for module in imports(path)
        if module in OUTBOUND
    }
    pins = (ROOT / "requirements.lock").read_text().lower().splitlines()

    assert ALLOWED == used
    assert [] == [p for p in pins if p.split("==")[0] in {"requests", "httpx", "aiohttp"}]


def test_every_api_route_is_documented(app: Flask) -> None:
    """Every route outside the web UI and the docs is an operation of /openapi.json: no
    shadow endpoint."""
    spec: dict[str, Any] = app.test_client().get("/openapi.json").json
    documented = {url.replace("{", "<").replace("}", ">") for url in spec["paths"]}
    routes = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if not any(rule.rule == p or rule.rule.startswith(p + "/") for p in NOT_API)
    }

    assert documented == routes
