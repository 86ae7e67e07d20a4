// Talking to the Tisheng server (docs: ../../shared/API.md, the project's docs/).
// The session token is kept in localStorage and sent as `Authorization: Bearer`,
// so a worker who logs in the day before is still logged in at the opening minute.

const TOKEN_KEY = 'tisheng.token';
const PHONE_KEY = 'tisheng.phone';

export const session = {
  get token() { return localStorage.getItem(TOKEN_KEY) || ''; },
  get phone() { return localStorage.getItem(PHONE_KEY) || ''; },
  set(token, phone) {
    localStorage.setItem(TOKEN_KEY, token);
    if (phone) localStorage.setItem(PHONE_KEY, phone);
  },
  clear() {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(PHONE_KEY);
  },
  get loggedIn() { return !!this.token; },
};

// An error from the server ({"error":{code,message,fields}}) or from the network.
export class ApiError extends Error {
  constructor(status, code, message, body, retryAfter) {
    super(message || code);
    this.status = status;      // 0 for network errors and timeouts
    this.code = code;          // server code, or 'timeout' / 'network' / 'http_NNN'
    this.body = body || null;  // the whole error object from the server
    this.fields = (body && body.fields) || [];
    this.retryAfter = retryAfter || 0;
  }
  get transient() {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

const GENERIC = {
  timeout: '网络较慢，请求超时，请稍后重试',
  network: '网络连接失败，请检查网络后重试',
  server: '服务器繁忙，请稍后重试',
};

let onUnauthorized = null;
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

// request(method, path, {body, timeout, raw, auth})
export async function request(method, path, opts = {}) {
  const headers = { Accept: opts.raw ? '*/*' : 'application/json' };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const sent = opts.auth !== false ? session.token : '';
  if (sent) headers.Authorization = 'Bearer ' + sent;
  const ctl = typeof AbortController !== 'undefined' ? new AbortController() : null;
  const timeout = opts.timeout || 15000;
  let timer = null;
  if (ctl) timer = setTimeout(() => ctl.abort(), timeout);
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      signal: ctl ? ctl.signal : undefined,
      credentials: 'same-origin',
    });
  } catch (e) {
    const aborted = e && e.name === 'AbortError';
    throw new ApiError(0, aborted ? 'timeout' : 'network', aborted ? GENERIC.timeout : GENERIC.network);
  } finally {
    if (timer) clearTimeout(timer);
  }
  if (res.ok) {
    if (opts.raw) return res;
    if (res.status === 204) return null;
    const text = await res.text();
    if (!text) return null;
    try { return JSON.parse(text); } catch { return null; }
  }
  let err = null;
  try { err = (await res.json()).error || null; } catch { /* not JSON */ }
  const retryAfter = parseInt(res.headers.get('Retry-After') || '', 10) || (err && err.retry_after) || 0;
  const code = (err && err.code) || 'http_' + res.status;
  const message = (err && err.message) || (res.status >= 500 ? GENERIC.server : '请求失败（' + res.status + '）');
  const e = new ApiError(res.status, code, message, err, retryAfter);
  // Only a 401 that answered the token still in use ends the session: a request
  // sent before login (or with a token since replaced) must not log the worker out.
  if (res.status === 401 && onUnauthorized && opts.auth !== false && sent && sent === session.token) onUnauthorized(e);
  throw e;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Retries only what is safe to retry: network errors, timeouts, 502/503/504 and
// 429. For the submission this is safe too: the server allows one application per
// phone and group, so a repeated POST whose first copy did arrive answers 409
// `duplicate` with the stored application's id, which the caller treats as success.
export async function withRetry(fn, { tries = 4, onRetry } = {}) {
  let last;
  for (let i = 0; i < tries; i++) {
    try {
      return await fn(i);
    } catch (e) {
      last = e;
      const retriable = e instanceof ApiError && (e.transient || e.status === 429);
      if (!retriable || i === tries - 1) throw e;
      const wait = e.retryAfter ? Math.min(e.retryAfter, 10) * 1000 : Math.min(1000 * 2 ** i, 6000);
      if (onRetry) onRetry(i + 1, e);
      await sleep(wait + Math.floor(Math.random() * 400));
    }
  }
  throw last;
}

export const api = {
  time: () => request('GET', '/api/v1/time', { auth: false, timeout: 8000 }),
  programs: () => request('GET', '/api/v1/programs', { auth: false, timeout: 10000 }),
  remaining: () => request('GET', '/api/v1/remaining', { auth: false, timeout: 10000 }),
  program: (id) => request('GET', '/api/v1/programs/' + encodeURIComponent(id), { auth: false }),
  orgs: () => request('GET', '/api/v1/orgs', { auth: false, timeout: 20000 }),
  smsCode: (phone) => request('POST', '/api/v1/auth/sms-code', { body: { phone }, auth: false }),
  smsCodeFor: (phone, purpose) => request('POST', '/api/v1/auth/sms-code', { body: { phone, purpose }, auth: false }),
  publicity: (id) => request('GET', '/api/v1/public/publicity/' + encodeURIComponent(id), { auth: false }),
  objection: (id, body) => request('POST', '/api/v1/public/publicity/' + encodeURIComponent(id) + '/objections', { body, auth: false }),
  login: (phone, code) => request('POST', '/api/v1/auth/login', { body: { phone, code }, auth: false }),
  draft: (program) => request('GET', '/api/v1/drafts/' + encodeURIComponent(program)),
  saveDraft: (program, category, fields) =>
    request('PUT', '/api/v1/drafts/' + encodeURIComponent(program), { body: { category, fields } }),
  deleteDraft: (program) => request('DELETE', '/api/v1/drafts/' + encodeURIComponent(program)),
  submit: (program, category, fields) =>
    request('POST', '/api/v1/applications', { body: { program, category, fields }, timeout: 20000 }),
  applications: () => request('GET', '/api/v1/applications'),
  application: (id) => request('GET', '/api/v1/applications/' + encodeURIComponent(id)),
  update: (id, fields) => request('PUT', '/api/v1/applications/' + encodeURIComponent(id), { body: { fields }, timeout: 20000 }),
  resubmit: (id) => request('POST', '/api/v1/applications/' + encodeURIComponent(id) + '/resubmit', { body: {} }),
  withdraw: (id) => request('POST', '/api/v1/applications/' + encodeURIComponent(id) + '/withdraw', { body: {} }),
  pdf: (id) => request('GET', '/api/v1/applications/' + encodeURIComponent(id) + '/form.pdf', { raw: true, timeout: 30000 }),
};

// Small caches shared by pages (programs detail and the union tree change rarely).
const programCache = new Map();
export async function getProgram(id) {
  if (!programCache.has(id)) {
    const p = api.program(id).catch((e) => { programCache.delete(id); throw e; });
    programCache.set(id, p);
  }
  return programCache.get(id);
}

let orgsPromise = null;
export function getOrgs() {
  if (!orgsPromise) orgsPromise = withRetry(() => api.orgs()).then((r) => (r && r.orgs) || [])
    .catch((e) => { orgsPromise = null; throw e; });
  return orgsPromise;
}
