// Starts and stops a real `tisheng serve` for one test file: a temporary data
// directory made with `init --demo`, SMS written to a file, a free port.

import { spawn, execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = process.env.TISHENG_BIN || path.join(REPO, 'build/tisheng');
/** When set (postgres://user@host:port), every server gets a fresh PostgreSQL database there. */
export const PG_BASE = (process.env.TISHENG_TEST_PG || '').replace(/\/+$/, '');
export const STORE_KIND = PG_BASE ? 'postgres' : 'sqlite';

/** Runs a tisheng subcommand; resolves {code, stdout, stderr} (never rejects on exit status). */
export function cli(args, { input, timeout = 120000, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(
      BIN,
      args,
      { cwd: REPO, timeout, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', env: env ? { ...process.env, ...env } : process.env },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number' && !err.killed && err.signal == null) {
          reject(err);
          return;
        }
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, signal: err?.signal ?? null, stdout, stderr });
      },
    );
    if (input != null) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** Resolves true when `port` can be listened on at 127.0.0.1 now. */
function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.unref();
    s.on('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A free TCP port on 127.0.0.1: from $TISHENG_TEST_PORTS ("LOW-HIGH", for a
 * shared machine where each user keeps to a range) when set, else any the OS gives.
 */
export async function freePort() {
  const range = /^(\d+)-(\d+)$/.exec(process.env.TISHENG_TEST_PORTS || '');
  if (range) {
    const lo = Number(range[1]);
    const n = Number(range[2]) - lo + 1;
    const start = Math.floor(Math.random() * n);
    for (let i = 0; i < n; i++) {
      const port = lo + ((start + i) % n);
      if (await portFree(port)) return port;
    }
    throw new Error(`no free port in TISHENG_TEST_PORTS=${process.env.TISHENG_TEST_PORTS}`);
  }
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tail(text, n = 6000) {
  return text.length > n ? '…' + text.slice(-n) : text;
}

/**
 * Makes a data directory and starts the server.
 * Returns an object with: tmp, data, sms, port, base, proc, cli(args), stderr(),
 * stdout(), restart(), stop(). `data` is the --data directory, `sms` the SMS file.
 */
export async function startServer({ demo = true, extraArgs = [], ipLimit = 0 } = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`tisheng binary not found at ${BIN} (set TISHENG_BIN)`);
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'tisheng-api-'));
  const data = path.join(tmp, 'data');
  const sms = path.join(tmp, 'sms.jsonl');
  const initArgs = ['init', '--data', data];
  if (demo) initArgs.push('--demo');
  let pgdb = null;
  if (PG_BASE) {
    pgdb = `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    execFileSync('psql', [`${PG_BASE}/postgres`, '-qc', `CREATE DATABASE ${pgdb}`], { stdio: 'pipe' });
    initArgs.push('--store', `${PG_BASE}/${pgdb}`);
  }
  const init = await cli(initArgs);
  if (init.code !== 0) {
    if (!process.env.TISHENG_KEEP_TMP) await fsp.rm(tmp, { recursive: true, force: true });
    throw new Error(
      `tisheng ${initArgs.join(' ')} exited ${init.code}\n--- stdout\n${tail(init.stdout)}\n--- stderr\n${tail(init.stderr)}`,
    );
  }
  const srv = {
    tmp,
    data,
    sms,
    port: 0,
    base: '',
    proc: null,
    exited: null,
    errPath: path.join(tmp, 'server.stderr'),
    outPath: path.join(tmp, 'server.stdout'),
    initOutput: init.stdout + init.stderr,
    cli: (args, opts) => cli(args, opts),
    stderr: () => readOr(srv.errPath),
    stdout: () => readOr(srv.outPath),
    stderrTail: (n) => tail(readOr(srv.errPath), n),
    ipLimit,
    start: () => launch(srv, extraArgs),
    stop: () => stopProc(srv),
    /** Kills the server with SIGKILL (a crash) and waits for it to exit. */
    async kill() {
      const proc = srv.proc;
      if (!proc) return null;
      srv.proc = null;
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      return srv.exited;
    },
    async restart() {
      await stopProc(srv);
      await launch(srv, extraArgs);
    },
    store: pgdb ? `${PG_BASE}/${pgdb}` : null,
    /** PostgreSQL only: the whole database as SQL text (pg_dump). */
    pgDump() {
      return pgdb ? execFileSync('pg_dump', [`${PG_BASE}/${pgdb}`], { encoding: 'utf8', maxBuffer: 256 << 20 }) : '';
    },
    async cleanup() {
      await stopProc(srv);
      if (pgdb) {
        try {
          execFileSync('psql', [`${PG_BASE}/postgres`, '-qc', `DROP DATABASE IF EXISTS ${pgdb} WITH (FORCE)`], { stdio: 'pipe' });
        } catch {
          /* a leftover test database is harmless */
        }
      }
      if (!process.env.TISHENG_KEEP_TMP) await fsp.rm(tmp, { recursive: true, force: true });
      else console.error(`kept ${tmp}`);
    },
  };
  try {
    await launch(srv, extraArgs);
  } catch (err) {
    await srv.cleanup();
    throw err;
  }
  return srv;
}

function readOr(p) {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

async function launch(srv, extraArgs) {
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const errFd = fs.openSync(srv.errPath, 'a');
    const outFd = fs.openSync(srv.outPath, 'a');
    const args = [
      'serve',
      '--data',
      srv.data,
      '--listen',
      `127.0.0.1:${port}`,
      '--sms',
      `file:${srv.sms}`,
      '--ip-limit',
      String(srv.ipLimit),
      ...extraArgs,
    ];
    const env = { ...process.env };
    if (env.LSAN_OPTIONS === undefined) env.LSAN_OPTIONS = `suppressions=${path.join(REPO, 'tests/api/lsan.supp')}:print_suppressions=0`;
    const proc = spawn(BIN, args, { cwd: REPO, stdio: ['ignore', outFd, errFd], env });
    fs.closeSync(errFd);
    fs.closeSync(outFd);
    srv.proc = proc;
    srv.port = port;
    srv.base = `http://127.0.0.1:${port}`;
    srv.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    let exitInfo = null;
    srv.exited.then((e) => (exitInfo = e));
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline && !exitInfo) {
      try {
        const res = await fetch(`${srv.base}/healthz`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        /* not up yet */
      }
      await sleep(100);
    }
    if (exitInfo) {
      lastErr = new Error(
        `tisheng ${args.join(' ')} exited (${JSON.stringify(exitInfo)}) before answering /healthz\n--- stderr\n${srv.stderrTail()}`,
      );
      // maybe the port was taken in between: retry with another one
      continue;
    }
    await stopProc(srv);
    throw new Error(`GET /healthz did not answer 200 within 20 s\n--- stderr\n${srv.stderrTail()}`);
  }
  throw lastErr;
}

async function stopProc(srv) {
  const proc = srv.proc;
  if (!proc) return null;
  srv.proc = null;
  if (proc.exitCode !== null || proc.signalCode !== null) return srv.exited;
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
  const info = await srv.exited;
  clearTimeout(timer);
  return info;
}

/** Sanitizer or crash reports in a text (the server's stderr). */
export function crashReports(text) {
  const m = text.match(
    /(ERROR: AddressSanitizer[^\n]*|ERROR: LeakSanitizer[^\n]*|runtime error:[^\n]*|SUMMARY: \w+Sanitizer[^\n]*)/g,
  );
  return m || [];
}
