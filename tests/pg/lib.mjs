// tests/pg/lib.mjs — helpers for the PostgreSQL fault tests: a throw-away
// cluster (scripts/pg-cluster.sh) in its own temporary directory on a free
// port, `tisheng serve` nodes sharing one data directory (keys, store.url),
// raw HTTP with bounded keep-alive agents, psql queries. Only 127.0.0.1.

import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

import { BIN, REPO, crashReports, freePort } from '../api/lib/server.mjs';
import { used } from '../api/lib/gen.mjs';

export { BIN, REPO };
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const KEEP = !!process.env.TISHENG_KEEP_TMP;

// Whatever a test left running (a timeout, a thrown setup) is stopped when the file ends.
const live = { nodes: new Set(), clusters: new Set(), dirs: new Set() };
after(async () => {
  for (const n of live.nodes) await n.kill().catch(() => {});
  for (const c of live.clusters) await c.stop().catch(() => {});
  if (!KEEP) for (const d of live.dirs) fs.rmSync(d, { recursive: true, force: true });
});
process.on('exit', () => {
  for (const n of live.nodes) n.proc?.kill('SIGKILL');
  for (const c of live.clusters) {
    try {
      execFileSync('bash', [path.join(REPO, 'scripts/pg-cluster.sh'), 'stop', c.dir], { stdio: 'ignore', timeout: 30000 });
    } catch {
      /* best effort */
    }
  }
});

/** Runs a program; resolves {code, signal, stdout, stderr, ms} (never rejects on exit status). */
export function run(file, args, { timeout = 120000, env } = {}) {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd: REPO, timeout, maxBuffer: 64 << 20, encoding: 'utf8', env: env ? { ...process.env, ...env } : process.env },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number' && !err.killed && err.signal == null) return reject(err);
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, signal: err?.signal ?? null, stdout, stderr, ms: Date.now() - t0 });
      },
    );
  });
}

/** `tisheng ARGS…`, asserting exit 0 unless {allowFail}. */
export async function tisheng(args, { allowFail = false, timeout = 120000 } = {}) {
  const r = await run(BIN, args, { timeout });
  if (!allowFail) assert.equal(r.code, 0, `tisheng ${args.join(' ')} exited ${r.code} (${r.signal ?? ''})\n${r.stdout}\n${r.stderr}`);
  return r;
}

export function tmpdir(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  live.dirs.add(d);
  return d;
}

const PG_BIN = (() => {
  try {
    const dirs = fs.readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin`);
    dirs.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    return dirs[dirs.length - 1];
  } catch {
    return null;
  }
})();
const IS_ROOT = process.getuid?.() === 0;
function asPg(cmd, args) {
  return IS_ROOT ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

/** Why the PostgreSQL tests cannot run here (a string), or false. */
export function pgMissing() {
  if (!fs.existsSync(BIN)) return `tisheng binary not found at ${BIN} (set TISHENG_BIN)`;
  if (!PG_BIN || !fs.existsSync(path.join(PG_BIN, 'pg_ctl'))) return 'PostgreSQL server binaries not installed (/usr/lib/postgresql/*/bin)';
  try {
    execFileSync('psql', ['--version'], { stdio: 'pipe' });
  } catch {
    return 'psql not installed';
  }
  return false;
}

/**
 * A throw-away cluster in a fresh temporary directory (its own, so that the
 * postgres user may own it) on a free port. Returns
 * { dir, port, url, restart(), stop(), log() }.
 */
export async function startCluster() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tisheng-pgc-'));
  let lastErr = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const r = await run('bash', [path.join(REPO, 'scripts/pg-cluster.sh'), 'start', dir, String(port)], { timeout: 90000 });
    const url = r.stdout.trim().split('\n').pop();
    if (r.code === 0 && url.startsWith('postgres://')) {
      const cl = {
        dir,
        port,
        url,
        log: () => readOr(path.join(dir, 'server.log')),
        /** `pg_ctl -m MODE -w restart` (fast by default) as the script's user; resolves {code, ms, stdout, stderr}. */
        async restart(mode = 'fast') {
          const [cmd, args] = asPg(path.join(PG_BIN, 'pg_ctl'), ['-D', path.join(dir, 'data'), '-l', path.join(dir, 'server.log'),
            '-m', mode, '-w', '-t', '60', 'restart']);
          return run(cmd, args, { timeout: 90000 });
        },
        /** `pg_ctl -m fast -w stop` (the cluster stays on disk; pgStart() brings it back). */
        async pgStop() {
          const [cmd, args] = asPg(path.join(PG_BIN, 'pg_ctl'), ['-D', path.join(dir, 'data'), '-m', 'fast', '-w', '-t', '60', 'stop']);
          return run(cmd, args, { timeout: 90000 });
        },
        async pgStart() {
          return run('bash', [path.join(REPO, 'scripts/pg-cluster.sh'), 'start', dir, String(port)], { timeout: 90000 });
        },
        async stop() {
          live.clusters.delete(cl);
          await run('bash', [path.join(REPO, 'scripts/pg-cluster.sh'), 'stop', dir], { timeout: 90000 });
          if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
          else console.error(`kept ${dir}`);
        },
      };
      live.clusters.add(cl);
      return cl;
    }
    lastErr = `exit ${r.code}\n${r.stdout}\n${r.stderr}\n${readOr(path.join(dir, 'server.log')).slice(-3000)}`;
  }
  await run('bash', [path.join(REPO, 'scripts/pg-cluster.sh'), 'stop', dir]).catch(() => {});
  fs.rmSync(dir, { recursive: true, force: true });
  throw new Error(`scripts/pg-cluster.sh start failed: ${lastErr}`);
}

/** psql -Atc QUERY; returns rows as arrays of strings ('|' separated columns). */
export function psql(url, query) {
  const out = execFileSync('psql', [url, '-X', '-v', 'ON_ERROR_STOP=1', '-Atc', query], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60000,
  });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('|'));
}

function readOr(p) {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

export function tail(text, n = 4000) {
  return text.length > n ? '…' + text.slice(-n) : text;
}

/** `init --data DIR --demo [--store URL]`; returns the data directory. */
export async function initData(tmp, store) {
  const data = path.join(tmp, 'data');
  const args = ['init', '--data', data, '--demo'];
  if (store) args.push('--store', store);
  await tisheng(args);
  return data;
}

/**
 * A `tisheng serve` on DATA (SMS to DATA/sms.jsonl, shared by the nodes of
 * one data directory), with its own log file and keep-alive agent.
 */
export class Node {
  constructor(name, data, { extra = [] } = {}) {
    this.name = name;
    this.data = data;
    this.extra = extra;
    this.port = 0;
    this.proc = null;
    this.log = path.join(data, `..`, `node-${name}.log`);
    this.sms = path.join(data, 'sms.jsonl');
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  }

  get base() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    for (let attempt = 0; ; attempt++) {
      if (!this.port || attempt > 0) this.port = await freePort();
      const out = fs.openSync(this.log, 'a');
      const env = { ...process.env };
      if (env.LSAN_OPTIONS === undefined) env.LSAN_OPTIONS = `suppressions=${path.join(REPO, 'tests/api/lsan.supp')}:print_suppressions=0`;
      const proc = spawn(
        BIN,
        ['serve', '--data', this.data, '--listen', `127.0.0.1:${this.port}`, '--sms', `file:${this.sms}`, '--ip-limit', '0', ...this.extra],
        { cwd: REPO, stdio: ['ignore', out, out], env },
      );
      fs.closeSync(out);
      this.proc = proc;
      live.nodes.add(this);
      this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
      const deadline = Date.now() + 20000;
      let up = false;
      while (Date.now() < deadline) {
        if (proc.exitCode !== null || proc.signalCode !== null) break;
        try {
          const r = await this.request('GET', '/healthz', { timeout: 2000 });
          if (r.status === 200) {
            up = true;
            break;
          }
        } catch {
          /* not up yet */
        }
        await sleep(50);
      }
      if (up) return;
      const dead = proc.exitCode !== null || proc.signalCode !== null;
      if (!dead) {
        proc.kill('SIGKILL');
        await this.exited;
      }
      this.proc = null;
      if (!dead || attempt >= 2) throw new Error(`node ${this.name} did not answer /healthz within 20 s\n${this.logTail()}`);
      // maybe the port was taken in between: retry with another one
    }
  }

  alive() {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Sends SIGKILL (or another signal) and waits for the exit. */
  async kill(signal = 'SIGKILL') {
    const proc = this.proc;
    if (!proc) return null;
    this.proc = null;
    live.nodes.delete(this);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    const r = await this.exited;
    this.agent.destroy();
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
    return r;
  }

  /** SIGTERM, SIGKILL after 15 s. */
  async stop() {
    const proc = this.proc;
    if (!proc) return null;
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15000);
    const r = await this.kill('SIGTERM');
    clearTimeout(timer);
    return r;
  }

  logText() {
    return readOr(this.log);
  }

  logTail(n = 3000) {
    return `--- node ${this.name} log (tail)\n${tail(this.logText(), n)}`;
  }

  /** One request; resolves {status, body, text} or rejects on a network error/timeout. */
  request(method, p, { json, token, timeout = 30000 } = {}) {
    const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
    return new Promise((resolve, reject) => {
      const h = {};
      if (body) {
        h['content-type'] = 'application/json';
        h['content-length'] = body.length;
      }
      if (token) h.authorization = `Bearer ${token}`;
      const req = http.request(
        { host: '127.0.0.1', port: this.port, method, path: p, agent: this.agent, headers: h, timeout },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed = null;
            try {
              parsed = text ? JSON.parse(text) : null;
            } catch {
              /* not JSON */
            }
            resolve({ status: res.statusCode, body: parsed, text });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** POST /api/v1/applications; resolves {status, body, text, ms} or {error, ms} (never rejects). */
  submit(token, program, category, fields, { timeout = 60000 } = {}) {
    const t0 = Date.now();
    return this.request('POST', '/api/v1/applications', { json: { program, category, fields }, token, timeout }).then(
      (r) => ({ ...r, ms: Date.now() - t0, at: Date.now() }),
      (e) => ({ error: String(e?.message ?? e), ms: Date.now() - t0, at: Date.now() }),
    );
  }

  /** Remaining places per "program/category" from GET /api/v1/programs. */
  async remaining() {
    const r = await this.request('GET', '/api/v1/programs');
    assert.equal(r.status, 200, `GET /api/v1/programs on node ${this.name}: ${r.status} ${r.text.slice(0, 300)}`);
    const out = {};
    for (const p of r.body.programs) for (const c of p.categories) out[`${p.id}/${c.code}`] = c.remaining;
    return out;
  }
}

/** Runs fn(i) for i in 0..n-1 with at most conc in flight. */
export async function pool(n, conc, fn) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(conc, n) }, worker));
}

function smsCodes(file) {
  const codes = new Map();
  for (const line of readOr(file).split('\n')) {
    if (!line.trim()) continue;
    try {
      const m = JSON.parse(line);
      codes.set(m.phone, m.code);
    } catch {
      /* partial line */
    }
  }
  return codes;
}

/**
 * Logs phones in: the SMS code is asked on codeNode(i), the login is made on
 * loginNode(i) (sessions and codes live in the database). Returns tokens.
 */
export async function loginMany(phones, codeNode, loginNode, conc = 48) {
  await pool(phones.length, conc, async (i) => {
    const n = codeNode(i);
    const r = await n.request('POST', '/api/v1/auth/sms-code', { json: { phone: phones[i] } });
    if (r.status !== 200) throw new Error(`sms-code ${phones[i]} on node ${n.name}: ${r.status} ${r.text.slice(0, 300)}`);
  });
  const file = codeNode(0).sms;
  let codes;
  const deadline = Date.now() + 15000;
  for (;;) {
    codes = smsCodes(file);
    if (phones.every((p) => codes.has(p))) break;
    if (Date.now() > deadline) throw new Error(`${phones.filter((p) => !codes.has(p)).length} phones got no SMS in ${file}`);
    await sleep(100);
  }
  const tokens = new Array(phones.length);
  await pool(phones.length, conc, async (i) => {
    const n = loginNode(i);
    const r = await n.request('POST', '/api/v1/auth/login', { json: { phone: phones[i], code: codes.get(phones[i]) } });
    if (r.status !== 200 || typeof r.body?.token !== 'string')
      throw new Error(`login ${phones[i]} on node ${n.name}: ${r.status} ${r.text.slice(0, 300)}`);
    tokens[i] = r.body.token;
  });
  return tokens;
}

/** Counts outcomes: "201 queued", "409 quota_full", "503 unavailable", "error ECONNRESET"… */
export function outcome(r) {
  if (r.error) return `error ${r.error.replace(/^.*?(E[A-Z]+|timeout|socket hang up).*$/, '$1')}`;
  return `${r.status} ${r.body?.error?.code ?? r.body?.quota ?? r.text?.slice(0, 60)}`;
}

export function tally(results) {
  const t = {};
  for (const r of results) {
    const k = outcome(r);
    t[k] = (t[k] || 0) + 1;
  }
  return t;
}

/** Applications of one category in the database: Map id → rank, plus the rank list. */
export function storedApps(url, program, category) {
  const rows = psql(
    url,
    `SELECT id, rank FROM applications WHERE program = '${program}' AND category = '${category}' ORDER BY rank`,
  );
  const byId = new Map(rows.map(([id, rank]) => [String(id), Number(rank)]));
  return { byId, ranks: rows.map((r) => Number(r[1])) };
}

/** Problems with a set of ranks: duplicates, out of 1..places, holes (when dense). */
export function rankProblems(ranks, places, { dense = true } = {}) {
  const problems = [];
  const seen = new Map();
  for (const r of ranks) seen.set(r, (seen.get(r) || 0) + 1);
  const dup = [...seen].filter(([, c]) => c > 1).map(([r]) => r);
  if (dup.length) problems.push(`ranks given more than once: ${dup.slice(0, 20).join(', ')}`);
  const out = ranks.filter((r) => !(r >= 1 && r <= places));
  if (out.length) problems.push(`ranks outside 1..${places}: ${out.slice(0, 20).join(', ')}`);
  if (dense) {
    const holes = [];
    for (let r = 1; r <= seen.size && holes.length < 20; r++) if (!seen.has(r)) holes.push(r);
    if (holes.length) problems.push(`holes in ranks 1..${seen.size}: ${holes.join(', ')}`);
  }
  return problems;
}

/** Every acknowledged (201) submission must be stored with the same id and rank. */
export function lostAcks(acked, stored) {
  const lost = [];
  for (const a of acked) {
    const rank = stored.byId.get(String(a.id));
    if (rank !== a.rank) lost.push(`id ${a.id} rank ${a.rank} via node ${a.node} at +${a.t} ms: ${rank === undefined ? 'not stored' : `stored with rank ${rank}`}`);
  }
  return lost;
}

/** Sanitizer/crash reports and leaked personal data in node logs. */
export function logProblems(nodes) {
  const problems = [];
  for (const n of nodes) {
    const text = n.logText();
    const reports = crashReports(text);
    if (reports.length) problems.push(`node ${n.name}: ${reports.join('; ')}`);
    const leaked = [...used.ids, ...used.phones].filter((v) => text.includes(v));
    if (leaked.length) problems.push(`node ${n.name} log contains ${leaked.length} full ID numbers / phones`);
  }
  return problems;
}

/**
 * Sets up a cluster, a data directory initialised on it and `count` nodes
 * (started). Returns { cl, tmp, data, nodes, cleanup() }.
 */
export async function twoNodes(count = 2) {
  const cl = await startCluster();
  const tmp = tmpdir('tisheng-pgf-');
  const nodes = [];
  const env = {
    cl,
    tmp,
    data: null,
    nodes,
    async cleanup() {
      for (const n of nodes) await n.stop().catch(() => {});
      await cl.stop().catch(() => {});
      if (!KEEP) fs.rmSync(tmp, { recursive: true, force: true });
      else console.error(`kept ${tmp}`);
    },
  };
  try {
    env.data = await initData(tmp, cl.url);
    for (let i = 0; i < count; i++) {
      const n = new Node(String.fromCharCode(65 + i), env.data);
      await n.start();
      nodes.push(n);
    }
  } catch (e) {
    await env.cleanup();
    throw e;
  }
  return env;
}

/** The logs of nodes and PostgreSQL, for failure messages. */
export function allLogs(env, n = 2500) {
  return [...env.nodes.map((x) => x.logTail(n)), `--- PostgreSQL log (tail)\n${tail(env.cl.log(), n)}`].join('\n');
}

/** Wraps a test body: on failure, the logs are appended to the message. */
export async function withLogs(env, fn) {
  try {
    return await fn();
  } catch (err) {
    if (err && typeof err === 'object') {
      try {
        err.message = `${err.message}\n${allLogs(env)}`;
      } catch {
        /* frozen */
      }
    }
    throw err;
  }
}
