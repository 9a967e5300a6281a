"""The web UI with CASESVC_API_TOKENS set, in Debian's Chromium: it asks for the token once,
keeps it in this tab's sessionStorage only, and sends it as a Bearer header."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from devtools.live import LiveServer, live_server, pause_page_clock
from tests.tokens import SECRET_KEY, TOKEN_A

# What the browser sees does not depend on the engine (tests/http covers both engines), so the
# browser tests run in the SQLite pass only.
pytestmark = pytest.mark.sqlite_only

TOKEN = TOKEN_A
STORAGE_KEY = "casesvc.apiToken"


@pytest.fixture
def server(database_url: str) -> Iterator[LiveServer]:
    with live_server(database_url, api_tokens=(TOKEN,), secret_key=SECRET_KEY) as server:
        yield server


class Tab:
    """A page in a fresh browser context (its own sessionStorage), with its API calls and
    page errors recorded."""

    def __init__(self, browser: Browser, server: LiveServer) -> None:
        self.server = server
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        pause_page_clock(self.page, server.clock.now())
        self.api: list[Request] = []
        self.errors: list[str] = []
        self.page.on("request", self._request)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on(
            "console",
            lambda m: self.errors.append(m.text) if "Content Security Policy" in m.text else None,
        )

    def _request(self, request: Request) -> None:
        if request.url.removeprefix(self.server.url).startswith("/cases"):
            self.api.append(request)

    def open(self, path: str) -> None:
        self.page.goto(self.server.url + path)

    def dialog(self) -> Any:
        return self.page.get_by_role("dialog", name="API token")

    def answer(self, token: str) -> None:
        expect(self.dialog()).to_be_visible()
        expect(self.page.get_by_label("Token", exact=True)).to_be_focused()
        self.page.get_by_label("Token", exact=True).fill(token)
        self.page.get_by_role("button", name="Use this token").click()

    def storage(self) -> dict[str, Any]:
        return dict(
            self.page.evaluate(
                """key => ({session: sessionStorage.getItem(key),
                            local: Object.keys(localStorage).length,
                            cookie: document.cookie})""",
                STORAGE_KEY,
            )
        )

    def authorizations(self) -> list[str | None]:
        return [r.headers.get("authorization") for r in self.api]


@pytest.fixture
def tabs(browser: Browser, server: LiveServer) -> Iterator[Any]:
    opened: list[Tab] = []

    def open_tab() -> Tab:
        opened.append(Tab(browser, server))
        return opened[-1]

    yield open_tab
    for tab in opened:
        tab.context.close()


def test_ui_asks_once_and_keeps_the_token_for_the_tab(tabs: Any, server: LiveServer) -> None:
    """Continue meets a 401: the UI asks for the token (again after a wrong one), creates
    exactly one case with it, and every later page of the tab uses it without asking; it
    lives in sessionStorage only."""
    tab = tabs()
    page = tab.page
    tab.open("/dashboard")
    for panel in ("Medical record", "Guidelines"):
        page.get_by_role("button", name=f"Simulate upload {panel}").click()
    page.clock.run_for(2000)
    page.get_by_role("button", name="Continue").click()

    tab.answer("not-the-token-at-all")
    expect(tab.dialog()).to_contain_text("That token was not accepted")
    assert 0 == server.count_cases()
    tab.answer(TOKEN)
    page.wait_for_url(re.compile(r"/dashboard/case/case_[0-9a-f]{24}$"))
    expect(page.locator("#case")).to_have_attribute("data-status", "submitted")

    tab.open("/dashboard/cases")
    expect(page.locator('[data-field="rows"] tr')).to_have_count(1)
    expect(tab.dialog()).to_have_count(0)

    assert 1 == server.count_cases()
    bearer = f"Bearer {TOKEN}"
    assert [None, "Bearer not-the-token-at-all", bearer, bearer, bearer] == tab.authorizations()
    assert [401, 401, 201, 200, 200] == [r.response().status for r in tab.api]  # type: ignore[union-attr]
    assert {"session": TOKEN, "local": 0, "cookie": ""} == tab.storage()
    assert [] == tab.errors

    other = tabs()  # another tab (a fresh context) holds no token: it asks again
    other.open("/dashboard/cases")
    expect(other.dialog()).to_be_visible()


def test_cancelling_shows_the_error_and_stops(tabs: Any) -> None:
    """Cancel leaves the 401 as an inline error, with no request loop and nothing stored."""
    tab = tabs()
    tab.open("/dashboard/cases")
    expect(tab.dialog()).to_be_visible()
    tab.page.get_by_role("button", name="Cancel").click()

    expect(tab.page.get_by_role("alert")).to_contain_text("needs a bearer token")
    expect(tab.dialog()).to_have_count(0)
    tab.page.wait_for_timeout(250)  # a request that should not be made would show up by now
    assert [None] == tab.authorizations()
    assert {"session": None, "local": 0, "cookie": ""} == tab.storage()
