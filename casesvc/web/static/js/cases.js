// The case list: GET /cases, newest first, with "Load more" following next_page_token.
import { listCases } from "./api.js";
import { caseUrl, el, formatDateTime, statusBadge, verdictBadge } from "./ui.js";

const PAGE_SIZE = 20;

const table = document.getElementById("cases");
const rows = document.querySelector('[data-field="rows"]');
const empty = document.querySelector('[data-field="empty"]');
const count = document.querySelector('[data-field="count"]');
const more = document.querySelector('[data-field="more"]');
const moreLabel = more.querySelector("[data-role=label]");
const moreSpinner = more.querySelector(".spinner");
const errorBox = document.querySelector('[data-field="error"]');

let nextToken = null;
let loading = false;
let shown = 0;

function cell(label, ...children) {
  return el("td", { attrs: { "data-label": label } }, ...children);
}

function row(item) {
  return el(
    "tr",
    {},
    cell(
      "Case",
      el("a", { class: "mono", text: item.case_id, attrs: { href: caseUrl(item.case_id) } }),
    ),
    cell(
      "Procedure",
      el("span", { class: "procedure", text: item.procedure_name }),
      el("span", { class: "muted small", text: `CPT ${item.cpt_codes.join(", ")}` }),
    ),
    cell("Status", statusBadge(item.status)),
    cell(
      "Determination",
      item.is_complete
        ? verdictBadge(item.is_met)
        : el("span", { class: "muted", text: "Pending" }),
    ),
    cell(
      "Created",
      el("time", {
        text: formatDateTime(item.created_at, { short: true }),
        attrs: { datetime: item.created_at },
      }),
    ),
  );
}

async function load() {
  if (loading) return;
  loading = true;
  more.disabled = true;
  moreSpinner.hidden = false;
  moreLabel.textContent = "Loading…";
  errorBox.hidden = true;
  try {
    const page = await listCases({ pageSize: PAGE_SIZE, pageToken: nextToken });
    rows.append(...page.cases.map(row));
    shown += page.cases.length;
    nextToken = page.next_page_token;
    table.hidden = shown === 0;
    empty.hidden = shown !== 0;
    count.textContent =
      shown === 0
        ? ""
        : nextToken
          ? `Showing the ${shown} most recent cases.`
          : shown === 1
            ? "Showing the only case."
            : `Showing all ${shown} cases.`;
    more.hidden = !nextToken;
  } catch (error) {
    errorBox.querySelector("[data-role=message]").textContent =
      error.status === 0 ? "casesvc could not be reached." : `casesvc answered: ${error.message}`;
    errorBox.hidden = false;
    if (shown === 0) count.textContent = "";
  } finally {
    loading = false;
    more.disabled = false;
    moreSpinner.hidden = true;
    moreLabel.textContent = "Load more";
    table.setAttribute("aria-busy", "false");
  }
}

more.addEventListener("click", load);
errorBox.querySelector("[data-role=retry]").addEventListener("click", load);
load();
