// HTTP helpers for the API tests: requests, error assertions, SMS login,
// valid application forms, program copies loaded through the CLI.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { test as nodeTest, before, after } from 'node:test';

import { startServer, crashReports, REPO } from './server.mjs';
import { idNumber, phone as newPhone, used } from './gen.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const CJK = /[\u3400-\u9fff]/;

/**
 * Starts one server for the calling test file (before/after hooks) and returns
 * { srv, test }: `srv.current` is the running server; `test` is node:test's
 * test() whose failures carry the tail of the server's stderr.
 */
export function useServer(opts = {}) {
  const holder = { current: null };
  before(async () => {
    holder.current = await startServer(opts);
  });
  after(async () => {
    const s = holder.current;
    if (!s) return;
    await s.stop();
    const log = s.stderr() + s.stdout();
    const reports = crashReports(log);
    const text = s.stderrTail(20000);
    await s.cleanup();
    if (reports.length) {
      throw new Error(`the server reported errors on stderr:\n${reports.join('\n')}\n--- stderr\n${text}`);
    }
    // personal data never reaches the log, in any test file
    const leaked = [...used.ids, ...used.phones].filter((v) => log.includes(v));
    if (leaked.length) {
      const lines = log.split('\n').filter((l) => leaked.some((v) => l.includes(v)));
      throw new Error(`the server log contains ${leaked.length} full ID numbers / phones, e.g.:\n${lines.slice(0, 5).join('\n')}`);
    }
  });
  const test = (name, optsOrFn, maybeFn) => {
    const fn = typeof optsOrFn === 'function' ? optsOrFn : maybeFn;
    const topts = typeof optsOrFn === 'function' ? {} : optsOrFn;
    return nodeTest(name, topts, async (t) => {
      try {
        return await fn(t, holder.current);
      } catch (err) {
        const s = holder.current;
        if (s && err && typeof err === 'object') {
          const extra = `\n--- server stderr (tail) ---\n${s.stderrTail(4000)}`;
          try {
            err.message = String(err.message) + extra;
          } catch {
            /* frozen */
          }
        }
        throw err;
      }
    });
  };
  return { srv: holder, test };
}

/**
 * One HTTP request. `json` is sent as JSON; `body` raw (string/Buffer).
 * Resolves {status, headers, text, body (parsed JSON or null), bytes, req}.
 */
export async function api(srv, method, urlPath, { json, body, token, cookie, headers = {}, timeout = 30000 } = {}) {
  const h = { ...headers };
  let payload = body;
  if (json !== undefined) {
    payload = JSON.stringify(json);
    h['content-type'] ??= 'application/json';
  } else if (body !== undefined) {
    h['content-type'] ??= 'application/json';
  }
  if (token) h.authorization = `Bearer ${token}`;
  if (cookie) h.cookie = cookie;
  const res = await fetch(srv.base + urlPath, {
    method,
    headers: h,
    body: payload,
    signal: AbortSignal.timeout(timeout),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  let parsed = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  const reqDesc = `${method} ${urlPath}${
    payload !== undefined && typeof payload === 'string' ? ' ' + payload.slice(0, 600) : ''
  }`;
  return { status: res.status, headers: res.headers, text, body: parsed, bytes, req: reqDesc };
}

/** A short description of a response, for assertion messages. */
export function show(res) {
  return `${res.req}\n  → ${res.status} ${res.text.slice(0, 800)}`;
}

/** Asserts a status code, with the request and response in the message. */
export function expectStatus(res, status) {
  const ok = Array.isArray(status) ? status.includes(res.status) : res.status === status;
  assert.ok(ok, `expected HTTP ${status}, got: ${show(res)}`);
}

/**
 * Asserts an error response: status, {"error":{"code","message"}} with a
 * Chinese message. `code` may be a string or an array of accepted codes.
 * Returns the error object.
 */
export function expectError(res, status, code) {
  expectStatus(res, status);
  assert.ok(res.body && typeof res.body === 'object', `error body is not JSON: ${show(res)}`);
  const e = res.body.error;
  assert.ok(e && typeof e === 'object', `no "error" object: ${show(res)}`);
  assert.equal(typeof e.code, 'string', `error.code missing: ${show(res)}`);
  if (code) {
    const codes = Array.isArray(code) ? code : [code];
    assert.ok(codes.includes(e.code), `expected error code ${codes.join('|')}, got: ${show(res)}`);
  }
  assert.equal(typeof e.message, 'string', `error.message missing: ${show(res)}`);
  assert.match(e.message, CJK, `error.message is not Chinese: ${show(res)}`);
  return e;
}

/** The validation list of a 422 invalid: [{name,message}] (error.fields or top-level fields). */
export function errorFields(res) {
  const list = res.body?.error?.fields ?? res.body?.fields;
  assert.ok(Array.isArray(list), `no "fields" list in the validation error: ${show(res)}`);
  for (const f of list) {
    assert.equal(typeof f.name, 'string', `fields[].name missing: ${show(res)}`);
    assert.equal(typeof f.message, 'string', `fields[].message missing: ${show(res)}`);
    assert.match(f.message, CJK, `fields[].message not Chinese: ${show(res)}`);
  }
  return list;
}

/** Asserts a 422 invalid naming `name` among its fields. */
export function expectInvalidField(res, name) {
  expectError(res, 422, 'invalid');
  const list = errorFields(res);
  assert.ok(
    list.some((f) => f.name === name || f.name === `fields.${name}`),
    `expected a validation error for "${name}": ${show(res)}`,
  );
}

// ---- SMS login -----------------------------------------------------------

/** All SMS lines written so far. */
export function smsLines(srv) {
  let text = '';
  try {
    text = fs.readFileSync(srv.sms, 'utf8');
  } catch {
    return [];
  }
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      /* partial line still being written */
    }
  }
  return out;
}

/** The code of the last SMS to `phone`, waiting for at least `minCount` SMS to it. */
export async function smsCode(srv, phone, minCount = 1, timeout = 5000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const mine = smsLines(srv).filter((l) => l.phone === phone);
    if (mine.length >= minCount) {
      const last = mine[mine.length - 1];
      assert.equal(typeof last.code, 'string', `SMS line without "code": ${JSON.stringify(last)}`);
      return last.code;
    }
    if (Date.now() > deadline) throw new Error(`no SMS to ${phone} in ${srv.sms} after ${timeout} ms`);
    await sleep(50);
  }
}

/** Every SMS code and session token the tests were given (to check that logs do not repeat them). */
export const issued = { codes: new Set(), tokens: new Set() };

export async function requestCode(srv, phone) {
  const before = smsLines(srv).filter((l) => l.phone === phone).length;
  const res = await api(srv, 'POST', '/api/v1/auth/sms-code', { json: { phone } });
  expectStatus(res, 200);
  const code = await smsCode(srv, phone, before + 1);
  issued.codes.add(code);
  return code;
}

/** Logs `phone` in through SMS; returns the bearer token. */
export async function login(srv, phone) {
  const code = await requestCode(srv, phone);
  const res = await api(srv, 'POST', '/api/v1/auth/login', { json: { phone, code } });
  expectStatus(res, 200);
  assert.equal(typeof res.body?.token, 'string', `login gave no token: ${show(res)}`);
  assert.ok(res.body.token.length >= 20, `token too short: ${show(res)}`);
  issued.tokens.add(res.body.token);
  return res.body.token;
}

/** A fresh applicant: {phone, token, id} (id: a fresh valid ID number). */
export async function newApplicant(srv) {
  const phone = newPhone();
  const token = await login(srv, phone);
  return { phone, token, id: idNumber() };
}

/** Runs fn over items with at most n in flight; resolves the results in order. */
export async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/** Logs many phones in: codes for all, one read of the SMS file, then logins. Returns tokens. */
export async function loginMany(srv, phones, concurrency = 64) {
  await pool(phones, concurrency, async (phone) => {
    const res = await api(srv, 'POST', '/api/v1/auth/sms-code', { json: { phone } });
    expectStatus(res, 200);
  });
  const codes = new Map();
  const deadline = Date.now() + 15000;
  for (;;) {
    for (const l of smsLines(srv)) codes.set(l.phone, l.code);
    if (phones.every((p) => codes.has(p))) break;
    if (Date.now() > deadline) {
      const missing = phones.filter((p) => !codes.has(p));
      throw new Error(`${missing.length} phones got no SMS, e.g. ${missing.slice(0, 3)}`);
    }
    await sleep(100);
  }
  return pool(phones, concurrency, async (phone) => {
    const res = await api(srv, 'POST', '/api/v1/auth/login', { json: { phone, code: codes.get(phone) } });
    expectStatus(res, 200);
    assert.equal(typeof res.body?.token, 'string', show(res));
    return res.body.token;
  });
}

// ---- catalogue and forms -------------------------------------------------

const cache = new WeakMap();
function cacheOf(srv) {
  if (!cache.has(srv)) cache.set(srv, { programs: new Map() });
  return cache.get(srv);
}

/** The program object of GET /api/v1/programs/{id} (accepts a bare object or {"program":…}). */
export function programOf(res) {
  return res.body?.program && typeof res.body.program === 'object' && !Array.isArray(res.body.program)
    ? res.body.program
    : res.body;
}

export async function getProgram(srv, id) {
  const c = cacheOf(srv);
  if (!c.programs.has(id)) {
    const res = await api(srv, 'GET', `/api/v1/programs/${encodeURIComponent(id)}`);
    expectStatus(res, 200);
    c.programs.set(id, programOf(res));
  }
  return c.programs.get(id);
}

export async function getOrgs(srv) {
  const c = cacheOf(srv);
  if (!c.orgs) {
    const res = await api(srv, 'GET', '/api/v1/orgs');
    expectStatus(res, 200);
    assert.ok(Array.isArray(res.body?.orgs), show(res));
    c.orgs = res.body.orgs;
  }
  return c.orgs;
}

/** The code of a base union (level "base") from GET /api/v1/orgs. */
export async function baseUnion(srv) {
  const orgs = await getOrgs(srv);
  const base = orgs.find((o) => o.level === 'base');
  assert.ok(base, 'GET /api/v1/orgs lists no union with level "base"');
  return base.code;
}

/** Remaining places per "program/category" from GET /api/v1/programs. */
export async function remaining(srv) {
  const res = await api(srv, 'GET', '/api/v1/programs');
  expectStatus(res, 200);
  const out = {};
  for (const p of res.body.programs) for (const c of p.categories) out[`${p.id}/${c.code}`] = c.remaining;
  return out;
}

const EDU_LEVEL = { bachelor: '本科', associate: '大专' };

function pickOption(options, wanted) {
  if (options.includes(wanted)) return wanted;
  const alias = options.find((o) => o.startsWith(wanted) || wanted.startsWith(o));
  return alias ?? wanted;
}

/**
 * A complete valid "fields" object for `program` (yn2022-skill-like or
 * yn2022-edu-like), with `overrides` applied (an undefined value removes the key).
 * `category` chooses the education level for the education program.
 */
export async function validFields(srv, program, overrides = {}, category) {
  const union = await baseUnion(srv);
  const spec = await getProgram(srv, program).catch(() => null);
  const keys = new Set((spec?.form?.fields ?? []).map((f) => f.key));
  const isEdu = keys.has('diploma_number') || (!keys.size && /edu/.test(program));
  const f = {
    name: '张晓梅',
    gender: '女',
    ethnicity: '汉族',
    political_status: '群众',
    education: isEdu ? EDU_LEVEL[category ?? 'bachelor'] ?? '本科' : '本科',
    unit: '昆明钢铁控股有限公司',
    position: '焊工班长',
    id_number: overrides.id_number ?? idNumber(),
    email: 'worker@example.com',
    unit_address: '云南省昆明市安宁市昆钢大道1号',
    work_years: 12,
    union,
  };
  if (isEdu) {
    Object.assign(f, {
      household: '云南省昆明市',
      diploma_number: '106741202205000123',
      diploma_date: '2022-07-01',
      institution: '昆明理工大学',
    });
  } else {
    Object.assign(f, {
      occupation_category: '生产制造类',
      previous_level: '高级工（三级）',
      occupation: '焊工',
      cert_number: 'S000053000010224001234',
      cert_date: '2022-03-01',
      cert_issuer: '云南省职业技能鉴定中心',
    });
  }
  // Follow the published schema: option spellings, and required fields the contract does not name.
  for (const field of spec?.form?.fields ?? []) {
    const opts = Array.isArray(field.options) ? field.options : null;
    if (field.key in f) {
      if (opts && typeof f[field.key] === 'string') f[field.key] = pickOption(opts, f[field.key]);
      continue;
    }
    if (field.required === false) continue;
    switch (field.type) {
      case 'select':
        f[field.key] = opts?.[0];
        break;
      case 'integer':
        f[field.key] = field.min ?? 1;
        break;
      case 'date':
        f[field.key] = '2022-03-01';
        break;
      case 'email':
        f[field.key] = 'worker@example.com';
        break;
      case 'org':
        f[field.key] = union;
        break;
      case 'id_number':
        f[field.key] = idNumber();
        break;
      default:
        f[field.key] = '测试内容';
    }
  }
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete f[k];
    else f[k] = v;
  }
  return f;
}

/** POST /api/v1/applications. */
export function submit(srv, token, program, category, fields) {
  return api(srv, 'POST', '/api/v1/applications', { token, json: { program, category, fields } });
}

/** Asserts a 201 submission; returns the body. */
export function expectSubmitted(res) {
  expectStatus(res, 201);
  const b = res.body;
  assert.ok(b && b.id !== undefined && b.id !== null && b.id !== '', `no id: ${show(res)}`);
  assert.ok(Number.isInteger(b.rank) && b.rank >= 1, `bad rank: ${show(res)}`);
  assert.ok(['queued', 'waitlisted'].includes(b.quota), `bad quota: ${show(res)}`);
  assert.equal(b.status, 'submitted', `status: ${show(res)}`);
  assert.ok(b.receipt !== undefined && b.receipt !== null && b.receipt !== '', `no receipt: ${show(res)}`);
  return b;
}

/** GET /api/v1/applications for a token; returns the list. */
export async function myApplications(srv, token) {
  const res = await api(srv, 'GET', '/api/v1/applications', { token });
  expectStatus(res, 200);
  assert.ok(Array.isArray(res.body?.applications), show(res));
  return res.body.applications;
}

/** The application object of GET /api/v1/applications/{id} ({"application":…} or bare). */
export function appOf(res) {
  return res.body?.application && typeof res.body.application === 'object' ? res.body.application : res.body;
}

/** What a refused request must leave unchanged: the caller's applications and remaining places. */
export async function snapshot(srv, token) {
  const apps = token ? await myApplications(srv, token) : null;
  return { apps, remaining: await remaining(srv) };
}

// ---- program copies --------------------------------------------------------

/** An ISO-8601 time with +08:00 offset, `offsetSec` from now. */
export function isoIn(offsetSec) {
  const t = new Date(Date.now() + offsetSec * 1000 + 8 * 3600 * 1000);
  return t.toISOString().replace(/\.\d{3}Z$/, '+08:00');
}

/**
 * Copies programs/<from>.json with a new id and group (and `mutate(spec)`),
 * loads it with `program load … --opens --closes`, and waits until
 * GET /api/v1/programs lists it. Returns the spec written.
 */
export async function loadProgramCopy(srv, { from = 'yn2022-skill', id, opens, closes, mutate } = {}) {
  const src = path.join(REPO, 'programs', `${from}.json`);
  const spec = JSON.parse(await fsp.readFile(src, 'utf8'));
  spec.id = id;
  spec.group = id;
  spec.title = `${spec.title}（测试 ${id}）`;
  if (mutate) mutate(spec);
  const file = path.join(srv.tmp, `${id}.json`);
  await fsp.writeFile(file, JSON.stringify(spec, null, 2));
  const args = ['program', 'load', file, '--data', srv.data];
  if (opens) args.push('--opens', opens);
  if (closes) args.push('--closes', closes);
  const r = await srv.cli(args);
  assert.equal(r.code, 0, `tisheng ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  const deadline = Date.now() + 10000;
  for (;;) {
    const res = await api(srv, 'GET', '/api/v1/programs');
    if (res.status === 200 && res.body?.programs?.some((p) => p.id === id)) return spec;
    if (Date.now() > deadline) throw new Error(`program ${id} not listed 10 s after loading: ${show(res)}`);
    await sleep(200);
  }
}
