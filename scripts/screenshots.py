"""Refresh the web UI screenshots in docs/ (``make screenshots``).

Runs the real app on a loopback port with a fake clock, drives Debian's Chromium through
the dashboard and one case's whole lifecycle, and saves PNGs at 1280 px and 390 px.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.live import (  # noqa: E402
    START,
    LiveServer,
    launch_chromium,
    live_server,
    pause_page_clock,
)

DOCS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def tick(server: LiveServer, page: Page, seconds: float) -> None:
    """Move the server's clock and the page's timers together."""
    server.clock.advance(seconds)
    page.clock.run_for(int(seconds * 1000))


def shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    path = DOCS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    print(f"wrote {path.relative_to(ROOT)}")


def seed_history(server: LiveServer) -> None:
    """A few earlier cases, so the list page has something to list."""
    server.clock.set(START - dt.timedelta(hours=3))
    for _ in range(4):
        server.create_case()
        server.clock.advance(47 * 60)
    server.clock.set(START)


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        live_server(f"sqlite:///{tmp}/cases.db") as server,
        sync_playwright() as playwright,
    ):
        seed_history(server)
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport=DESKTOP, locale="en-US", timezone_id="UTC")
        page = context.new_page()
        pause_page_clock(page, START)

        page.goto(server.url + "/dashboard")
        shoot(page, "dashboard")
        page.get_by_role("button", name="Simulate upload Medical record").click()
        shoot(page, "dashboard-uploading")
        tick(server, page, 2)
        page.get_by_role("button", name="Simulate upload Guidelines").click()
        tick(server, page, 2)
        shoot(page, "dashboard-ready")

        page.get_by_role("button", name="Continue").click()
        page.wait_for_url("**/dashboard/case/*")
        page.get_by_text("Submitted", exact=True).first.wait_for()
        tick(server, page, 4)
        shoot(page, "case-submitted")

        tick(server, page, 8)
        page.locator("#case[data-status=processing]").wait_for()
        tick(server, page, 3)
        shoot(page, "case-processing")

        tick(server, page, 20)
        page.locator("#case[data-status=complete]").wait_for()
        first = page.locator("details.step").first
        first.locator("summary").first.click()
        first.locator("details.reasoning summary").click()
        shoot(page, "case-complete")
        case_url = page.url

        server.create_case()  # one case in each stage for the list
        server.clock.advance(12)
        server.create_case()
        server.clock.advance(3)
        page.goto(server.url + "/dashboard/cases")
        page.locator("#cases tbody tr").first.wait_for()
        shoot(page, "cases")

        phone = browser.new_context(
            viewport=PHONE, locale="en-US", timezone_id="UTC", is_mobile=True, has_touch=True
        )
        mobile = phone.new_page()
        pause_page_clock(mobile, server.clock.now())
        mobile.goto(case_url)
        mobile.locator("#case[data-status=complete]").wait_for()
        shoot(mobile, "case-complete-phone", full_page=False)
        mobile.goto(server.url + "/dashboard")
        shoot(mobile, "dashboard-phone", full_page=False)
        browser.close()


if __name__ == "__main__":
    main()
