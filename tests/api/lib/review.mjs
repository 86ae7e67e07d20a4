// Helpers for the review-pipeline tests (tests/api/review_*.test.mjs): staff
// logins (with TOTP), applicants in a given union, the test clock, decisions,
// publicity, and reading back the XLSX / PDF exports.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

import {
  api, expectStatus, expectError, show, sleep, smsLines, loginMany, pool, validFields, submit, expectSubmitted,
  appOf, loadProgramCopy,
} from './client.mjs';
import { idNumber, phone as newPhone } from './gen.mjs';

export const DEMO_PASSWORD = 'Tisheng@2022';
export const NEW_PASSWORD = 'Passw0rd!x';
export const SKILL = 'yn2022-skill';
export const EDU = 'yn2022-edu';

// Unions of data/orgs-demo.json used by the tests.
export const U = {
  wuhua1: 'yn-530102-001', // 昆明 / 五华区
  wuhua2: 'yn-530102-002',
  guandu1: 'yn-530111-001', // 昆明 / 官渡区
  qilin1: 'yn-530302-001', // 曲靖 / 麒麟区
  qilin2: 'yn-530302-002',
  dali1: 'yn-532901-001', // 大理
  km: 'yn-5301',
  qj: 'yn-5303',
  dl: 'yn-5329',
  province: 'yn',
};

// ---- staff -----------------------------------------------------------------

/** `tisheng staff add` while the server runs. */
export async function addStaff(srv, { org, username, role = 'reviewer', password = NEW_PASSWORD }) {
  const args = ['staff', 'add', '--data', srv.data, '--org', org, '--role', role, '--username', username];
  const r = await srv.cli(args, { input: password + '\n' });
  assert.equal(r.code, 0, `tisheng ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return { username, password };
}

/** Staff login; returns {token, staff}. `totpSecret` adds a code for the server's clock. */
export async function staffLogin(srv, username, password = DEMO_PASSWORD, totpSecret) {
  const json = { username, password };
  if (totpSecret) json.totp = totp(totpSecret, await serverNowMs(srv));
  const res = await api(srv, 'POST', '/api/v1/staff/login', { json });
  expectStatus(res, 200);
  assert.equal(typeof res.body?.token, 'string', show(res));
  return { token: res.body.token, staff: res.body.staff };
}

/** A staff "session" object that logs in again when asked (after clock shifts). */
export function staffAccount(srv, username, password = DEMO_PASSWORD) {
  const acct = {
    username,
    password,
    totpSecret: null,
    token: null,
    async login() {
      const r = await staffLogin(srv, username, password, acct.totpSecret);
      acct.token = r.token;
      acct.staff = r.staff;
      return acct.token;
    },
  };
  return acct;
}

// ---- TOTP (RFC 6238) -------------------------------------------------------

export function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = s.replace(/=+$/, '').replace(/\s+/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`bad base32 character ${ch} in ${s}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function totp(secretB32, timeMs, step = 30, digits = 6) {
  const counter = Math.floor(timeMs / 1000 / step);
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = crypto.createHmac('sha1', base32Decode(secretB32)).update(msg).digest();
  const off = h[h.length - 1] & 0x0f;
  const bin = ((h[off] & 0x7f) << 24) | (h[off + 1] << 16) | (h[off + 2] << 8) | h[off + 3];
  return String(bin % 10 ** digits).padStart(digits, '0');
}

// ---- the clock -------------------------------------------------------------

export async function serverNowMs(srv) {
  const res = await api(srv, 'GET', '/api/v1/time');
  expectStatus(res, 200);
  assert.ok(Number.isFinite(res.body?.now_ms), show(res));
  return res.body.now_ms;
}

export async function shiftClock(srv, seconds) {
  const res = await api(srv, 'POST', '/api/v1/admin/clock', { json: { shift_s: seconds } });
  expectStatus(res, 200);
  return res.body;
}

/** "YYYY-MM-DD" in China time, `days` after the server's now. */
export async function cstDate(srv, days = 0) {
  const ms = (await serverNowMs(srv)) + days * 86400000 + 8 * 3600000;
  return new Date(ms).toISOString().slice(0, 10);
}

export async function waitFor(fn, { timeout = 5000, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(interval);
  }
}

// ---- applicants ------------------------------------------------------------

/**
 * Logs in `n` fresh applicants and submits one application each, in order
 * (so ranks follow the list), in `union`. Returns [{phone, token, idn, fields, app}].
 * `parallel` submits concurrently (ranks then follow arrival, not the list).
 */
export async function applicants(srv, { program = SKILL, category = 'technician', union, n = 1, overrides = {}, parallel = false, concurrency = 32 }) {
  const phones = Array.from({ length: n }, () => newPhone());
  const tokens = await loginMany(srv, phones, concurrency);
  const template = await validFields(srv, program, { union }, category);
  const people = phones.map((phone, i) => {
    const idn = idNumber();
    const ov = typeof overrides === 'function' ? overrides(i) : overrides;
    return { phone, token: tokens[i], idn, fields: { ...template, id_number: idn, union, ...ov } };
  });
  const one = async (p) => {
    const res = await submit(srv, p.token, program, category, p.fields);
    p.app = expectSubmitted(res);
    return p;
  };
  if (parallel) await pool(people, concurrency, one);
  else for (const p of people) await one(p);
  return people;
}

/** GET /api/v1/applications/{id} as the applicant. */
export async function myApp(srv, token, id) {
  const res = await api(srv, 'GET', `/api/v1/applications/${id}`, { token });
  expectStatus(res, 200);
  return appOf(res);
}

// ---- staff API -------------------------------------------------------------

export function reviewGet(srv, token, id, query = '') {
  return api(srv, 'GET', `/api/v1/review/applications/${id}${query}`, { token });
}

/** The review view of one application (200 asserted). */
export async function reviewApp(srv, token, id) {
  const res = await reviewGet(srv, token, id);
  expectStatus(res, 200);
  return res.body;
}

export function decide(srv, token, id, json) {
  return api(srv, 'POST', `/api/v1/review/applications/${id}/decision`, { token, json });
}

/** Asserts a 200 decision answering `status`; returns the body. */
export async function decideOk(srv, token, id, json, status) {
  const res = await decide(srv, token, id, json);
  expectStatus(res, 200);
  if (status) assert.equal(res.body?.status, status, show(res));
  return res.body;
}

export async function reviewList(srv, token, query) {
  const res = await api(srv, 'GET', `/api/v1/review/applications?${query}`, { token });
  expectStatus(res, 200);
  assert.ok(Array.isArray(res.body?.applications), show(res));
  return res.body;
}

/** Passes `ids` one by one, expecting `status`. */
export async function passAll(srv, token, ids, status) {
  for (const id of ids) await decideOk(srv, token, id, { decision: 'pass' }, status);
}

export async function createPublicity(srv, token, program, startsOn, endsOn, extra = {}) {
  return api(srv, 'POST', '/api/v1/review/publicity', {
    token,
    json: { program, starts_on: startsOn, ends_on: endsOn, ...extra },
  });
}

/** Requests an objection SMS code for `phone` and returns it. */
export async function objectionCode(srv, phone) {
  const before = smsLines(srv).filter((l) => l.phone === phone).length;
  const res = await api(srv, 'POST', '/api/v1/auth/sms-code', { json: { phone, purpose: 'objection' } });
  expectStatus(res, 200);
  const line = await waitFor(
    () => {
      const mine = smsLines(srv).filter((l) => l.phone === phone);
      return mine.length > before ? mine[mine.length - 1] : null;
    },
    { what: `an objection SMS to ${phone}` },
  );
  return line.code;
}

/** Files an objection against entry `seq` of publicity `pubId`; returns the response. */
export async function fileObjection(srv, pubId, seq, { name = '李建国', text = '该职工证书取得时间与实际不符，请核实。' } = {}) {
  const phone = newPhone();
  const code = await objectionCode(srv, phone);
  return api(srv, 'POST', `/api/v1/public/publicity/${pubId}/objections`, {
    json: { entry: seq, name, phone, code, text },
  });
}

/** The publicity entry `seq` of application `appId` (from the staff view). */
export function entrySeq(pubStaffView, appId) {
  const e = pubStaffView.entries.find((x) => x.application === appId);
  assert.ok(e, `application ${appId} is not listed in publicity ${pubStaffView.id}: ${JSON.stringify(pubStaffView).slice(0, 600)}`);
  return e.seq;
}

/** Audit entries (auditor), newest first. */
export async function auditEntries(srv, token, limit = 1000) {
  const res = await api(srv, 'GET', `/api/v1/audit?limit=${limit}`, { token });
  expectStatus(res, 200);
  assert.ok(Array.isArray(res.body?.entries), show(res));
  return res.body.entries;
}

// ---- numbers that must not leak -----------------------------------------------

/** 18-character resident ID numbers (17 digits + digit/X) and 11-digit phones in a text. */
// Numbers standing alone: not a run of digits inside a hex hash or a token
// (a SHA-256 in hex holds 18 digits in a row now and then).
export function longNumbers(text) {
  const ids = text.match(/(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])/g) || [];
  const phones = text.match(/(?<![0-9A-Za-z])[0-9]{11}(?![0-9A-Za-z])/g) || [];
  return { ids, phones };
}

// ---- SMS ---------------------------------------------------------------------

export function smsTo(srv, phone) {
  return smsLines(srv).filter((l) => l.phone === phone);
}

// ---- program copies --------------------------------------------------------

/** A small copy of yn2022-skill (or `from`): every category cap/places as given. */
export async function smallProgram(srv, id, { from = SKILL, cap = 2, places = 3, closes = 'now+3000000s', mutate } = {}) {
  return loadProgramCopy(srv, {
    from,
    id,
    opens: 'now-60s',
    closes,
    mutate(spec) {
      for (const c of spec.categories) {
        c.cap = cap;
        c.places = places;
      }
      if (mutate) mutate(spec);
    },
  });
}

// ---- XLSX and PDF ------------------------------------------------------------

/** The entries of a zip file: Map name → Buffer (stored or deflated). */
export function unzip(buf) {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  assert.ok(eocd >= 0, 'not a zip file (no end of central directory)');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = new Map();
  for (let k = 0; k < count; k++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, 'bad zip central directory');
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const nlen = buf.readUInt16LE(p + 28);
    const xlen = buf.readUInt16LE(p + 30);
    const clen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nlen).toString('utf8');
    const lnlen = buf.readUInt16LE(local + 26);
    const lxlen = buf.readUInt16LE(local + 28);
    const start = local + 30 + lnlen + lxlen;
    const data = buf.subarray(start, start + csize);
    out.set(name, method === 0 ? Buffer.from(data) : zlib.inflateRawSync(data));
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

function xmlText(s) {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-fA-F]+);/g, (_, n) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&amp;/g, '&');
}

function colIndex(ref) {
  const letters = ref.match(/^[A-Z]+/)[0];
  let n = 0;
  for (const ch of letters) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n - 1;
}

/** The first worksheet of an XLSX as rows of strings (inline or shared strings). */
export function readXlsx(buf) {
  assert.equal(buf.subarray(0, 2).toString('latin1'), 'PK', 'the XLSX is not a zip file');
  const files = unzip(buf);
  const sheet = files.get('xl/worksheets/sheet1.xml');
  assert.ok(sheet, `no xl/worksheets/sheet1.xml in the XLSX (has ${[...files.keys()].join(', ')})`);
  let shared = [];
  const sst = files.get('xl/sharedStrings.xml');
  if (sst) {
    shared = [...sst.toString('utf8').matchAll(/<si>([\s\S]*?)<\/si>/g)].map((m) =>
      xmlText([...m[1].matchAll(/<t[^>]*>([\s\S]*?)<\/t>/g)].map((t) => t[1]).join('')),
    );
  }
  const rows = [];
  for (const rm of sheet.toString('utf8').matchAll(/<row\b[^>]*?(?:\/>|>([\s\S]*?)<\/row>)/g)) {
    const row = [];
    const body = rm[1] || '';
    for (const cm of body.matchAll(/<c\b([^>]*?)(?:\/>|>([\s\S]*?)<\/c>)/g)) {
      const attrs = cm[1];
      const inner = cm[2] || '';
      const ref = (attrs.match(/\br="([A-Z]+)\d+"/) || [])[1];
      const type = (attrs.match(/\bt="([^"]+)"/) || [])[1];
      let v = '';
      if (type === 'inlineStr') v = xmlText([...inner.matchAll(/<t[^>]*>([\s\S]*?)<\/t>/g)].map((t) => t[1]).join(''));
      else if (type === 's') v = shared[Number((inner.match(/<v>([\s\S]*?)<\/v>/) || [])[1])] ?? '';
      else v = xmlText((inner.match(/<v>([\s\S]*?)<\/v>/) || [, ''])[1]);
      const ci = ref ? colIndex(ref) : row.length;
      while (row.length < ci) row.push('');
      row[ci] = v;
    }
    rows.push(row);
  }
  return rows;
}

/** The index of the header row (the one containing all `labels`), and its column positions. */
export function headerOf(rows, labels) {
  const i = rows.findIndex((r) => labels.every((l) => r.includes(l)));
  assert.ok(i >= 0, `no header row with ${labels.join('/')} in:\n${rows.slice(0, 4).map((r) => r.join(' | ')).join('\n')}`);
  const cols = Object.fromEntries(labels.map((l) => [l, rows[i].indexOf(l)]));
  return { index: i, cols };
}

export const hasPdftotext = fs.existsSync('/usr/bin/pdftotext') || fs.existsSync('/usr/local/bin/pdftotext');

/** The text of a PDF via pdftotext (null when it is not installed). */
export async function pdfText(buf) {
  if (!hasPdftotext) return null;
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tisheng-pdf-'));
  const f = path.join(dir, 'a.pdf');
  await fsp.writeFile(f, buf);
  try {
    return await new Promise((resolve, reject) =>
      execFile('pdftotext', ['-layout', '-enc', 'UTF-8', f, '-'], { maxBuffer: 64 << 20 }, (err, out) =>
        err ? reject(err) : resolve(out),
      ),
    );
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

export { api, expectStatus, expectError, show, sleep, smsLines, appOf };
