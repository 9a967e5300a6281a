"""The web UI under a lifecycle of a team's own: docs/lifecycle.md's example, plugged in by
import path, with a case that waits for a reviewer (no Retry-After), whom the CLI stands for.
"""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, expect

from casesvc.cli import main
from casesvc.config import ASSETS_DIR
from casesvc.determinations import Catalog
from devtools.live import live_server, pause_page_clock

pytestmark = pytest.mark.sqlite_only  # what the browser sees does not depend on the engine

NOT_MET = next(s.key for s in Catalog.load(ASSETS_DIR) if not s.is_met)


def test_the_case_page_follows_a_case_that_waits_for_a_reviewer(
    browser: Browser, database_url: str, team_review: str
) -> None:
    """Submitted with a countdown; processing, where the page says a reviewer moves it on
    (there is no Retry-After to count down); complete once `casesvc advance --to complete`
    moves it, at the page's next poll."""
    with live_server(database_url, lifecycle=team_review) as server:
        with server.service.database.connection_context():
            case_id = server.service.create(sample=NOT_MET).case_id
        context = browser.new_context(locale="en-US", timezone_id="UTC")
        page = context.new_page()
        page.set_default_timeout(10_000)
        pause_page_clock(page, server.clock.now())
        badge = page.locator('[data-field="status-badge"]')
        next_stage = page.locator('[data-field="next"]')
        path = f"/cases/{case_id}"  # what the page polls

        def tick_to_poll(seconds: float) -> Any:
            with page.expect_response(lambda r: r.url == server.url + path):
                server.clock.advance(seconds)
                page.clock.run_for(int(seconds * 1000))

        try:
            page.goto(f"{server.url}/dashboard/case/{case_id}")
            expect(badge).to_have_text("Submitted")
            expect(next_stage).to_have_text("Processing in 5 s")
            tick_to_poll(5)
            expect(badge).to_have_text("Processing")
            expect(next_stage).to_have_text("Complete, once a reviewer moves it on")
            moved = CliRunner().invoke(
                main,
                ["--database-url", database_url, "advance", case_id, "--to", "complete"],
                env={"CASESVC_LIFECYCLE": team_review},
            )
            assert 0 == moved.exit_code, moved.output
            tick_to_poll(5)  # no Retry-After: the page polls at its own pace
            expect(badge).to_have_text("Complete")
            expect(next_stage).to_have_text("None, review complete")
        finally:
            context.close()
