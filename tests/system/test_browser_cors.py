"""The documented API from a page of another origin, in Debian's Chromium: `casesvc serve` with
tokens on and CASESVC_CORS_ORIGINS naming one origin; tiny static pages on other loopback ports
call it with `fetch`, as a front end served from elsewhere would."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.servers import running_server
from tests.tokens import SECRET_KEY, TOKEN_A

# What the browser sees does not depend on the engine (tests/http covers both engines), so the
# browser tests run in the SQLite pass only.
pytestmark = pytest.mark.sqlite_only

PAGE = b"<!doctype html><meta charset=utf-8><title>another origin</title><p>front end</p>"

# Run in the page: POST /cases twice with one Idempotency-Key, then GET the case with the
# ETag in If-None-Match; every header the documented API has a client read, read from JS.
CREATE_TWICE = """async ([api, token, key]) => {
  const auth = {Authorization: `Bearer ${token}`};
  const post = () => fetch(`${api}/cases`, {
    method: "POST", headers: {...auth, "Idempotency-Key": key}});
  const seen = async response => ({
    status: response.status,
    location: response.headers.get("Location"),
    etag: response.headers.get("ETag"),
    retry_after: response.headers.get("Retry-After"),
    replayed: response.headers.get("Idempotent-Replayed"),
    case_id: response.status === 304 ? null : (await response.json()).case_id,
  });
  const first = await seen(await post());
  const second = await seen(await post());
  const again = await seen(await fetch(api + first.location, {
    headers: {...auth, "If-None-Match": first.etag}}));
  return {first, second, again};
}"""

# Run in the page: the same POST; returns how fetch ended.
CREATE_ONCE = """async ([api, token, key]) => {
  try {
    const response = await fetch(`${api}/cases`, {method: "POST",
      headers: {Authorization: `Bearer ${token}`, "Idempotency-Key": key}});
    return {status: response.status};
  } catch (error) {
    return {rejected: error.name};
  }
}"""


class StaticPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def static_origin() -> Iterator[str]:
    """A page served on a free loopback port of its own (so an origin of its own)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), StaticPage)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def origins() -> Iterator[tuple[str, str]]:
    """The origin the server lists, and one it does not."""
    with static_origin() as listed, static_origin() as unlisted:
        yield listed, unlisted


@pytest.fixture
def api(database_url: str, origins: tuple[str, str]) -> Iterator[str]:
    env = dict(
        os.environ,
        CASESVC_CORS_ORIGINS=origins[0],
        CASESVC_API_TOKENS=TOKEN_A,
        CASESVC_SECRET_KEY=SECRET_KEY,
    )
    with running_server(database_url, "--workers", "1", env=env) as (url, _):
        yield url


def run_in_page(browser: Browser, origin: str, script: str, *args: str) -> Any:
    """Open ``origin``'s page in a fresh context and run ``script`` there."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(origin + "/")
        return page.evaluate(script, list(args))
    finally:
        context.close()


def listed_case_ids(api: str) -> list[str]:
    request = urllib.request.Request(
        api + "/cases", headers={"Authorization": f"Bearer {TOKEN_A}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return [case["case_id"] for case in json.load(response)["cases"]]


def test_a_listed_origin_creates_idempotently_and_reads_the_headers(
    browser: Browser, api: str, origins: tuple[str, str]
) -> None:
    """From the listed origin, two POSTs with one Idempotency-Key create one case, and the page
    reads Location, ETag, Retry-After and Idempotent-Replayed, then a 304 for its ETag."""
    seen = run_in_page(browser, origins[0], CREATE_TWICE, api, TOKEN_A, "order-1001")
    first, second, again = seen["first"], seen["second"], seen["again"]

    case_id = first["case_id"]
    assert [case_id] == listed_case_ids(api)
    assert (201, f"/cases/{case_id}", None) == (
        first["status"],
        first["location"],
        first["replayed"],
    )
    assert first["etag"].startswith('"') and first["retry_after"].isdigit()
    assert {**first, "replayed": "true"} == second
    assert (304, first["etag"]) == (again["status"], again["etag"])


def test_an_unlisted_origin_cannot_read_the_answer(
    browser: Browser, api: str, origins: tuple[str, str]
) -> None:
    """From an origin the server does not list, fetch rejects (the preflight is refused), so
    the page reads nothing and no case is created."""
    seen = run_in_page(browser, origins[1], CREATE_ONCE, api, TOKEN_A, "order-2002")

    assert {"rejected": "TypeError"} == seen
    assert [] == listed_case_ids(api)
