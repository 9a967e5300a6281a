// The dashboard: two simulated uploads, then Continue creates exactly one case.
import { createCase } from "./api.js";
import { caseUrl, el, icon } from "./ui.js";

const UPLOAD_MS = 1200; // how long a simulated upload "takes"

const panels = [...document.querySelectorAll("[data-upload]")];
const continueButton = document.getElementById("continue");
const continueLabel = continueButton.querySelector("[data-role=label]");
const continueSpinner = continueButton.querySelector(".spinner");
const hint = document.querySelector("[data-role=hint]");
const errorBox = document.getElementById("create-error");
const retryButton = errorBox.querySelector("[data-role=retry]");

let creating = false; // one POST at a time: a double click never creates two cases
// One key per case to create, sent with every try: a retry after a lost answer gets back
// the case the server already made. A new key only once a case was created.
let idempotencyKey = null;

function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID needs a secure context (HTTPS or loopback); getRandomValues works anywhere.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function setPanel(panel, state) {
  panel.dataset.state = state;
  const button = panel.querySelector("[data-role=upload]");
  const label = button.querySelector("[data-role=label]");
  const status = panel.querySelector("[data-role=status]");
  const filename = panel.dataset.filename;
  if (state === "idle") {
    button.disabled = false;
    label.textContent = "Simulate upload";
    status.replaceChildren("No file uploaded yet.");
  } else if (state === "uploading") {
    button.disabled = true;
    label.textContent = "Uploading…";
    status.replaceChildren(
      el("span", { class: "spinner", attrs: { "aria-hidden": "true" } }),
      `Uploading ${filename}…`,
    );
  } else {
    button.disabled = true;
    label.textContent = "Uploaded";
    status.replaceChildren(
      el("span", { class: "done-mark" }, icon("check")),
      el("span", { class: "filename", text: filename }),
      " uploaded",
    );
  }
  refreshContinue();
}

function refreshContinue() {
  const done = panels.filter((p) => p.dataset.state === "done").length;
  continueButton.disabled = creating || done < panels.length;
  hint.textContent =
    done < panels.length
      ? `Upload both documents to continue (${done} of ${panels.length} done).`
      : "Both documents are uploaded. Continue to create the case.";
}

function setCreating(value) {
  creating = value;
  continueButton.setAttribute("aria-busy", String(value));
  continueSpinner.hidden = !value;
  continueLabel.textContent = value ? "Creating case…" : "Continue";
  retryButton.disabled = value;
  refreshContinue();
}

async function submit() {
  if (creating || continueButton.disabled) return;
  setCreating(true);
  errorBox.hidden = true;
  idempotencyKey ??= newIdempotencyKey();
  try {
    const created = await createCase(idempotencyKey);
    idempotencyKey = null; // created: the next Continue (back on this page) is a new case
    window.location.assign(caseUrl(created.case_id)); // stays busy while the page changes
  } catch (error) {
    setCreating(false);
    errorBox.querySelector("[data-role=message]").textContent =
      error.status === 0
        ? "casesvc could not be reached. Check your connection, then try again."
        : `casesvc answered: ${error.message}`;
    errorBox.hidden = false;
    retryButton.focus();
  }
}

function reset() {
  creating = false;
  errorBox.hidden = true;
  for (const panel of panels) setPanel(panel, "idle");
  setCreating(false);
}

for (const panel of panels) {
  panel.querySelector("[data-role=upload]").addEventListener("click", () => {
    if (panel.dataset.state !== "idle") return;
    setPanel(panel, "uploading");
    setTimeout(() => setPanel(panel, "done"), UPLOAD_MS);
  });
}
continueButton.addEventListener("click", submit);
retryButton.addEventListener("click", submit);
// Back from a case page (back/forward cache): a new case starts from fresh uploads.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) reset();
});
reset();
