// The live case page: polls GET /cases/{id} with the ETag (a cheap 304 while nothing changed)
// until complete: as Retry-After says, and at least every 5 s while the tab is visible, so a
// fast-forward from the CLI shows within seconds.
import { getCase } from "./api.js";
import {
  el,
  formatDateTime,
  formatDuration,
  formatEventDate,
  icon,
  paragraphs,
  STATUS_LABELS,
  statusBadge,
  verdictBadge,
} from "./ui.js";

const FALLBACK_WAIT_S = 2; // when an answer carries no usable Retry-After
const VISIBLE_POLL_S = 5; // the longest wait between two polls while the tab is visible
const MAX_WAIT_S = 3600;
const MAX_FAILURES = 6; // consecutive network/server failures before live updates stop
const MAX_BACKOFF_S = 30;
const STAGES = ["submitted", "processing", "complete"];

const root = document.getElementById("case");
const caseId = root.dataset.caseId;
const field = (name) => root.querySelector(`[data-field="${name}"]`);
const connection = field("connection");
const failedBox = document.getElementById("failed");

const state = {
  document: null, // the last case document received
  etag: null,
  nextStageAt: null, // performance.now() at which the next stage is due, per Retry-After
  failures: 0,
  timer: null,
  ticker: null,
  polling: false, // a request is in flight
  stopped: false, // complete, not found, or given up after failures: no more polls
  renderedSummary: null,
  renderedSteps: false,
};

// -- polling -----------------------------------------------------------------------------

function schedule(seconds) {
  clearTimeout(state.timer);
  state.timer = setTimeout(poll, seconds * 1000);
}

async function poll() {
  if (state.polling) return;
  clearTimeout(state.timer);
  state.timer = null;
  state.polling = true;
  let answer;
  try {
    answer = await getCase(caseId, state.etag);
  } catch (error) {
    state.polling = false;
    handleError(error);
    return;
  }
  state.polling = false;
  state.failures = 0;
  connection.hidden = true;
  failedBox.hidden = true;
  state.etag = answer.etag;
  if (!answer.notModified) state.document = answer.document;
  const wait = answer.retryAfter ?? FALLBACK_WAIT_S;
  // Retry-After is whole seconds rounded up: the stage is due between wait - 1 and wait
  // seconds from now. Count down to the middle of that second, so that the page's own
  // rounding up does not add a second more.
  state.nextStageAt =
    answer.retryAfter === null ? null : performance.now() + (wait - 0.5) * 1000;
  render();
  if (state.document.status === "complete") {
    stop(); // nothing more will change: stop polling
    startTicker(); // the time since creation keeps counting, without requests
    return;
  }
  startTicker(); // display only: the countdown keeps going between polls, without requests
  const cap = document.visibilityState === "hidden" ? MAX_WAIT_S : VISIBLE_POLL_S;
  schedule(Math.min(Math.max(wait, 1), cap, MAX_WAIT_S));
}

/** Ask now (the Check now button, or the tab coming back into view). */
function checkNow() {
  if (state.stopped || state.polling) return;
  poll();
}

function stop() {
  state.stopped = true;
  clearTimeout(state.timer);
  state.timer = null;
  stopTicker();
  field("check-now").hidden = true;
}

function handleError(error) {
  if (error.status === 404) {
    showNotFound();
    return;
  }
  const transient = error.status === 0 || error.status === 429 || error.status >= 500;
  state.failures += 1;
  if (!transient || state.failures >= MAX_FAILURES) {
    stop();
    connection.hidden = true;
    failedBox.querySelector(".alert-title").textContent = transient
      ? "casesvc can't be reached."
      : "The case could not be loaded.";
    failedBox.querySelector("[data-role=message]").textContent = transient
      ? `Live updates stopped after ${state.failures} failed attempts.`
      : `casesvc answered: ${error.message}`;
    failedBox.hidden = false;
    return;
  }
  const backoff = Math.min(2 ** (state.failures - 1), MAX_BACKOFF_S);
  const wait = Math.min(Math.max(error.retryAfter ?? backoff, 1), MAX_WAIT_S);
  const problem = error.status === 0 ? "Connection lost." : `casesvc answered ${error.status}.`;
  connection.textContent = `${problem} Reconnecting in ${wait} s (attempt ${
    state.failures + 1
  } of ${MAX_FAILURES})…`;
  connection.hidden = false;
  schedule(wait);
}

function retryNow() {
  failedBox.hidden = true;
  state.failures = 0;
  state.stopped = false;
  field("check-now").hidden = false;
  poll();
}

// -- rendering ---------------------------------------------------------------------------

function render() {
  const doc = state.document;
  root.setAttribute("aria-busy", "false");
  root.dataset.status = doc.status;
  document.title = `${STATUS_LABELS[doc.status] || doc.status} · ${doc.procedure_name} · casesvc`;
  field("procedure").textContent = doc.procedure_name;
  const cpt = () => el("abbr", { text: "CPT", attrs: { title: "Current Procedural Terminology" } });
  field("cpt").replaceChildren(
    ...doc.cpt_codes.map((code) => el("li", { class: "chip" }, cpt(), ` ${code}`)),
  );
  statusBadge(doc.status, field("status-badge"));
  field("created").textContent = formatDateTime(doc.created_at);
  renderTracker(doc.status);
  renderClock();
  renderSummary(doc);
  if (doc.status === "complete" && !state.renderedSteps) renderDetermination(doc);
}

function renderTracker(status) {
  const current = STAGES.indexOf(status);
  for (const item of field("tracker").children) {
    const index = STAGES.indexOf(item.dataset.stage);
    const done = index < current || status === "complete";
    const isCurrent = index === current;
    item.classList.toggle("is-done", done);
    item.classList.toggle("is-current", isCurrent);
    if (isCurrent) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
    item.querySelector("[data-role=state]").textContent = done
      ? "Done"
      : isCurrent
        ? "In progress"
        : "Waiting";
  }
}

/**
 * What the page can know for sure: the time since the case was created (by this browser's
 * clock), and the time to the next stage (from the server's last Retry-After; none means the
 * lifecycle scheduled nothing, and a reviewer moves the case on). The review's
 * own timeline can be fast-forwarded (`casesvc advance`), so time since creation is never
 * called the case's age.
 */
function renderClock() {
  const doc = state.document;
  if (!doc) return;
  const since = (Date.now() - new Date(doc.created_at).getTime()) / 1000;
  field("since-created").textContent = `${formatDuration(since)} ago`;
  const next = field("next");
  if (doc.status === "complete") {
    next.textContent = "None, review complete";
    return;
  }
  const following = STATUS_LABELS[STAGES[STAGES.indexOf(doc.status) + 1]];
  if (state.nextStageAt === null) {
    // No Retry-After: nothing is scheduled (the manual lifecycle): a reviewer moves it on.
    next.textContent = `${following}, once a reviewer moves it on`;
    return;
  }
  const left = secondsLeft();
  next.textContent =
    left > 0 ? `${following} in ${formatDuration(left)}` : `${following}, any moment now`;
}

/** Whole seconds (rounded up) until the next stage is due. */
function secondsLeft() {
  return Math.ceil((state.nextStageAt - performance.now()) / 1000);
}

/** Redraw the clock each time one of its whole seconds changes: the countdown's, or those
 * since creation (so each changes on time, not up to a second late). */
function startTicker() {
  stopTicker();
  const since = Date.now() - new Date(state.document.created_at).getTime();
  const waits = [1000 - (((since % 1000) + 1000) % 1000)];
  if (state.nextStageAt !== null) waits.push((state.nextStageAt - performance.now()) % 1000);
  const wait = Math.min(...waits.filter((ms) => ms > 0), 1000);
  state.ticker = setTimeout(() => {
    renderClock();
    startTicker();
  }, wait);
}

function stopTicker() {
  clearTimeout(state.ticker);
  state.ticker = null;
}

function renderSummary(doc) {
  if (doc.summary === null || doc.summary === undefined) return;
  if (state.renderedSummary === doc.summary) return;
  state.renderedSummary = doc.summary;
  field("summary").replaceChildren(...paragraphs(doc.summary));
}

function outcomeDetail(doc) {
  const questions = `${doc.steps.length} guideline question${doc.steps.length === 1 ? "" : "s"}`;
  const verdict = doc.is_met ? "meets" : "does not meet";
  const criteria = "the payer's medical-necessity criteria";
  return `${questions} reviewed. The requested service ${verdict} ${criteria}.`;
}

function renderDetermination(doc) {
  state.renderedSteps = true;
  field("determination-pending").hidden = true;
  const outcome = field("outcome");
  outcome.className = `outcome ${doc.is_met ? "outcome-met" : "outcome-not-met"}`;
  outcome.replaceChildren(
    el("span", { class: "outcome-icon" }, icon(doc.is_met ? "check" : "cross")),
    el(
      "div",
      {},
      el("p", { class: "outcome-eyebrow", text: "Determination" }),
      el("p", { class: "outcome-title", text: doc.is_met ? "Criteria met" : "Criteria not met" }),
      el("p", { class: "outcome-detail", text: outcomeDetail(doc) }),
    ),
  );
  outcome.hidden = false;
  const count = doc.steps.length;
  field("steps").replaceChildren(
    ...doc.steps.map((step, index) => renderStep(step, index, count, doc.steps)),
  );
  const toggle = field("expand-all");
  toggle.hidden = doc.steps.length === 0;
  toggle.addEventListener("click", () => {
    const cards = [...field("steps").querySelectorAll("details.step")];
    const open = !cards.every((card) => card.open);
    for (const card of cards) card.open = open;
    toggle.textContent = open ? "Collapse all steps" : "Expand all steps";
  });
}

function choiceList(items, { keyed }) {
  return el(
    "ul",
    { class: "choices" },
    ...items.map((item) =>
      el(
        "li",
        { class: item.selected ? "choice is-selected" : "choice" },
        el("span", { class: "choice-mark" }, item.selected ? icon("check") : null),
        keyed ? el("span", { class: "choice-key", text: item.key }) : null,
        el("span", { class: "choice-text", text: item.text }),
        item.selected ? el("span", { class: "tag", text: keyed ? "Selected" : "Applies" }) : null,
      ),
    ),
  );
}

/** The step a step leads to, named as its heading names it ("Step 2"), not by its key. */
function nextStepText(next, steps) {
  if (next === "SUCCESS") return "End of review: leads to the requested service";
  if (next === "FAILURE") return "End of review: does not lead to the requested service";
  const index = steps.findIndex((step) => step.key === next);
  return index === -1 ? `Question ${next}` : `Step ${index + 1}`;
}

function renderStep(step, index, count, steps) {
  const body = el("div", { class: "step-body" });
  body.append(el("h3", { text: "Options" }), choiceList(step.options, { keyed: true }));
  if (step.logic && step.logic.length) {
    body.append(el("h3", { text: "Logic" }), choiceList(step.logic, { keyed: false }));
  }
  body.append(
    el(
      "dl",
      { class: "facts facts-inline" },
      el(
        "div",
        {},
        el("dt", { text: "Decision" }),
        el("dd", { class: "decision", text: step.decision }),
      ),
      el("div", {}, el("dt", { text: "Next" }), el("dd", { text: nextStepText(step.next_step, steps) })),
    ),
  );
  const reasoning = el(
    "details",
    { class: "reasoning" },
    el("summary", { text: "Reasoning" }),
    el("div", { class: "prose" }, ...paragraphs(step.reasoning)),
  );
  body.append(reasoning);
  body.append(
    el("h3", { text: `Evidence (${step.evidence.length})` }),
    el(
      "ul",
      { class: "evidence" },
      ...step.evidence.map((item) =>
        el(
          "li",
          { class: "evidence-item" },
          el("blockquote", { text: item.content }),
          el(
            "p",
            { class: "evidence-source" },
            el("span", { class: "mono", text: item.pdf_name }),
            el("span", { text: `Page ${item.page_number}` }),
            el("span", { text: formatEventDate(item.event_datetime) }),
          ),
        ),
      ),
    ),
  );
  return el(
    "li",
    {},
    el(
      "details",
      { class: "step card-inner" },
      el(
        "summary",
        {},
        el("span", { class: "step-number", text: `Step ${index + 1} of ${count}` }),
        el("span", { class: "step-question", text: step.question }),
        el(
          "span",
          { class: "step-meta" },
          el("span", { class: "pill", text: `Answer ${step.decision}` }),
          verdictBadge(step.is_met),
        ),
      ),
      body,
    ),
  );
}

function showNotFound() {
  stop();
  root.hidden = true;
  document.getElementById("not-found").hidden = false;
  document.title = "Case not found · casesvc";
}

failedBox.querySelector("[data-role=retry]").addEventListener("click", retryNow);
field("check-now").addEventListener("click", () => (failedBox.hidden ? checkNow() : retryNow()));
document.addEventListener("visibilitychange", () => {
  // Back in view: ask at once, unless failures are being backed off from.
  if (document.visibilityState === "visible" && state.failures === 0) checkNow();
});
poll();
