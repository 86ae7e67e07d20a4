// tests/crash/lib.mjs — what the crash, full-disk and overload tests share:
// a real `tisheng serve` on 127.0.0.1 (spawned, killed, restarted on the same
// data), plain HTTP, logins through the real SMS path, program copies, and
// the checks against the stored data (sqlite3, `tisheng ledger verify`).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { skillFields, eduFields } from '../../bench/gen.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.TISHENG_BIN ? path.resolve(process.env.TISHENG_BIN) : path.join(ROOT, 'build/tisheng');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export { skillFields, eduFields };

export function tmpdir(prefix = 'tisheng-crash-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function cli(args, opts = {}) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 60000, ...opts });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function sqlite(db, sql) {
  const r = spawnSync('sqlite3', ['-batch', db, sql], { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) throw new Error(`sqlite3 ${sql}: ${r.stderr}`);
  return r.stdout.trim();
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A data directory made by `init --demo`, plus program copies (see loadCopy). */
export function initData(dir) {
  const r = cli(['init', '--data', dir, '--demo']);
  if (r.code !== 0) throw new Error(`init: ${r.stderr}`);
  return dir;
}

/** Loads a copy of programs/yn2022-skill.json as `id` (own group and series),
 *  open now for an hour, with `places` split over its two categories. */
export function loadSkillCopy(dataDir, id, places, extraArgs = []) {
  const spec = JSON.parse(fs.readFileSync(path.join(ROOT, 'programs/yn2022-skill.json'), 'utf8'));
  spec.id = id;
  spec.group = id;
  spec.series = id;
  spec.title = `测试：${spec.title}`;
  const [senior, tech] = spec.categories;
  senior.places = Math.floor(places / 4);
  senior.cap = senior.places;
  tech.places = places - senior.places;
  tech.cap = tech.places;
  const file = path.join(dataDir, `${id}.json`);
  fs.writeFileSync(file, JSON.stringify(spec));
  const r = cli(['program', 'load', file, '--data', dataDir, '--opens', 'now-60s', '--closes', 'now+3600s', ...extraArgs]);
  if (r.code !== 0) throw new Error(`program load: ${r.stderr}`);
  return { id, places: { 'senior-technician': senior.places, technician: tech.places } };
}

export class Server {
  constructor(data, extra = []) {
    this.data = data;
    this.extra = extra;
    this.proc = null;
    this.port = 0;
    this.log = path.join(data, 'server.log');
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  }

  get db() {
    return path.join(this.data, 'tisheng.db');
  }

  async start() {
    if (!this.port) this.port = await freePort();
    const out = fs.openSync(this.log, 'a');
    this.proc = spawn(
      BIN,
      ['serve', '--data', this.data, '--listen', `127.0.0.1:${this.port}`, '--ip-limit', '0',
        '--sms', `file:${path.join(this.data, 'sms.jsonl')}`, ...this.extra],
      { stdio: ['ignore', out, out] },
    );
    fs.closeSync(out);
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, sig) => resolve({ code, sig })));
    const deadline = Date.now() + 15000;
    for (;;) {
      try {
        const r = await this.request('GET', '/healthz');
        if (r.status === 200) return;
      } catch {
        /* not up yet */
      }
      if (this.proc.exitCode !== null || this.proc.signalCode !== null)
        throw new Error(`server exited at start: ${fs.readFileSync(this.log, 'utf8').slice(-2000)}`);
      if (Date.now() > deadline) throw new Error('server did not answer /healthz within 15 s');
      await sleep(50);
    }
  }

  /** SIGKILL (or another signal); waits for the process to be gone. */
  async kill(signal = 'SIGKILL') {
    if (!this.proc) return;
    this.agent.destroy();
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    this.proc.kill(signal);
    const r = await this.exited;
    this.proc = null;
    return r;
  }

  async stop() {
    return this.kill('SIGTERM');
  }

  alive() {
    return this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  request(method, p, { json, token, timeout = 30000, headers = {} } = {}) {
    const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
    return new Promise((resolve, reject) => {
      const h = { ...headers };
      if (body) {
        h['content-type'] = 'application/json';
        h['content-length'] = body.length;
      }
      if (token) h.authorization = `Bearer ${token}`;
      const req = http.request({ host: '127.0.0.1', port: this.port, method, path: p, agent: this.agent, headers: h, timeout },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed = text;
            try {
              parsed = text ? JSON.parse(text) : null;
            } catch {
              /* not JSON */
            }
            resolve({ status: res.statusCode, headers: res.headers, body: parsed });
          });
          res.on('error', reject);
        });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      if (body) req.write(body);
      req.end();
    });
  }

  /** Logs in every phone (sms-code, code from the SMS file, login); returns tokens. */
  async login(phones, conc = 32) {
    await pool(phones.length, conc, async (i) => {
      const r = await this.request('POST', '/api/v1/auth/sms-code', { json: { phone: phones[i] } });
      if (r.status !== 200) throw new Error(`sms-code ${phones[i]}: ${r.status} ${JSON.stringify(r.body)}`);
    });
    const codes = new Map();
    for (const line of fs.readFileSync(path.join(this.data, 'sms.jsonl'), 'utf8').split('\n')) {
      try {
        const m = JSON.parse(line);
        codes.set(m.phone, m.code);
      } catch {
        /* partial line */
      }
    }
    const tokens = new Array(phones.length);
    await pool(phones.length, conc, async (i) => {
      const r = await this.request('POST', '/api/v1/auth/login', { json: { phone: phones[i], code: codes.get(phones[i]) } });
      if (r.status !== 200) throw new Error(`login ${phones[i]}: ${r.status} ${JSON.stringify(r.body)}`);
      tokens[i] = r.body.token;
    });
    return tokens;
  }

  async baseUnions() {
    const r = await this.request('GET', '/api/v1/orgs');
    return r.body.orgs.filter((o) => o.level === 'base').map((o) => o.code);
  }

  submit(token, program, category, fields, opts = {}) {
    return this.request('POST', '/api/v1/applications', { json: { program, category, fields }, token, ...opts });
  }
}

export async function pool(n, conc, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(conc, n) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        await fn(i);
      }
    }),
  );
}

/** Phones unique to this process: 1[5-9]… from a random block. */
let phoneNext = 15000000000 + Math.floor(Math.random() * 4e8) * 10;
export function phones(n) {
  return Array.from({ length: n }, () => String(phoneNext++));
}
/** Applicant numbers (for bench/gen.mjs) unique to this process. */
let applicantNext = Math.floor(Math.random() * 1e6);
export function applicantNumbers(n) {
  return Array.from({ length: n }, () => applicantNext++);
}

/** The checks on stored data after a crash; returns a list of problems. */
export function storedProblems(dataDir, placesByKey) {
  const db = path.join(dataDir, 'tisheng.db');
  const problems = [];
  const dup = sqlite(db, `SELECT program||'/'||category||' rank '||rank FROM applications GROUP BY program, category, rank HAVING count(*) > 1`);
  if (dup) problems.push(`ranks given twice: ${dup.split('\n').slice(0, 5).join(', ')}`);
  for (const line of sqlite(db, 'SELECT program, category, count(*), max(rank), min(rank) FROM applications GROUP BY 1, 2').split('\n')) {
    if (!line) continue;
    const [program, category, count, max, min] = line.split('|');
    const key = `${program}/${category}`;
    if (placesByKey[key] !== undefined && Number(max) > placesByKey[key])
      problems.push(`${key}: rank ${max} beyond the ${placesByKey[key]} places`);
    if (Number(count) !== Number(max) || Number(min) !== 1)
      problems.push(`${key}: ${count} applications but ranks ${min}..${max} (a hole or a rank reused)`);
  }
  const integrity = sqlite(db, 'PRAGMA integrity_check');
  if (integrity !== 'ok') problems.push(`PRAGMA integrity_check: ${integrity.slice(0, 300)}`);
  const v = cli(['ledger', 'verify', '--data', dataDir]);
  if (v.code !== 0) problems.push(`tisheng ledger verify exited ${v.code}: ${(v.stdout + v.stderr).slice(0, 500)}`);
  return problems;
}

export const hasChinese = (s) => typeof s === 'string' && /[\u4e00-\u9fff]/.test(s);
