"""The web UI in a real browser: Debian's Chromium, driven by Playwright, against the real app.

Time is controlled on both sides. The server runs with a ``FakeClock`` and the page's
timers and ``Date`` run on Playwright's clock; ``Session.tick`` moves both by the same
amount. The page's code is the production code: it waits exactly what ``Retry-After``
says, and the test decides when that much time has passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, expect

from casesvc.lifecycle import Status
from casesvc.representation import document
from casesvc.schemas import CaseSchema
from casesvc.web import CONTENT_SECURITY_POLICY
from devtools.live import LiveServer, live_server, pause_page_clock

# What the browser sees does not depend on the engine (tests/http covers both engines), so the
# browser tests run in the SQLite pass only.
pytestmark = pytest.mark.sqlite_only

PAGE_SIZE = 20  # cases.js asks for this many per page
MAX_FAILURES = 6  # case.js gives up live updates after this many failed polls in a row
SETTLE_MS = 250  # real time for a request that should NOT happen to show up if it did


class Session:
    """One browser page on one live server, with its console and requests recorded."""

    def __init__(self, server: LiveServer, page: Page) -> None:
        self.server = server
        self.page = page
        self.console_errors: list[str] = []
        self.requests: list[Request] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(f"pageerror: {error}"))
        page.on("request", lambda request: self.requests.append(request))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def open(self, path: str) -> None:
        self.page.goto(self.server.url + path)

    def tick(self, seconds: float) -> None:
        """Let ``seconds`` pass for the server and for the page's timers alike."""
        self.server.clock.advance(seconds)
        self.page.clock.run_for(int(seconds * 1000))

    def tick_to_poll(self, seconds: float, path: str) -> None:
        """``tick`` to the instant the page polls ``path``, and wait for that answer (so that
        it arrives at that instant of the page's time, not later in a longer tick)."""
        with self.page.expect_response(lambda r: r.url == self.server.url + path):
            self.tick(seconds)

    def api_calls(self, method: str, pattern: str) -> list[Request]:
        return [
            r
            for r in self.requests
            if r.method == method and re.fullmatch(pattern, r.url.removeprefix(self.server.url))
        ]

    def settle(self) -> None:
        """Give a request that should not be made a moment to show up if it were."""
        self.page.wait_for_timeout(SETTLE_MS)


@pytest.fixture
def session(browser: Browser, database_url: str) -> Iterator[Session]:
    with live_server(database_url) as server:
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC"
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        pause_page_clock(page, server.clock.now())
        try:
            yield Session(server, page)
        finally:
            context.close()


def case_document(server: LiveServer, case_id: str) -> dict[str, Any]:
    """The case as GET /cases/{id} sends it now (straight from the service)."""
    with server.service.database.connection_context():
        return dict(CaseSchema().dump(document(server.service.get(case_id))))


def upload_button(page: Page, panel: str) -> Any:
    return page.get_by_role("button", name=f"Simulate upload {panel}")


def continue_button(page: Page) -> Any:
    return page.get_by_role("button", name=re.compile(r"^(Continue|Creating case)"))


# -- the dashboard -------------------------------------------------------------------------


def test_continue_waits_for_both_uploads_then_creates_exactly_one_case(session: Session) -> None:
    """Continue is disabled until both uploads; a double click creates one case and opens it."""
    page = session.page
    session.open("/dashboard")
    expect(continue_button(page)).to_be_disabled()

    upload_button(page, "Medical record").click()
    record = page.get_by_role("region", name="Medical record")
    expect(record.get_by_role("status")).to_have_text("Uploading medical-record.pdf…")
    expect(record.locator(".spinner")).to_be_visible()
    session.tick(2)
    expect(record.get_by_role("status")).to_have_text("medical-record.pdf uploaded")
    expect(record.locator(".done-mark")).to_be_visible()
    expect(continue_button(page)).to_be_disabled()

    upload_button(page, "Guidelines").click()
    session.tick(2)
    expect(continue_button(page)).to_be_enabled()
    assert 0 == session.server.count_cases()

    continue_button(page).dblclick()
    page.wait_for_url(re.compile(r"/dashboard/case/case_[0-9a-f]{24}$"))
    expect(page.locator("#case")).to_have_attribute("data-status", "submitted")

    assert 1 == session.server.count_cases()
    assert 1 == len(session.api_calls("POST", "/cases"))
    case_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text(
        case_document(session.server, case_id)["procedure_name"]
    )
    assert [] == session.console_errors


def test_failed_create_shows_an_error_and_retry_creates_one_case(session: Session) -> None:
    """A POST that fails, even after the server committed it, shows an inline error; Try
    again then lands on exactly one case."""
    page = session.page
    failures = iter(["network", "lost", "server"])

    def flaky(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
        elif (failure := next(failures, None)) == "network":
            route.abort("connectionfailed")
        elif failure == "lost":  # the server creates the case, the answer never arrives
            route.fetch()
            route.abort("connectionreset")
        elif failure == "server":
            body = {"code": 503, "status": "Service Unavailable", "message": "Try later."}
            route.fulfill(status=503, json=body)
        else:
            route.continue_()

    page.route(session.server.url + "/cases", flaky)
    session.open("/dashboard")
    upload_button(page, "Medical record").click()
    upload_button(page, "Guidelines").click()
    session.tick(2)

    continue_button(page).click()
    alert = page.locator("#create-error")
    expect(alert).to_contain_text("casesvc could not be reached")
    expect(page.get_by_role("button", name="Try again")).to_be_focused()
    expect(continue_button(page)).to_be_enabled()
    assert 0 == session.server.count_cases()

    continue_button(page).click()
    expect(page.get_by_role("button", name="Try again")).to_be_focused()
    expect(alert).to_contain_text("casesvc could not be reached")
    assert 1 == session.server.count_cases()  # committed, though the page never heard
    with session.server.service.database.connection_context():
        (committed,) = session.server.service.list_cases().cases

    page.get_by_role("button", name="Try again").click()
    expect(alert).to_contain_text("casesvc answered: Try later.")

    page.get_by_role("button", name="Try again").click()
    page.wait_for_url(re.compile(r"/dashboard/case/case_"))
    posts = session.api_calls("POST", "/cases")
    assert (1, 4) == (session.server.count_cases(), len(posts))
    assert committed.case_id == page.url.rsplit("/", 1)[1]
    keys = {post.headers.get("idempotency-key") for post in posts}
    assert 1 == len(keys)
    assert re.fullmatch(r"[0-9a-f-]{36}", keys.pop() or "")


def test_dashboard_works_from_the_keyboard(session: Session) -> None:
    """Both uploads and Continue can be reached and pressed with Tab and Enter alone."""
    page = session.page
    session.open("/dashboard")

    def tab_to(target: Any) -> None:
        for _ in range(20):
            page.keyboard.press("Tab")
            if target.evaluate("element => element === document.activeElement"):
                return
        raise AssertionError(f"Tab never reached {target}")

    tab_to(upload_button(page, "Medical record"))
    page.keyboard.press("Enter")
    tab_to(upload_button(page, "Guidelines"))
    page.keyboard.press("Enter")
    session.tick(2)
    tab_to(continue_button(page))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dashboard/case/case_"))
    assert 1 == session.server.count_cases()


# -- the case page ------------------------------------------------------------------------


def stage_states(page: Page) -> dict[str, str]:
    items = page.locator("[data-field=tracker] > li")
    return {
        items.nth(i).get_attribute("data-stage") or "": items.nth(i)
        .locator(".tracker-state")
        .inner_text()
        for i in range(items.count())
    }


def test_case_page_follows_the_lifecycle_and_stops_polling_at_complete(session: Session) -> None:
    """The tracker moves through the stages, polled every 5 s (or sooner, as Retry-After
    says) with the ETag; polling stops at complete."""
    page = session.page
    case_id = session.server.create_case()
    gets = f"/cases/{case_id}"
    session.open(f"/dashboard/case/{case_id}")
    submitted = case_document(session.server, case_id)

    # Submitted: procedure and CPT codes at once, no summary yet.
    expect(page.locator("#case")).to_have_attribute("data-status", "submitted")
    expect(page.get_by_role("heading", level=1)).to_have_text(submitted["procedure_name"])
    expect(page.locator("[data-field=cpt] li")).to_have_count(len(submitted["cpt_codes"]))
    expect(page.locator("[data-field=status-badge]")).to_have_text("Submitted")
    expect(page.locator("[aria-current=step]")).to_have_attribute("data-stage", "submitted")
    expect(page.locator("[data-field=since-created]")).to_have_text("0 s ago")
    expect(page.locator("[data-field=next]")).to_have_text("Processing in 10 s")
    expect(page.locator("[data-field=summary]")).to_contain_text("appears once processing starts")
    assert {"submitted": "In progress", "processing": "Waiting", "complete": "Waiting"} == (
        stage_states(page)
    )

    # An unchanged case answers 304 to the ETag the page sends back, 5 s on.
    session.server.clock.advance(5)
    with page.expect_response(lambda r: r.url.endswith(gets)) as answer:
        page.clock.run_for(5_000)
    assert 304 == answer.value.status
    assert answer.value.request.headers["if-none-match"] == answer.value.headers["etag"]
    session.tick(4)
    expect(page.locator("[data-field=next]")).to_have_text("Processing in 1 s")
    expect(page.locator("[data-field=since-created]")).to_have_text("9 s ago")
    session.settle()
    assert 2 == len(session.api_calls("GET", gets))
    session.tick(1)
    expect(page.locator("#case")).to_have_attribute("data-status", "processing")
    processing = case_document(session.server, case_id)
    summary = page.locator("[data-field=summary] p")
    expect(summary).to_have_count(1)
    expect(summary).to_have_text(processing["summary"])
    expect(page.locator("[data-field=status-badge]")).to_have_text("Processing")
    assert {"submitted": "Done", "processing": "In progress", "complete": "Waiting"} == (
        stage_states(page)
    )
    expect(page.locator("[data-field=next]")).to_have_text("Complete in 20 s")
    expect(page.locator("[data-field=steps] > li")).to_have_count(0)
    for _ in range(3):
        session.tick_to_poll(5, gets)
    session.tick(4)
    expect(page.locator("[data-field=next]")).to_have_text("Complete in 1 s")
    expect(page.locator("[data-field=status-badge]")).to_have_text("Processing")

    # Complete: the determination, then stop.
    session.tick(1)
    expect(page.locator("#case")).to_have_attribute("data-status", "complete")
    complete = case_document(session.server, case_id)
    assert {"submitted": "Done", "processing": "Done", "complete": "Done"} == stage_states(page)
    outcome = page.get_by_role("region", name="Determination", exact=True)
    expect(outcome).to_contain_text("Criteria met" if complete["is_met"] else "Criteria not met")
    expect(page.locator("[data-field=next]")).to_have_text("None, review complete")
    expect(page.get_by_role("button", name="Check now")).to_be_hidden()
    requests_at_complete = len(session.api_calls("GET", gets))
    assert 7 == requests_at_complete  # at 0, 5, 10, 15, 20, 25 and 30 s
    session.tick(600)
    session.settle()
    assert requests_at_complete == len(session.api_calls("GET", gets))
    expect(page.locator("[data-field=since-created]")).to_have_text("10 min 30 s ago")
    assert [] == session.console_errors


def facts(page: Page) -> dict[str, str]:
    """The case page's facts list, term to value."""
    terms = page.locator(".facts:not(.facts-inline) dt").all_text_contents()
    values = page.locator(".facts:not(.facts-inline) dd").all_text_contents()
    return dict(zip(terms, values, strict=True))


def advance(server: LiveServer, case_id: str, to: Status) -> None:
    """Fast-forward a case as `casesvc advance CASE_ID --to STAGE` does."""
    with server.service.database.connection_context():
        server.service.advance(case_id, to=to)


def test_a_fast_forward_shows_within_5_s_and_the_page_never_contradicts_the_cli(
    session: Session,
) -> None:
    """A case fast-forwarded to complete (as the CLI does) while its page is open shows
    within 5 s, and the page gives no age the CLI would contradict: only the time since
    creation, named so."""
    page = session.page
    case_id = session.server.create_case()
    session.open(f"/dashboard/case/{case_id}")
    expect(page.locator("#case")).to_have_attribute("data-status", "submitted")
    session.tick(2)

    advance(session.server, case_id, Status.COMPLETE)
    session.tick(3)

    expect(page.locator("#case")).to_have_attribute("data-status", "complete")
    expect(page.locator("[data-field=next]")).to_have_text("None, review complete")
    assert {
        "Case ID": case_id,
        "Created": "Mar 2, 2026, 2:30:00 PM",
        "Since created": "5 s ago",
        "Next stage": "None, review complete",
    } == facts(page)
    assert 0 == page.get_by_text(re.compile(r"\bage\b", re.IGNORECASE)).count()


def test_check_now_asks_at_once(session: Session) -> None:
    """Check now fetches the case at once, between two polls."""
    page = session.page
    case_id = session.server.create_case()
    session.open(f"/dashboard/case/{case_id}")
    expect(page.locator("#case")).to_have_attribute("data-status", "submitted")

    advance(session.server, case_id, Status.PROCESSING)
    page.get_by_role("button", name="Check now").click()

    expect(page.locator("#case")).to_have_attribute("data-status", "processing")
    assert 2 == len(session.api_calls("GET", f"/cases/{case_id}"))


def set_visibility(page: Page, state: str) -> None:
    """Make the page believe its tab was hidden or shown."""
    page.evaluate(
        """(state) => {
            const hidden = state === "hidden";
            Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
            Object.defineProperty(document, "hidden", {value: hidden, configurable: true});
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


def test_a_hidden_tab_polls_as_retry_after_says_and_asks_at_once_when_shown(
    session: Session,
) -> None:
    """Hidden, the page waits the whole Retry-After; shown again, it asks at once."""
    page = session.page
    case_id = session.server.create_case()
    gets = f"/cases/{case_id}"
    session.open(f"/dashboard/case/{case_id}")
    expect(page.locator("#case")).to_have_attribute("data-status", "submitted")
    set_visibility(page, "hidden")
    session.tick_to_poll(5, gets)  # due while visible
    session.tick_to_poll(5, gets)  # processing: Retry-After 20
    expect(page.locator("#case")).to_have_attribute("data-status", "processing")

    session.tick(5)
    session.settle()
    assert 3 == len(session.api_calls("GET", gets))
    advance(session.server, case_id, Status.COMPLETE)
    set_visibility(page, "visible")

    expect(page.locator("#case")).to_have_attribute("data-status", "complete")
    assert 4 == len(session.api_calls("GET", gets))


def test_the_countdown_reaches_0_when_the_status_changes(session: Session) -> None:
    """With an answer that arrives half a second after it was asked for, "in N s" still
    counts whole seconds to the change (no second added by rounding up twice) and reaches
    0 at the instant the status changes."""
    page = session.page
    case_id = session.server.create_case()
    path = f"/cases/{case_id}"
    gets = session.server.url + path
    held: list[Any] = []
    session.open(f"/dashboard/case/{case_id}")
    expect(page.locator("#case")).to_have_attribute("data-status", "submitted")
    session.tick_to_poll(5, path)
    session.tick(4)
    page.route(gets, lambda route: held.append(route))

    with page.expect_request(gets):
        session.tick(1)  # the poll due at 10 s leaves now; its answer comes 0.5 s later
    while not held:
        page.wait_for_timeout(10)
    session.tick(0.5)
    held.pop().continue_()
    page.unroute(gets)

    expect(page.locator("#case")).to_have_attribute("data-status", "processing")
    next_stage = page.locator("[data-field=next]")
    expect(next_stage).to_have_text("Complete in 20 s")  # 19.5 s to go
    session.tick(0.5)
    expect(next_stage).to_have_text("Complete in 19 s")  # at 11 s
    session.tick_to_poll(4.5, path)  # the page polls every 5 s: at 15.5, 20.5 and 25.5 s
    session.tick_to_poll(5, path)
    session.tick_to_poll(5, path)
    session.tick(3.5)
    expect(next_stage).to_have_text("Complete in 1 s")  # at 29 s
    session.tick(1)
    expect(next_stage).to_have_text(re.compile(r"^(Complete, any moment now|None, .*)$"))
    assert "complete" == case_document(session.server, case_id)["status"]


def test_complete_case_shows_every_step_with_the_right_counts(session: Session) -> None:
    """Each step is a collapsed card with its options, logic, decision, reasoning and evidence."""
    page = session.page
    case_id = session.server.create_case()
    session.server.clock.advance(60)
    doc = case_document(session.server, case_id)
    session.open(f"/dashboard/case/{case_id}")

    cards = page.locator("details.step")
    expect(cards).to_have_count(len(doc["steps"]))
    keys = [step["key"] for step in doc["steps"]]
    for index, step in enumerate(doc["steps"]):
        card = cards.nth(index)
        assert card.get_attribute("open") is None, "steps start collapsed"
        card.locator("summary").first.click()
        lists = card.locator("ul.choices")
        options, logic = lists.nth(0), lists.nth(1)
        expect(options.locator("li")).to_have_count(len(step["options"]))
        expect(options.locator("li.is-selected")).to_have_count(
            sum(o["selected"] for o in step["options"])
        )
        expect(options.locator("li.is-selected .tag")).to_have_text(
            ["Selected"] * sum(o["selected"] for o in step["options"])
        )
        expect(lists).to_have_count(2 if step.get("logic") else 1)
        if step.get("logic"):
            expect(logic.locator("li")).to_have_count(len(step["logic"]))
            expect(logic.locator("li.is-selected")).to_have_count(
                sum(item["selected"] for item in step["logic"])
            )
        expect(card.locator(".decision")).to_have_text(step["decision"])
        if step["next_step"] in keys:  # named as the headings name steps, counting from 1
            expect(card.locator(".facts-inline dd").nth(1)).to_have_text(
                f"Step {keys.index(step['next_step']) + 1}"
            )
            expect(card.locator(".step-number")).to_have_text(f"Step {index + 1} of {len(keys)}")
        expect(card.locator(".step-meta .badge")).to_have_text(
            "Met" if step["is_met"] else "Not met"
        )

        reasoning = card.locator("details.reasoning")
        assert reasoning.get_attribute("open") is None, "reasoning starts collapsed"
        reasoning.locator("summary").click()
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", step["reasoning"]) if p.strip()]
        expect(reasoning.locator("p")).to_have_text(paragraphs)

        evidence = card.locator(".evidence-item")
        expect(evidence).to_have_count(len(step["evidence"]))
        first = step["evidence"][0]
        expect(evidence.first.locator("blockquote")).to_have_text(first["content"])
        expect(evidence.first.locator(".evidence-source")).to_contain_text(first["pdf_name"])
        expect(evidence.first.locator(".evidence-source")).to_contain_text(
            f"Page {first['page_number']}"
        )
    assert 1 == len(session.api_calls("GET", f"/cases/{case_id}"))
    assert [] == session.console_errors


def test_case_text_is_inserted_as_text(session: Session) -> None:
    """Markup in case text shows literally and never runs (the page uses textContent)."""
    page = session.page
    case_id = session.server.create_case()
    session.server.clock.advance(60)
    doc = case_document(session.server, case_id)
    hostile = '<img src=x onerror="window.pwned=1">Knee <b>bold</b>'
    doc["procedure_name"] = hostile
    doc["steps"][0]["question"] = hostile

    page.route(f"{session.server.url}/cases/{case_id}", lambda route: route.fulfill(json=doc))
    session.open(f"/dashboard/case/{case_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(hostile)
    expect(page.locator(".step-question").first).to_have_text(hostile)
    assert 0 == page.locator("#case img, #case b").count()
    assert page.evaluate("() => window.pwned") is None


def test_network_errors_reconnect_with_backoff_then_stop(session: Session) -> None:
    """Lost connections retry with backoff and a visible note, give up, and Try again recovers."""
    page = session.page
    case_id = session.server.create_case()
    gets = f"/cases/{case_id}"
    session.open(f"/dashboard/case/{case_id}")
    expect(page.locator("#case")).to_have_attribute("data-status", "submitted")

    page.route(session.server.url + gets, lambda route: route.abort("connectionrefused"))
    session.tick(5)
    note = page.locator("[data-field=connection]")
    for attempt, backoff in enumerate([1, 2, 4, 8, 16], start=2):
        expect(note).to_have_text(
            f"Connection lost. Reconnecting in {backoff} s (attempt {attempt} of {MAX_FAILURES})…"
        )
        session.tick(backoff)
    failed = page.locator("#failed")
    expect(failed).to_contain_text(f"stopped after {MAX_FAILURES} failed attempts")
    expect(note).to_be_hidden()
    assert 1 + MAX_FAILURES == len(session.api_calls("GET", gets))

    session.tick(600)  # it never loops forever
    session.settle()
    assert 1 + MAX_FAILURES == len(session.api_calls("GET", gets))

    page.unroute(session.server.url + gets)
    page.get_by_role("button", name="Try again").click()  # 41 s on: the case is complete
    expect(page.locator("#case")).to_have_attribute("data-status", "complete")
    expect(failed).to_be_hidden()
    assert all("ERR_CONNECTION_REFUSED" in e for e in session.console_errors)


def test_server_errors_honour_their_retry_after(session: Session) -> None:
    """A 503 with Retry-After is retried after exactly that long, and the page recovers."""
    page = session.page
    case_id = session.server.create_case()
    gets = f"/cases/{case_id}"
    session.open(f"/dashboard/case/{case_id}")
    expect(page.locator("#case")).to_have_attribute("data-status", "submitted")

    body = {"code": 503, "status": "Service Unavailable", "message": "Restarting."}
    page.route(
        session.server.url + gets,
        lambda route: route.fulfill(status=503, json=body, headers={"Retry-After": "5"}),
        times=1,
    )
    session.tick(5)
    note = page.locator("[data-field=connection]")
    expect(note).to_have_text("casesvc answered 503. Reconnecting in 5 s (attempt 2 of 6)…")
    session.tick(4)
    session.settle()
    assert 2 == len(session.api_calls("GET", gets))
    session.tick(1)
    expect(page.locator("#case")).to_have_attribute("data-status", "processing")
    expect(note).to_be_hidden()
    assert 3 == len(session.api_calls("GET", gets))


def test_unknown_case_shows_not_found_and_stops(session: Session) -> None:
    """An id the API does not know gets a friendly not-found state, asked for once."""
    page = session.page
    case_id = "case_000000000000000000000000"
    session.open(f"/dashboard/case/{case_id}")
    expect(page.get_by_role("heading", name="Case not found")).to_be_visible()
    expect(page.locator("#not-found")).to_contain_text(case_id)
    expect(page.locator("#case")).to_be_hidden()
    expect(page.get_by_role("link", name="See all cases")).to_have_attribute(
        "href", "/dashboard/cases"
    )
    session.tick(120)
    session.settle()
    assert 1 == len(session.api_calls("GET", f"/cases/{case_id}"))
    # The only console line is Chromium reporting the API's 404 itself.
    assert all("404" in e for e in session.console_errors)


# -- the list page ------------------------------------------------------------------------


def test_list_page_shows_newest_first_and_loads_more(session: Session) -> None:
    """The list shows a page of cases, newest first, and Load more follows next_page_token."""
    page = session.page
    created = []
    for _ in range(PAGE_SIZE + 5):
        created.append(session.server.create_case())
        session.server.clock.advance(2)
    newest_first = created[::-1]
    session.open("/dashboard/cases")

    rows = page.locator("#cases tbody tr")
    expect(rows).to_have_count(PAGE_SIZE)
    more = page.get_by_role("button", name="Load more")
    expect(more).to_be_visible()
    expect(page.locator("[data-field=count]")).to_have_text(
        f"Showing the {PAGE_SIZE} most recent cases."
    )
    more.click()
    expect(rows).to_have_count(PAGE_SIZE + 5)
    expect(more).to_be_hidden()
    expect(page.locator("[data-field=count]")).to_have_text(f"Showing all {PAGE_SIZE + 5} cases.")

    links = rows.locator("td[data-label=Case] a")
    assert newest_first == links.all_inner_texts()
    assert [f"/dashboard/case/{c}" for c in newest_first] == [
        links.nth(i).get_attribute("href") for i in range(links.count())
    ]
    badges = rows.locator("td[data-label=Status] .badge").all_inner_texts()
    # Two seconds apart, the newest 2 s old: ages 2-8 s, 10-28 s, then 30 s and over.
    assert ["Submitted"] * 4 + ["Processing"] * 10 + ["Complete"] * 11 == badges
    assert 2 == len(session.api_calls("GET", r"/cases\?.*"))
    assert [] == session.console_errors


def test_list_page_counts_a_single_case_in_words(session: Session) -> None:
    """One case is counted as the only one (it read "Showing all 1 case.")."""
    session.server.create_case()
    session.open("/dashboard/cases")

    expect(session.page.locator("#cases tbody tr")).to_have_count(1)
    expect(session.page.locator("[data-field=count]")).to_have_text("Showing the only case.")


def test_list_page_empty_state(session: Session) -> None:
    """With no cases the list says so and links to the dashboard."""
    session.open("/dashboard/cases")
    expect(session.page.get_by_role("heading", name="No cases yet")).to_be_visible()
    expect(session.page.get_by_role("button", name="Load more")).to_be_hidden()


# -- policy and layout ----------------------------------------------------------------------


def test_csp_is_enforced_and_pages_log_no_errors(session: Session) -> None:
    """Every page answers with the CSP, loads cleanly, and the browser blocks inline script."""
    page = session.page
    case_id = session.server.create_case()
    for path in ("/dashboard", "/dashboard/cases", f"/dashboard/case/{case_id}"):
        response = page.goto(session.server.url + path)
        assert response is not None
        assert CONTENT_SECURITY_POLICY == response.headers["content-security-policy"]
    expect(page.locator("#case")).to_have_attribute("data-status", "submitted")
    assert [] == session.console_errors

    page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.inlineRan = true";
            document.body.append(s);
        }"""
    )
    assert page.evaluate("() => window.inlineRan") is None
    assert any("Content Security Policy" in e for e in session.console_errors)


@pytest.mark.parametrize("width", [390, 1280])
def test_pages_fit_the_width(session: Session, width: int) -> None:
    """At 390 px and 1280 px wide nothing scrolls sideways, even with every step open."""
    page = session.page
    page.set_viewport_size({"width": width, "height": 800})
    case_id = session.server.create_case()
    session.server.create_case()
    session.server.clock.advance(60)
    for path in ("/dashboard", "/dashboard/cases", f"/dashboard/case/{case_id}"):
        session.open(path)
        if "case/" in path:
            page.get_by_role("button", name="Expand all steps").click()
            for summary in page.locator("details.reasoning summary").all():
                summary.click()
        else:
            page.locator("main h1").first.wait_for()
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert 0 == overflow, path
    assert [] == session.console_errors


# -- the API docs ---------------------------------------------------------------------------


@pytest.fixture
def docs(browser: Browser, database_url: str) -> Iterator[Session]:
    """/docs in a page on real time (Swagger UI's own timers must run)."""
    with live_server(database_url) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield Session(server, page)
        finally:
            context.close()


def test_docs_try_it_out_creates_a_new_case_each_time(docs: Session) -> None:
    """Two Try-it-out executions of POST /cases on /docs create two different cases."""
    page = docs.page
    docs.open("/docs")
    operation = page.locator("#operations-cases-createCase")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    created = []
    for _ in range(2):
        with page.expect_response(
            lambda r: r.request.method == "POST" and r.url == docs.server.url + "/cases"
        ) as answer:
            operation.get_by_role("button", name="Execute").click()
        created.append((answer.value.status, answer.value.json()["case_id"]))
        assert answer.value.headers.get("idempotent-replayed") is None

    assert [201, 201] == [status for status, _ in created]
    assert 2 == len({case_id for _, case_id in created})
    assert 2 == docs.server.count_cases()


def test_docs_link_to_the_dashboard_show_no_locks_and_log_no_errors(docs: Session) -> None:
    """/docs links back to the dashboard, has no Authorize button or lock icons without
    API tokens, and the browser finds its icon (no 404 for /favicon.ico)."""
    page = docs.page
    failed = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    docs.open("/docs")
    expect(page.locator("#operations-cases-createCase")).to_be_visible()
    expect(page.locator(".opblock")).to_have_count(6)

    assert 0 == page.locator(".btn.authorize, .authorization__btn").count()
    favicon = page.request.get(docs.server.url + "/favicon.ico")
    assert (200, "image/svg+xml") == (favicon.status, favicon.headers["content-type"][:13])
    page.get_by_role("link", name="casesvc dashboard").click()
    page.wait_for_url(docs.server.url + "/dashboard")
    assert ([], []) == (failed, docs.console_errors)
