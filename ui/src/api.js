// The server's APIs, as the dashboard reads them. Every call goes to the server the page came
// from (relative URLs), so the dashboard works behind a reverse proxy under any host name.

export class ApiError extends Error {
  /** @param {string} message @param {number} status @param {any} body */
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/**
 * GET a JSON API and return its body. `/api/v1` answers are Prometheus's envelope: the
 * `data` of a success is returned; an error throws ApiError with the server's message.
 * @param {string} path
 * @param {Record<string, string | number | undefined>} [params]
 */
export async function get(path, params = {}) {
  return request("GET", path, params);
}

const shared = new Map();

/**
 * GET `path` (no parameters) once for every caller within `maxAgeMs`: the shell and a page
 * that both need the host list on a page load make one request. A failed request is not kept.
 * @param {string} path
 * @param {number} [maxAgeMs]
 */
export function getShared(path, maxAgeMs = 5000) {
  const now = performance.now();
  const kept = shared.get(path);
  if (kept && now - kept.at < maxAgeMs) return kept.answer;
  const answer = get(path);
  shared.set(path, { at: now, answer });
  answer.catch(() => {
    if (shared.get(path)?.answer === answer) shared.delete(path);
  });
  return answer;
}

/** Send a JSON body (POST, PUT, PATCH, DELETE) and return the answer's body. */
export async function send(method, path, body = undefined, params = {}) {
  return request(method, path, params, body);
}

async function request(method, path, params, body) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, String(value));
  }
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new ApiError(`the server cannot be reached (${err.message})`, 0, null);
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (!response.ok) {
    const message =
      (parsed && (parsed.error || parsed.message)) || `${response.status} ${response.statusText}`;
    throw new ApiError(String(message), response.status, parsed);
  }
  if (parsed && typeof parsed === "object" && parsed.status === "success" && "data" in parsed) {
    return parsed.data;
  }
  return parsed;
}
