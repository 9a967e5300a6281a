// Small DOM and formatting helpers. Case text only ever goes in through textContent.

/** Create an element: el("p", {class: "x", text: "…", attrs: {…}}, child, …). */
export function el(tag, { class: className, text, attrs } = {}, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  for (const child of children) if (child) node.append(child);
  return node;
}

const ICONS = {
  check: "M5 12.5l4.5 4.5L19 7.5",
  cross: "M6 6l12 12M18 6L6 18",
  dot: "M12 12h.01",
};

/** A decorative SVG icon (hidden from assistive technology: text always says the same). */
export function icon(name, className = "icon") {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

export const STATUS_LABELS = {
  submitted: "Submitted",
  processing: "Processing",
  complete: "Complete",
};

/** A status badge: colour and a text label, never colour alone. */
export function statusBadge(status, node = el("span")) {
  node.className = `badge badge-${STATUS_LABELS[status] ? status : "unknown"}`;
  node.replaceChildren(el("span", { class: "badge-dot", attrs: { "aria-hidden": "true" } }));
  node.append(STATUS_LABELS[status] || String(status));
  node.hidden = false;
  return node;
}

/** A met / not met badge. */
export function verdictBadge(isMet, { large = false } = {}) {
  const node = el("span", { class: `badge ${isMet ? "badge-met" : "badge-not-met"}` });
  if (large) node.classList.add("badge-large");
  node.append(icon(isMet ? "check" : "cross"), isMet ? "Met" : "Not met");
  return node;
}

/** Text with paragraph breaks: one <p> per blank-line-separated paragraph. */
export function paragraphs(text) {
  return String(text)
    .split(/\n\s*\n/)
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => el("p", { text: part }));
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const dateTimeShort = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "short",
});
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });

export function formatDateTime(iso, { short = false } = {}) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return (short ? dateTimeShort : dateTime).format(date);
}

/** A clinical event's date: recorded as a UTC instant, shown as that calendar day. */
export function formatEventDate(iso) {
  if (!iso) return "Date not recorded";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : dateOnly.format(date);
}

/** "45 s", "3 min 05 s", "2 h 04 min", "3 d 4 h". */
export function formatDuration(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${String(m % 60).padStart(2, "0")} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function caseUrl(caseId) {
  return `/dashboard/case/${encodeURIComponent(caseId)}`;
}
