// bench/prepare.mjs — logs in N applicants through the real login path and
// writes their tokens and valid, varied submission bodies for wrk.
//
//   node bench/prepare.mjs --url http://127.0.0.1:PORT --sms DIR/sms.jsonl \
//        --n 20000 --out OUTDIR [--first-phone 13900000000] [--conc 128] \
//        [--bench-programs bench-skill-1,bench-skill-2]
//
// For every applicant i (0-based):
//   1. POST /api/v1/auth/sms-code {"phone"}            (all phones first)
//   2. the code is read from the file SMS gateway (sms.jsonl, last code per phone)
//   3. POST /api/v1/auth/login {"phone","code"}        → token
// Writes (one line per applicant, same order):
//   OUTDIR/tokens.txt        the session token
//   OUTDIR/rush.txt          a body for the opening rush on the demo programs
//                            (yn2022-skill senior-technician / technician, yn2022-edu
//                            bachelor / associate, spread round-robin)
//   OUTDIR/fields.txt        the "fields" object (skill form) for the bench
//                            programs; wrk's script wraps it as
//                            {"program":P,"category":C,"fields":…}
// Everything is deterministic from the applicant number, so runs are comparable;
// ID numbers are valid GB 11643-1999 numbers, unique per applicant.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
    return acc;
  }, []),
);
const URL_ = new URL(args.url ?? 'http://127.0.0.1:8080');
const N = Number(args.n ?? 20000);
const OUT = args.out ?? '.';
const SMS = args.sms;
const CONC = Number(args.conc ?? 128);
const FIRST_PHONE = Number(args['first-phone'] ?? 13900000000);
if (!SMS) throw new Error('--sms DIR/sms.jsonl is required');

const agent = new http.Agent({ keepAlive: true, maxSockets: CONC });

function request(method, p, json, token) {
  const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
  return new Promise((resolve, reject) => {
    const headers = {};
    if (body) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = body.length;
    }
    if (token) headers.authorization = `Bearer ${token}`;
    const req = http.request({ host: URL_.hostname, port: URL_.port, method, path: p, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = null;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          parsed = text;
        }
        resolve({ status: res.statusCode, body: parsed });
      });
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

async function pool(n, fn) {
  let next = 0;
  const workers = Array.from({ length: Math.min(CONC, n) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      for (let attempt = 0; ; attempt++) {
        try {
          await fn(i);
          break;
        } catch (e) {
          if (attempt >= 5) throw e;
          await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
        }
      }
    }
  });
  await Promise.all(workers);
}

import { rushBody, skillFields, MAX_APPLICANTS } from './gen.mjs';

if (N > MAX_APPLICANTS) throw new Error('N too large for unique ID numbers');

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const t0 = Date.now();
  const orgs = await request('GET', '/api/v1/orgs');
  if (orgs.status !== 200) throw new Error(`GET /api/v1/orgs: ${orgs.status}`);
  const unions = orgs.body.orgs.filter((o) => o.level === 'base').map((o) => o.code);
  if (!unions.length) throw new Error('no base-level union in /api/v1/orgs');

  const phones = Array.from({ length: N }, (_, i) => String(FIRST_PHONE + i));
  const bad = {};
  await pool(N, async (i) => {
    const r = await request('POST', '/api/v1/auth/sms-code', { phone: phones[i] });
    if (r.status !== 200) bad[r.status] = (bad[r.status] || 0) + 1;
  });
  if (Object.keys(bad).length) throw new Error(`sms-code failures: ${JSON.stringify(bad)}`);
  const t1 = Date.now();

  const codes = new Map();
  for (const line of fs.readFileSync(SMS, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      const m = JSON.parse(line);
      if (m.phone && m.code) codes.set(m.phone, m.code);
    } catch {
      /* a partly written last line */
    }
  }
  const tokens = new Array(N);
  await pool(N, async (i) => {
    const code = codes.get(phones[i]);
    if (!code) throw new Error(`no SMS code for ${phones[i]}`);
    const r = await request('POST', '/api/v1/auth/login', { phone: phones[i], code });
    if (r.status !== 200 || !r.body?.token) throw new Error(`login ${phones[i]}: ${r.status} ${JSON.stringify(r.body)}`);
    tokens[i] = r.body.token;
  });
  const t2 = Date.now();

  // Check a sample body of each kind against the real validation before the run
  // (as a dry run would cost a place, only check the shape of the categories here).
  const w = (file, lines) => fs.writeFileSync(path.join(OUT, file), lines.join('\n') + '\n');
  w('tokens.txt', tokens);
  w('rush.txt', Array.from({ length: N }, (_, i) => JSON.stringify(rushBody(i, unions))));
  w('fields.txt', Array.from({ length: N }, (_, i) =>
    JSON.stringify(skillFields(i, i % 3 === 0 ? 'senior-technician' : 'technician', unions))));
  w('phones.txt', phones);
  const t3 = Date.now();
  console.log(`prepare: ${N} applicants; sms-code ${((t1 - t0) / 1000).toFixed(1)} s (${Math.round(N / ((t1 - t0) / 1000))}/s),` +
    ` login ${((t2 - t1) / 1000).toFixed(1)} s (${Math.round(N / ((t2 - t1) / 1000))}/s), files ${((t3 - t2) / 1000).toFixed(1)} s`);
  agent.destroy();
}

main().catch((e) => {
  console.error(`prepare failed: ${e.stack || e}`);
  process.exit(1);
});
