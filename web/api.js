// The one way the console talks to crm: the base path, the Bearer token, JSON in and out,
// problem+json errors (RFC 9457) as ApiError, ETag / If-Match, Idempotency-Key on POST, keyset
// paging, file downloads, and what happens on 401.
//
// Where the token lives: sessionStorage. It is per tab, survives a reload, is gone when the tab
// closes, and is never sent by the browser on its own, so no request can be forged from another
// site (no CSRF). It is never put in localStorage (outlives the tab), a cookie or a URL (URLs
// end up in logs and histories; crm refuses a token in the query string). An HttpOnly cookie
// would hide the token from scripts, but every API call would then be CSRF-exposed and the
// server would need a second way to authenticate; and under the console's strict CSP
// (script-src 'self', no inline script) no third-party script runs on the page to read it.

const BASE = '/api/v1';
const TOKEN_KEY = 'crm.token';

let onUnauthorized = () => {};
let inFlight = 0;
let onBusy = () => {};
let requestCounter = 0;
const tabId = randomHex(4);

/** Called with the ApiError when a request that carried a token is answered 401. */
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }
/** Called with true when the first request starts and false when the last one ends. */
export function setBusyHandler(fn) { onBusy = fn; }

export function getToken() {
  try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
}
export function setToken(token) { sessionStorage.setItem(TOKEN_KEY, token); }
export function clearToken() {
  try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* storage unavailable */ }
}

function randomHex(bytes) {
  const a = new Uint8Array(bytes);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A fresh Idempotency-Key. crypto.randomUUID exists only in secure contexts (HTTPS or
 *  localhost), so a console served over plain HTTP on a LAN address falls back to a v4 UUID
 *  built from crypto.getRandomValues, which every context has. */
export function newIdempotencyKey() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** An error answer (problem+json) or a failed request. */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem || {};
    this.errors = Array.isArray(this.problem.errors) ? this.problem.errors : [];
    this.requestId = this.problem.request_id || null;
  }
}

function buildUrl(path, query) {
  let url = BASE + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === '') continue;
      q.append(k, String(v));
    }
    const s = q.toString();
    if (s) url += `?${s}`;
  }
  return url;
}

async function problemOf(res) {
  const type = res.headers.get('Content-Type') || '';
  try {
    if (type.includes('json')) return await res.json();
    const text = await res.text();
    return { title: res.statusText, status: res.status, detail: text.slice(0, 300) || res.statusText };
  } catch {
    return { title: res.statusText, status: res.status, detail: res.statusText };
  }
}

/**
 * One request. Options: query (object), body (JSON value), ifMatch (an ETag), idempotencyKey
 * (POST: a fresh one is made when not given; pass false for none), accept, raw (return the
 * Response for a download), auth (default true).
 * Returns {data, etag, status, replayed} (or the Response when raw).
 */
export async function request(method, path, opts = {}) {
  const headers = { Accept: opts.accept || 'application/json' };
  const token = opts.auth === false ? null : getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  requestCounter += 1;
  headers['X-Request-Id'] = `web-${tabId}:${String(requestCounter).padStart(4, '0')}`;
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json; charset=utf-8';
    body = JSON.stringify(opts.body);
  }
  if (opts.ifMatch) headers['If-Match'] = opts.ifMatch;
  if (method === 'POST' && opts.idempotencyKey !== false) {
    headers['Idempotency-Key'] = opts.idempotencyKey || newIdempotencyKey();
  }
  inFlight += 1;
  if (inFlight === 1) onBusy(true);
  let res;
  try {
    res = await fetch(buildUrl(path, opts.query), { method, headers, body, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new ApiError(0, { title: '网络错误', detail: `无法连接服务器（${e.message}），请检查网络后重试。` });
  } finally {
    inFlight -= 1;
    if (inFlight === 0) onBusy(false);
  }
  if (!res.ok) {
    const err = new ApiError(res.status, await problemOf(res));
    if (res.status === 401 && token) {
      clearToken();
      onUnauthorized(err);
    }
    throw err;
  }
  if (opts.raw) return res;
  const etag = res.headers.get('ETag');
  let data = null;
  if (res.status !== 204) {
    const type = res.headers.get('Content-Type') || '';
    data = type.includes('json') ? await res.json() : await res.text();
  }
  return { data, etag, status: res.status, replayed: res.headers.get('Idempotent-Replayed') === 'true' };
}

/** GET and return the JSON body. */
export async function get(path, query) {
  return (await request('GET', path, { query })).data;
}

/** GET and return {data, etag} (send etag back as If-Match on a PATCH). */
export async function getWithEtag(path, query) {
  const r = await request('GET', path, { query });
  return { data: r.data, etag: r.etag || (r.data && r.data.version ? `"${r.data.version}"` : null) };
}

/** POST a JSON body with an Idempotency-Key (the same key for retries of one operation). */
export async function post(path, body, idempotencyKey) {
  return (await request('POST', path, { body, idempotencyKey })).data;
}

/** PATCH with If-Match: 412 when the record changed since it was read, 428 without it. */
export async function patch(path, body, etag) {
  return request('PATCH', path, { body, ifMatch: etag });
}

/** Every item of a keyset-paged list, following next_cursor (at most maxItems). */
export async function getAll(path, query = {}, maxItems = 5000) {
  const items = [];
  let cursor = null;
  do {
    const page = await get(path, { ...query, limit: 200, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < maxItems);
  return { items, truncated: Boolean(cursor) };
}

function filenameOf(res, fallback) {
  const cd = res.headers.get('Content-Disposition') || '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
  if (star) {
    try { return decodeURIComponent(star[1]); } catch { /* fall through */ }
  }
  const plain = /filename="?([^";]+)"?/i.exec(cd);
  return plain ? plain[1] : fallback;
}

/** Downloads a file the API serves: fetched with the Bearer header (the token never goes into
 *  a URL), then saved from a Blob through an object URL and an <a download>. */
export async function download(path, query, fallbackName) {
  const res = await request('GET', path, { query, raw: true, accept: '*/*' });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filenameOf(res, fallbackName);
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return { name: a.download, size: blob.size };
}

/**
 * One Idempotency-Key per logical operation. The same body again (a double tap, a retry after a
 * lost answer) gets the same key, so crm replays the first answer instead of writing twice; a
 * changed body gets a fresh key.
 */
export function operationKey() {
  let body = null;
  let key = null;
  return (b) => {
    const s = JSON.stringify(b === undefined ? null : b);
    if (s !== body) { body = s; key = newIdempotencyKey(); }
    return key;
  };
}
