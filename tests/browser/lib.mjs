// Helpers for the browser tests: a real `tisheng serve` on a loopback port with
// the SMS file gateway, Debian's Chromium through playwright-core (no browser
// download), the SMS code read back from the gateway file, test data.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = process.env.TISHENG_BIN || join(ROOT, 'build/tisheng');
export const PROGRAMS = process.env.TISHENG_PROGRAMS || join(ROOT, 'programs');
export const OUT = fileURLToPath(new URL('./output/', import.meta.url));
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// playwright-core is a devDependency of web/ (the one package.json of the front end).
const require = createRequire(join(ROOT, 'web/package.json'));
export const { chromium } = require('playwright-core');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

export function cli(args, input) {
  return execFileSync(BIN, args, { cwd: ROOT, encoding: 'utf8', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
}

// A copy of a seed program under a new id/group/series, loaded with a window.
export function loadProgram(dir, seed, patch, opens, closes) {
  const spec = JSON.parse(readFileSync(join(PROGRAMS, seed + '.json'), 'utf8'));
  const out = { ...spec, ...patch(spec) };
  const file = join(dir, out.id + '.json');
  writeFileSync(file, JSON.stringify(out, null, 2));
  cli(['program', 'load', file, '--data', dir, '--opens', opens, '--closes', closes]);
  return out;
}

// A fresh data directory with the demo data (`init --demo`).
export function initData() {
  if (!existsSync(BIN)) throw new Error(`server binary not found: ${BIN} (build it with make, or set TISHENG_BIN)`);
  if (!existsSync(join(ROOT, 'web/dist/index.html'))) throw new Error('web/dist is missing: run `npm run build` in web/ first');
  const dir = mkdtempSync(join(tmpdir(), 'tisheng-browser-'));
  cli(['init', '--data', dir, '--demo']);
  return dir;
}

// `tisheng serve` on a free loopback port, run from the repository root so that
// it finds web/dist.
export async function startServer(dir) {
  const port = await freePort();
  const sms = join(dir, 'sms.jsonl');
  const log = [];
  const proc = spawn(BIN, ['serve', '--data', dir, '--listen', `127.0.0.1:${port}`, '--sms', `file:${sms}`, '--ip-limit', '0'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (d) => log.push(String(d)));
  proc.stderr.on('data', (d) => log.push(String(d)));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error('server exited: ' + log.join(''));
    try {
      const r = await fetch(base + '/api/v1/time');
      if (r.ok) break;
    } catch { /* not up yet */ }
    await sleep(100);
  }
  return {
    dir, base, sms, log,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      for (let i = 0; i < 50 && proc.exitCode === null; i++) await sleep(100);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

export function smsLines(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

// Waits for a new SMS to `phone` after `before` lines and returns its code.
export async function waitForCode(file, phone, before = 0) {
  for (let i = 0; i < 100; i++) {
    const lines = smsLines(file).slice(before).filter((l) => l.phone === phone);
    if (lines.length) return lines[lines.length - 1].code;
    await sleep(100);
  }
  throw new Error('no SMS for ' + phone);
}

export async function apiJson(base, method, path, { token, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = 'Bearer ' + token;
  const r = await fetch(base + path, { method, headers, body: body !== undefined ? JSON.stringify(body) : undefined });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  return { status: r.status, json };
}

export async function apiLogin(srv, phone) {
  const before = smsLines(srv.sms).length;
  const s = await apiJson(srv.base, 'POST', '/api/v1/auth/sms-code', { body: { phone } });
  if (s.status !== 200) throw new Error('sms-code ' + s.status + ' ' + JSON.stringify(s.json));
  const code = await waitForCode(srv.sms, phone, before);
  const l = await apiJson(srv.base, 'POST', '/api/v1/auth/login', { body: { phone, code } });
  if (l.status !== 200) throw new Error('login ' + l.status + ' ' + JSON.stringify(l.json));
  return l.json.token;
}

// A valid 18-character resident ID (GB 11643-1999 check digit).
export function idNumber(first17) {
  const W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let s = 0;
  for (let i = 0; i < 17; i++) s += (+first17[i]) * W[i];
  return first17 + '10X98765432'[s % 11];
}

// Path (root first) to the first base-level union in the tree.
export function orgPath(orgs) {
  const by = new Map(orgs.map((o) => [o.code, o]));
  const hasChild = new Set(orgs.map((o) => o.parent).filter(Boolean));
  const leaf = orgs.find((o) => o.level === 'base' && !hasChild.has(o.code)) || orgs.find((o) => !hasChild.has(o.code));
  const path = [];
  for (let o = leaf; o; o = o.parent ? by.get(o.parent) : null) path.unshift(o);
  return path;
}

// Values for every field of a form schema, as a worker would enter them.
export function sampleValues(fields, { id, orgs, phone }) {
  const text = {
    name: '张三', unit: '昆明机床股份有限公司', position: '车间主任', unit_address: '昆明市五华区人民中路1号',
    occupation: '车工', cert_number: 'S202253000123', cert_issuer: '云南省人力资源和社会保障厅',
    household: '云南省昆明市', diploma_number: '106731202205001234', institution: '云南大学',
  };
  const out = {};
  for (const f of fields) {
    switch (f.type) {
      case 'select': out[f.key] = f.key === 'gender' && f.options.includes('男') ? '男' : f.options[0]; break;
      case 'integer': out[f.key] = Math.max(f.min ?? 0, Math.min(f.max ?? 99, 8)); break;
      case 'date': out[f.key] = f.min && f.min > '2022-06-15' ? f.min : '2022-06-15'; break;
      case 'email': out[f.key] = 'zhangsan@example.com'; break;
      case 'phone': out[f.key] = phone; break;
      case 'id_number': out[f.key] = id; break;
      case 'bank_account': out[f.key] = '6222021234567890123'; break;
      case 'org': { const p = orgPath(orgs); out[f.key] = p[p.length - 1].code; break; }
      case 'textarea': out[f.key] = text[f.key] || '测试' + f.label; break;
      default: out[f.key] = text[f.key] || ('测试' + f.label).slice(0, f.max_len || 100);
    }
    if (f.min_len && typeof out[f.key] === 'string' && out[f.key].length < f.min_len) out[f.key] = out[f.key].padEnd(f.min_len, '一');
  }
  return out;
}

export async function launch() {
  mkdirSync(OUT, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export async function shot(page, name, opts = {}) {
  await page.waitForTimeout(350); // let popups and toasts finish their transitions
  await page.screenshot({ path: join(OUT, name + '.png'), ...opts });
}
