// Helpers for the console's browser tests: a real `tisheng serve` on a fresh
// demo data directory (with a base-union reviewer added), applicants created
// through the API, and Debian's chromium driven by playwright-core.
// Copied in spirit from tests/api/lib (not imported: the suites stay apart).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '../../..');
export const BIN = process.env.TISHENG_BIN || path.join(REPO, 'build/tisheng');
export const WEB = path.join(REPO, 'web/dist');
export const OUT = path.join(HERE, 'output');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const STAFF_PASSWORD = 'Tisheng@2022';
export const BASE_PASSWORD = 'Passw0rd!x';

// playwright-core is a dependency of web/console, not of the repository root.
const requireFromConsole = createRequire(path.join(REPO, 'web/console/package.json'));
const { chromium } = requireFromConsole('playwright-core');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function run(args, input) {
  return new Promise((resolve) => {
    const child = execFile(BIN, args, { timeout: 120000, encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The first base union of the demo tree (data/orgs-demo.json). */
export function demoBaseUnion() {
  const { orgs } = JSON.parse(fs.readFileSync(path.join(REPO, 'data/orgs-demo.json'), 'utf8'));
  const base = orgs.find((o) => o.level === 'base');
  assert.ok(base, 'data/orgs-demo.json has no base union');
  return base;
}

/**
 * A fresh demo data directory, a base-union reviewer `base1` at `baseOrg`,
 * and `tisheng serve` on a free port with the built web/dist.
 */
export async function startServer({ baseOrg, extraArgs = [] }) {
  assert.ok(fs.existsSync(BIN), `tisheng binary not found at ${BIN}: run make first`);
  assert.ok(
    fs.existsSync(path.join(WEB, 'console/index.html')),
    'web/dist/console/index.html is missing: run `npm run build` in web/console first',
  );
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'tisheng-console-'));
  const data = path.join(tmp, 'data');
  const sms = path.join(tmp, 'sms.jsonl');
  const init = await run(['init', '--data', data, '--demo']);
  assert.equal(init.code, 0, `tisheng init --demo failed:\n${init.stdout}\n${init.stderr}`);
  const add = await run(
    ['staff', 'add', '--data', data, '--org', baseOrg, '--role', 'reviewer', '--username', 'base1'],
    BASE_PASSWORD + '\n',
  );
  assert.equal(add.code, 0, `tisheng staff add failed:\n${add.stdout}\n${add.stderr}`);
  const errPath = path.join(tmp, 'server.stderr');
  let lastErr = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const errFd = fs.openSync(errPath, 'a');
    const proc = spawn(
      BIN,
      ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--sms', `file:${sms}`, '--ip-limit', '0', '--web', WEB, ...extraArgs],
      { stdio: ['ignore', errFd, errFd] },
    );
    fs.closeSync(errFd);
    let exited = false;
    const done = new Promise((r) => proc.on('exit', () => ((exited = true), r())));
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline && !exited) {
      try {
        const res = await fetch(base + '/healthz', { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 200) {
          return {
            tmp,
            data,
            sms,
            base,
            proc,
            cli: (args, input) => run(args, input),
            stderr: () => (fs.existsSync(errPath) ? fs.readFileSync(errPath, 'utf8') : ''),
            async stop() {
              if (!exited) {
                proc.kill('SIGTERM');
                const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
                await done;
                clearTimeout(t);
              }
              if (!process.env.TISHENG_KEEP_TMP) await fsp.rm(tmp, { recursive: true, force: true });
              else console.error(`kept ${tmp}`);
            },
          };
        }
      } catch {
        /* not up yet */
      }
      await sleep(100);
    }
    if (!exited) proc.kill('SIGKILL');
    lastErr = new Error(`tisheng serve did not come up on ${port}:\n${fs.readFileSync(errPath, 'utf8').slice(-3000)}`);
  }
  throw lastErr;
}

/**
 * Loads a copy of programs/yn2022-skill.json as `id`, open now, with the
 * technician category's paid cap and places set (to see 依序递补 with a few
 * applications); waits until GET /api/v1/programs lists it.
 */
export async function loadSmallProgram(srv, id, cap, places) {
  const spec = JSON.parse(fs.readFileSync(path.join(REPO, 'programs/yn2022-skill.json'), 'utf8'));
  spec.id = id;
  spec.group = id;
  spec.title = spec.title.replace(/补助$/, '补助（小名额测试）');
  for (const c of spec.categories) if (c.code === 'technician') Object.assign(c, { cap, places });
  const file = path.join(srv.tmp, id + '.json');
  fs.writeFileSync(file, JSON.stringify(spec));
  const r = await run(['program', 'load', file, '--data', srv.data, '--opens', 'now', '--closes', 'now+86400s']);
  assert.equal(r.code, 0, `program load failed:\n${r.stdout}\n${r.stderr}`);
  for (let i = 0; i < 100; i++) {
    const l = await api(srv, 'GET', '/api/v1/programs');
    if (l.body?.programs?.some((p) => p.id === id)) return spec;
    await sleep(100);
  }
  throw new Error(`program ${id} not listed after program load`);
}

/** One JSON request: {status, body}. */
export async function api(srv, method, urlPath, { json, token } = {}) {
  const headers = {};
  if (json !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(srv.base + urlPath, {
    method,
    headers,
    body: json !== undefined ? JSON.stringify(json) : undefined,
    signal: AbortSignal.timeout(30000),
  });
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  return { status: res.status, body, text, req: `${method} ${urlPath}` };
}

export function show(res) {
  return `${res.req} → ${res.status} ${String(res.text).slice(0, 600)}`;
}

// ---- applicants ------------------------------------------------------------

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';
let counter = Math.floor(Math.random() * 5000);

/** A valid resident ID number (GB 11643-1999), unique within this process. */
export function idNumber() {
  const n = counter++;
  const d = new Date(Date.UTC(1975, 0, 1) + (n % 9000) * 86400000);
  const ymd = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
  const body = `530102${ymd}${String(100 + (n % 900)).padStart(3, '0')}`;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(body[i]) * WEIGHTS[i];
  return body + CHECK[sum % 11];
}

let phoneCounter = Math.floor(Math.random() * 50000) * 100;
export function phone() {
  return String(13900000000 + (phoneCounter++ % 100000000));
}

/** The last SMS code sent to a phone through the file gateway, or null. */
export function smsCodeFor(srv, ph) {
  let text = '';
  try {
    text = fs.readFileSync(srv.sms, 'utf8');
  } catch {
    return null;
  }
  let code = null;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const l = JSON.parse(line);
      if (l.phone === ph) code = l.code;
    } catch {
      /* partial line */
    }
  }
  return code;
}

/** Logs a phone in through SMS; returns the applicant's token. */
export async function applicantLogin(srv, ph) {
  const r = await api(srv, 'POST', '/api/v1/auth/sms-code', { json: { phone: ph } });
  assert.equal(r.status, 200, show(r));
  let code = null;
  for (let i = 0; i < 100 && !code; i++) {
    code = smsCodeFor(srv, ph);
    if (!code) await sleep(50);
  }
  assert.ok(code, `no SMS to ${ph} in ${srv.sms}`);
  const l = await api(srv, 'POST', '/api/v1/auth/login', { json: { phone: ph, code } });
  assert.equal(l.status, 200, show(l));
  return l.body.token;
}

/** A complete valid skill-program form for union `union`, following the published schema. */
export async function skillFields(srv, union, overrides = {}) {
  const spec = await api(srv, 'GET', '/api/v1/programs/yn2022-skill');
  assert.equal(spec.status, 200, show(spec));
  const prog = spec.body.program && typeof spec.body.program === 'object' ? spec.body.program : spec.body;
  const f = {
    name: '张晓梅',
    gender: '女',
    ethnicity: '汉族',
    political_status: '群众',
    education: '本科',
    unit: '昆明翠屏精密机械制造有限公司',
    position: '焊工班长',
    id_number: idNumber(),
    email: 'worker@example.com',
    unit_address: '云南省昆明市五华区学府路1号',
    work_years: 12,
    union,
    occupation_category: '生产制造类',
    previous_level: '高级工（三级）',
    occupation: '焊工',
    cert_number: 'S000053000010224001234',
    cert_date: '2022-03-01',
    cert_issuer: '云南省职业技能鉴定中心',
  };
  for (const field of prog.form?.fields ?? []) {
    const opts = Array.isArray(field.options) ? field.options : null;
    if (field.key in f) {
      if (opts && typeof f[field.key] === 'string' && !opts.includes(f[field.key])) {
        const alias = opts.find((o) => o.startsWith(f[field.key]) || f[field.key].startsWith(o));
        f[field.key] = alias ?? opts[0];
      }
      continue;
    }
    if (field.required === false) continue;
    f[field.key] = field.type === 'select' ? opts?.[0] : field.type === 'date' ? '2022-03-01' : field.type === 'integer' ? field.min ?? 1 : '测试内容';
  }
  return { ...f, ...overrides };
}

/** A new applicant who submits a skill application; returns {id, rank, quota, phone, token, fields}. */
export async function submitApplication(srv, union, overrides = {}, program = 'yn2022-skill') {
  const ph = phone();
  const token = await applicantLogin(srv, ph);
  const fields = await skillFields(srv, union, overrides);
  const r = await api(srv, 'POST', '/api/v1/applications', {
    token,
    json: { program, category: 'technician', fields },
  });
  assert.equal(r.status, 201, show(r));
  return { id: r.body.id, rank: r.body.rank, quota: r.body.quota, phone: ph, token, fields };
}

// ---- browser ------------------------------------------------------------------

export async function launchBrowser() {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} not found: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A new page at 1366×900 that records console errors and page errors. */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN', acceptDownloads: true });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push('pageerror: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) page.errors.push('console: ' + m.text());
  });
  return page;
}

export async function screenshot(page, name) {
  await fsp.mkdir(OUT, { recursive: true });
  await page.waitForTimeout(250); // let transitions settle
  await page.screenshot({ path: path.join(OUT, name + '.png') });
}

/** Logs in through the console's login page. */
export async function consoleLogin(page, srv, username, password, shot) {
  await page.goto(srv.base + '/console/');
  await page.waitForSelector('input[name=username]');
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  if (shot) await screenshot(page, shot);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-test=staff-org]', { timeout: 15000 });
}

/** Logs out through the header's button and its confirmation. */
export async function consoleLogout(page) {
  await page.click('[data-test=logout]');
  await page.locator('.el-message-box button', { hasText: '退出' }).click();
  await page.waitForSelector('input[name=username]');
}

/** Picks a program in the first select of the queue's filter form. */
export async function pickProgram(page, title) {
  await page.click('.filters .el-select >> nth=0');
  await page.locator('.el-select-dropdown__item:visible', { hasText: title }).first().click();
}

/** The queue's table rows that contain `text`. */
export function queueRow(page, text) {
  return page.locator('[data-test=queue-table] .el-table__body tr', { hasText: text });
}

/** Clicks an ElMessageBox button. */
export async function confirmBox(page, label) {
  await page.locator('.el-message-box button', { hasText: label }).click();
}

// ---- TOTP (RFC 6238, SHA-1, 6 digits, 30 s), for the administrator's second factor ----

function base32(text) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of text.replace(/[\s=]/g, '').toUpperCase()) {
    const v = abc.indexOf(ch);
    if (v < 0) throw new Error(`bad base32 character ${ch}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const out = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(out);
}

export function totp(secret, unixMs) {
  const counter = Math.floor(unixMs / 1000 / 30);
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = crypto.createHmac('sha1', base32(secret)).update(msg).digest();
  const off = mac[mac.length - 1] & 15;
  const n = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(n % 1000000).padStart(6, '0');
}

/** The server's clock in ms (it may be shifted by the test clock). */
export async function serverNowMs(srv) {
  const r = await api(srv, 'GET', '/api/v1/time');
  assert.equal(r.status, 200, show(r));
  return r.body.now_ms;
}

/** Moves the server's test clock (serve --test-clock); false when the server has no test clock. */
export async function shiftClock(srv, seconds) {
  const r = await api(srv, 'POST', '/api/v1/admin/clock', { json: { shift_s: seconds } });
  if (r.status === 404) return false;
  assert.equal(r.status, 200, show(r));
  return true;
}

/** The text of visible ElMessage error toasts. */
export async function errorToasts(page) {
  return page.$$eval('.el-message--error', (els) => els.map((e) => e.textContent.trim()));
}
