// The API token, when the server requires one (CASESVC_API_TOKENS): asked for once, kept in
// this tab's sessionStorage only (never localStorage, never a cookie), sent as a Bearer header.
import { el } from "./ui.js";

const KEY = "casesvc.apiToken";

/** The token this tab holds, or null. */
export function storedToken() {
  try {
    return window.sessionStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: the user is asked again when needed
  }
}

export function forgetToken() {
  try {
    window.sessionStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
}

function keep(token) {
  try {
    window.sessionStorage.setItem(KEY, token);
  } catch {
    // storage disabled: the token lives for this page only
  }
}

let asking = null; // one dialog at a time, whatever number of requests need the token

/**
 * Ask the user for the API token. Resolves to the token (also kept for this tab), or to
 * null when the user cancels. `rejected` says the previous token was refused.
 */
export function askForToken({ rejected = false } = {}) {
  asking ??= showDialog(rejected).finally(() => {
    asking = null;
  });
  return asking;
}

function showDialog(rejected) {
  const input = el("input", {
    class: "token-input",
    attrs: {
      id: "api-token",
      name: "token",
      type: "password",
      autocomplete: "off",
      spellcheck: "false",
      required: "",
      "aria-describedby": "api-token-help",
    },
  });
  const submit = el("button", {
    class: "button button-primary",
    text: "Use this token",
    attrs: { type: "submit", value: "ok" },
  });
  const cancel = el("button", { class: "button", text: "Cancel", attrs: { type: "button" } });
  const help = rejected
    ? "That token was not accepted. Check it and try again."
    : "This casesvc server requires an API token. It is kept for this browser tab only.";
  const form = el(
    "form",
    { class: "token-form", attrs: { method: "dialog" } },
    el("h2", { text: "API token", attrs: { id: "api-token-title" } }),
    el("p", {
      class: rejected ? "token-help token-help-error" : "token-help",
      text: help,
      attrs: { id: "api-token-help" },
    }),
    el("label", { text: "Token", attrs: { for: "api-token" } }),
    input,
    el("div", { class: "token-actions" }, cancel, submit),
  );
  const dialog = el(
    "dialog",
    { class: "token-dialog", attrs: { "aria-labelledby": "api-token-title" } },
    form,
  );
  cancel.addEventListener("click", () => dialog.close("cancel"));
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const token = dialog.returnValue === "ok" ? input.value.trim() : "";
      dialog.remove();
      if (token) keep(token);
      resolve(token || null);
    });
    dialog.showModal();
    input.focus();
  });
}
