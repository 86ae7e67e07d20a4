// The opening rush: 3000 applicants submit to one category with 550 places at
// once. Exactly the places are handed out, each rank once; the ledger verifies,
// and a tampered ledger does not.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import { useServer, api, expectStatus, loginMany, validFields, remaining } from './lib/client.mjs';
import { idNumber, phone as newPhone } from './lib/gen.mjs';
import { STORE_KIND } from './lib/server.mjs';

const { test } = useServer();
const N = Number(process.env.TISHENG_RUSH_N || 3000);
const CONNECTIONS = Number(process.env.TISHENG_RUSH_CONNECTIONS || 1000);
const P = 'yn2022-skill';
const CAT = 'senior-technician';
const CAP = 500;
const PLACES = 550;

/** POST JSON over node:http with a bounded keep-alive agent; resolves {status, body} or {error}. */
function post(agent, port, urlPath, token, payload) {
  return new Promise((resolve) => {
    const data = Buffer.from(JSON.stringify(payload));
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': data.length, authorization: `Bearer ${token}` },
        timeout: 90000,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body = null;
          try {
            body = JSON.parse(text);
          } catch {
            /* keep text */
          }
          resolve({ status: res.statusCode, body, text });
        });
        res.on('error', (e) => resolve({ error: String(e) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: String(e) }));
    req.end(data);
  });
}

let state = null;

test(`rush: ${N} applicants submit at once for ${PLACES} places`, { timeout: 180000 }, async (t, srv) => {
  const t0 = Date.now();
  const people = Array.from({ length: N }, () => ({ phone: newPhone(), id: idNumber() }));
  const tokens = await loginMany(srv, people.map((p) => p.phone), 64);
  people.forEach((p, i) => (p.token = tokens[i]));
  const template = await validFields(srv, P, {}, CAT);
  const t1 = Date.now();
  t.diagnostic(`logged in ${N} applicants in ${t1 - t0} ms`);

  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const results = await Promise.all(
    people.map((p) =>
      post(agent, srv.port, '/api/v1/applications', p.token, {
        program: P,
        category: CAT,
        fields: { ...template, id_number: p.id },
      }),
    ),
  );
  agent.destroy();
  const t2 = Date.now();
  t.diagnostic(`${N} submissions answered in ${t2 - t1} ms`);

  const tally = {};
  for (const r of results) {
    const k = r.error ? `error ${r.error}` : `${r.status} ${r.body?.error?.code ?? r.body?.quota ?? r.text.slice(0, 80)}`;
    tally[k] = (tally[k] || 0) + 1;
  }
  t.diagnostic(`outcomes: ${JSON.stringify(tally)}`);
  const ok = results.filter((r) => r.status === 201);
  const full = results.filter((r) => r.status === 409 && r.body?.error?.code === 'quota_full');
  assert.equal(ok.length + full.length, N, `every answer is 201 or 409 quota_full: ${JSON.stringify(tally)}`);
  assert.equal(ok.length, PLACES, `accepted: ${JSON.stringify(tally)}`);
  assert.equal(full.length, N - PLACES);
  for (const r of full) assert.match(r.body.error.message, /[\u4e00-\u9fff]/);

  const ranks = ok.map((r) => r.body.rank).sort((a, b) => a - b);
  assert.deepEqual(ranks, Array.from({ length: PLACES }, (_, i) => i + 1), 'ranks 1..550 each exactly once');
  const ids = new Set(ok.map((r) => String(r.body.id)));
  assert.equal(ids.size, PLACES, 'distinct application ids');
  for (const r of ok) {
    assert.equal(r.body.status, 'submitted');
    assert.equal(r.body.quota, r.body.rank <= CAP ? 'queued' : 'waitlisted', `rank ${r.body.rank} quota ${r.body.quota}`);
  }
  assert.equal(ok.filter((r) => r.body.quota === 'queued').length, CAP);
  assert.equal(ok.filter((r) => r.body.quota === 'waitlisted').length, PLACES - CAP);
  const receipts = new Set(ok.map((r) => JSON.stringify(r.body.receipt)));
  assert.equal(receipts.size, PLACES, 'every receipt is distinct');

  const rem = await remaining(srv);
  assert.equal(rem[`${P}/${CAT}`], 0);
  assert.equal(rem[`${P}/technician`], 1650);

  // spot checks: what an applicant reads back equals what the rush answered
  for (const i of [0, Math.floor(N / 2), N - 1]) {
    const r = results[i];
    const res = await api(srv, 'GET', '/api/v1/applications', { token: people[i].token });
    expectStatus(res, 200);
    if (r.status === 201) {
      assert.equal(res.body.applications.length, 1);
      assert.equal(res.body.applications[0].rank, r.body.rank);
    } else assert.equal(res.body.applications.length, 0);
  }
  state = { ok: true };
});

test('rush: after the server stops, `tisheng ledger verify` exits 0', { timeout: 120000 }, async (t, srv) => {
  assert.ok(state?.ok, 'the rush test did not complete');
  await srv.stop();
  const r = await srv.cli(['ledger', 'verify', '--data', srv.data]);
  assert.equal(r.code, 0, `ledger verify exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  t.diagnostic(`ledger verify: ${(r.stdout + r.stderr).trim().slice(0, 300)}`);
  // without --data the command uses $TISHENG_DATA
  const e = await srv.cli(['ledger', 'verify'], { env: { TISHENG_DATA: srv.data } });
  assert.equal(e.code, 0, `TISHENG_DATA=… ledger verify exited ${e.code}\n${e.stdout}\n${e.stderr}`);
});

function sql(db, query) {
  return execFileSync('sqlite3', ['-batch', '-noheader', '-separator', '\t', db, query], { encoding: 'utf8' }).trim();
}

function dbFile(dir) {
  const files = fs.readdirSync(dir).filter((f) => !/-(wal|shm|journal)$/.test(f));
  const dbs = files.filter((f) => {
    const p = path.join(dir, f);
    return fs.statSync(p).isFile() && fs.readFileSync(p).subarray(0, 16).toString('latin1') === 'SQLite format 3\0';
  });
  assert.ok(dbs.length >= 1, `no SQLite file in ${dir}: ${files}`);
  return path.join(dir, dbs.find((f) => f === 'tisheng.db') ?? dbs[0]);
}

/** Copies the data directory and applies `tamper(dbPath, table, columns)` to the copy's ledger. */
function tamperedCopy(srv, name, tamper) {
  const dir = path.join(srv.tmp, name);
  fs.cpSync(srv.data, dir, { recursive: true });
  const db = dbFile(dir);
  const tables = sql(db, "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%ledger%' ORDER BY length(name)").split('\n').filter(Boolean);
  assert.ok(tables.length, `no ledger table in ${db}: ${sql(db, "SELECT name FROM sqlite_master WHERE type='table'")}`);
  const table = tables[0];
  const columns = sql(db, `SELECT name FROM pragma_table_info('${table}')`).split('\n');
  const count = Number(sql(db, `SELECT count(*) FROM "${table}"`));
  assert.ok(count >= 550, `ledger table ${table} has ${count} rows`);
  const changes = tamper(db, table, columns);
  assert.ok(changes >= 1, `tampering ${name} changed nothing`);
  return { dir, table, columns };
}

test('rush: a tampered ledger (a row deleted, two rows\' times swapped, a rank changed) fails `ledger verify`', { timeout: 120000, skip: STORE_KIND !== 'sqlite' && 'tampers with the SQLite file' }, async (t, srv) => {
  assert.ok(state?.ok, 'the rush test did not complete');
  const mid = 'SELECT rowid FROM "%T" ORDER BY rowid LIMIT 1 OFFSET 275';
  const variants = {
    'deleted-row': (db, table) =>
      Number(sql(db, `DELETE FROM "${table}" WHERE rowid = (${mid.replace('%T', table)}); SELECT changes();`)),
    'swapped-times': (db, table, cols) => {
      const col = cols.find((c) => /(^|_)(at|time|ts|us)$|time/i.test(c));
      assert.ok(col, `no time column in ${table}: ${cols}`);
      const rows = sql(db, `SELECT rowid, quote("${col}") FROM "${table}" ORDER BY rowid LIMIT 400 OFFSET 100`)
        .split('\n')
        .map((l) => l.split('\t'));
      const a = rows[0];
      const b = rows.find((r) => r[1] !== a[1]);
      assert.ok(b, `rows 100..500 of ${table} all have the same ${col}`);
      return Number(
        sql(
          db,
          `UPDATE "${table}" SET "${col}" = ${b[1]} WHERE rowid = ${a[0]};
           UPDATE "${table}" SET "${col}" = ${a[1]} WHERE rowid = ${b[0]};
           SELECT total_changes();`,
        ),
      );
    },
    'changed-rank': (db, table, cols) => {
      const col = cols.find((c) => c === 'rank') ?? cols.find((c) => /rank/i.test(c));
      assert.ok(col, `no rank column in ${table}: ${cols}`);
      return Number(sql(db, `UPDATE "${table}" SET "${col}" = "${col}" + 1000 WHERE rowid = (${mid.replace('%T', table)}); SELECT changes();`));
    },
  };
  for (const [name, tamper] of Object.entries(variants)) {
    const { dir, table, columns } = tamperedCopy(srv, name, tamper);
    const r = await srv.cli(['ledger', 'verify', '--data', dir]);
    assert.notEqual(r.code, 0, `ledger verify accepted a ledger with ${name} (table ${table}, columns ${columns})\n${r.stdout}\n${r.stderr}`);
    t.diagnostic(`${name}: exit ${r.code}: ${(r.stdout + r.stderr).trim().slice(0, 200)}`);
  }
});
