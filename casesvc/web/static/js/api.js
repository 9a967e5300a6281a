// The public casesvc JSON API, as any client would use it. No private endpoints.
import { askForToken, forgetToken, storedToken } from "./auth.js";

const MAX_TOKEN_PROMPTS = 3; // then the 401 stands (the user can reload to try again)

/** An HTTP answer that was not a success; `status` is 0 when the network failed. */
export class ApiError extends Error {
  constructor(status, message, retryAfter = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** Seconds from a Retry-After header (delta-seconds form), or null when absent or unusable. */
export function retryAfterSeconds(response) {
  const raw = response.headers.get("Retry-After");
  if (raw === null || !/^\s*\d+\s*$/.test(raw)) return null;
  return Number.parseInt(raw, 10);
}

async function send(url, options = {}) {
  for (let prompts = 0; ; prompts += 1) {
    const token = storedToken();
    const response = await fetchOnce(url, options, token);
    // A server with CASESVC_API_TOKENS answers 401 without a valid token, before doing
    // anything (so resending even a POST creates nothing twice): ask for a token (once per
    // tab: it is kept in sessionStorage), then send the same request again.
    if (response.status === 401 && prompts < MAX_TOKEN_PROMPTS) {
      if (token) forgetToken();
      if (await askForToken({ rejected: Boolean(token) })) continue;
    }
    return checked(response);
  }
}

async function fetchOnce(url, options, token) {
  const auth = token ? { Authorization: `Bearer ${token}` } : {};
  try {
    return await fetch(url, {
      cache: "no-store",
      credentials: "same-origin",
      ...options,
      headers: { Accept: "application/json", ...auth, ...(options.headers || {}) },
    });
  } catch (error) {
    throw new ApiError(0, "The network request failed.");
  }
}

async function checked(response) {
  if (response.ok || response.status === 304) return response;
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body = await response.json();
    if (body && typeof body.message === "string") message = body.message;
  } catch {
    // Not our JSON error body (a proxy's page, say): keep the status line.
  }
  throw new ApiError(response.status, message, retryAfterSeconds(response));
}

/**
 * POST /cases: create a case. Resolves to the new case document.
 * Every retry of one creation must send the same `idempotencyKey`: a key that already
 * created a case (whose answer was lost, say) answers with that case instead of a new one.
 */
export async function createCase(idempotencyKey) {
  const headers = { "Idempotency-Key": idempotencyKey };
  const response = await send("/cases", { method: "POST", headers });
  return response.json();
}

/**
 * GET /cases/{id}, conditional on `etag`.
 * Resolves to {notModified, etag, retryAfter, document (null when not modified)}.
 */
export async function getCase(caseId, etag = null) {
  const headers = etag ? { "If-None-Match": etag } : {};
  const response = await send(`/cases/${encodeURIComponent(caseId)}`, { headers });
  const notModified = response.status === 304;
  return {
    notModified,
    etag: response.headers.get("ETag") || etag,
    retryAfter: retryAfterSeconds(response),
    document: notModified ? null : await response.json(),
  };
}

/** GET /cases: one page, newest first. Resolves to {cases, next_page_token}. */
export async function listCases({ pageSize = 20, pageToken = null } = {}) {
  const query = new URLSearchParams({ page_size: String(pageSize) });
  if (pageToken) query.set("page_token", pageToken);
  const response = await send(`/cases?${query}`);
  return response.json();
}
