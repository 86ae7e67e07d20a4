// Growing up: a SQLite data directory that went through a small rush is
// copied to an empty PostgreSQL with `tisheng store copy`; `ledger verify
// --store URL` passes on the copy, the applications (ids, categories, ranks)
// match, and a node on the copy serves the old sessions and continues the
// ranks.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { validFields } from '../api/lib/client.mjs';
import { idNumber, phone as newPhone } from '../api/lib/gen.mjs';
import { Node, initData, loginMany, logProblems, pgMissing, psql, startCluster, tally, tisheng, tmpdir, withLogs } from './lib.mjs';

const N = 300;
const P = 'yn2022-skill';

function sqlite(db, query) {
  return execFileSync('sqlite3', ['-batch', '-noheader', '-separator', '|', db, query], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

test(`store copy: a SQLite data directory after a ${N}-applicant rush, copied to PostgreSQL, verifies and matches`,
  { timeout: 120000, skip: pgMissing() || (!hasSqlite() && 'sqlite3 not installed') }, async (t) => {
    const cl = await startCluster();
    const tmp = tmpdir('tisheng-pgcopy-');
    const nodes = [];
    const env = { cl, nodes };
    try {
      await withLogs(env, async () => {
        const data = await initData(tmp); // SQLite
        const S = new Node('sqlite', data);
        nodes.push(S);
        await S.start();
        const people = Array.from({ length: N }, (_, i) => ({ phone: newPhone(), id: idNumber(), i }));
        const tokens = await loginMany(people.map((p) => p.phone), () => S, () => S, 32);
        people.forEach((p, i) => (p.token = tokens[i]));
        const cat = (i) => (i % 3 === 0 ? 'technician' : 'senior-technician');
        const templates = { technician: await validFields(S, P, {}, 'technician'), 'senior-technician': await validFields(S, P, {}, 'senior-technician') };
        const results = await Promise.all(people.map((p) => S.submit(p.token, P, cat(p.i), { ...templates[cat(p.i)], id_number: p.id })));
        t.diagnostic(`rush on SQLite: ${JSON.stringify(tally(results))}`);
        assert.equal(results.filter((r) => r.status === 201).length, N, JSON.stringify(tally(results)));
        const e = await S.stop();
        assert.equal(e?.code, 0, `SQLite node stop: ${JSON.stringify(e)}`);
        nodes.length = 0;
        assert.deepEqual(logProblems([S]), []);

        const db = path.join(data, 'tisheng.db');
        assert.ok(fs.existsSync(db), `${db} exists`);
        const c = await tisheng(['store', 'copy', '--data', data, '--from', `sqlite:${db}`, '--to', cl.url], { allowFail: true });
        t.diagnostic(`store copy: exit ${c.code} in ${c.ms} ms: ${(c.stdout + c.stderr).replace(/\s+/g, ' ').trim().slice(0, 400)}`);
        assert.equal(c.code, 0, `store copy exited ${c.code}\n${c.stdout}\n${c.stderr}`);

        const v = await tisheng(['ledger', 'verify', '--data', data, '--store', cl.url], { allowFail: true });
        t.diagnostic(`ledger verify --store URL: exit ${v.code}: ${(v.stdout + v.stderr).trim().slice(0, 200)}`);
        assert.equal(v.code, 0, `ledger verify on the copy exited ${v.code}\n${v.stdout}\n${v.stderr}`);

        const q = 'select id, program, category, rank, status from applications order by id';
        const fromSqlite = sqlite(db, q);
        const fromPg = psql(cl.url, q).map((r) => r.join('|'));
        assert.equal(fromSqlite.length, N);
        assert.deepEqual(fromPg, fromSqlite, 'applications (id, program, category, rank, status) match');
        const counts = psql(cl.url, 'select category, count(*), count(distinct rank), max(rank) from applications group by category order by category');
        t.diagnostic(`PostgreSQL copy: ${JSON.stringify(counts)}`);
        for (const table of ['ledger', 'sessions', 'applicants', 'audit']) {
          const [a] = sqlite(db, `select count(*) from ${table}`);
          const [[b]] = psql(cl.url, `select count(*) from ${table}`);
          assert.equal(b, a, `rows in ${table}`);
        }

        // a node on the copy: old sessions work, ranks continue
        const G = new Node('pg', data, { extra: ['--store', cl.url] });
        nodes.push(G);
        await G.start();
        const r0 = results[1];
        const mine = await G.request('GET', '/api/v1/applications', { token: people[1].token });
        assert.equal(mine.status, 200, `a session made on SQLite, on the copy: ${mine.status} ${mine.text.slice(0, 300)}`);
        assert.equal(mine.body.applications.length, 1);
        assert.equal(mine.body.applications[0].rank, r0.body.rank);
        const senior = results.filter((r, i) => r.status === 201 && cat(i) === 'senior-technician').length;
        const [tok] = await loginMany([newPhone()], () => G, () => G);
        const w = await G.submit(tok, P, 'senior-technician', { ...templates['senior-technician'], id_number: idNumber() });
        assert.equal(w.status, 201, `a new submission on the copy: ${w.status} ${w.text}`);
        assert.equal(w.body.rank, senior + 1, 'ranks continue on the copy');
        const rem = await G.remaining();
        assert.equal(rem[`${P}/senior-technician`], 550 - senior - 1);
        const e2 = await G.stop();
        assert.equal(e2?.code, 0);
        assert.deepEqual(logProblems([G]), []);
        const v2 = await tisheng(['ledger', 'verify', '--data', data, '--store', cl.url], { allowFail: true });
        assert.equal(v2.code, 0, `ledger verify after a submission on the copy exited ${v2.code}\n${v2.stdout}\n${v2.stderr}`);
      });
    } finally {
      for (const n of nodes) await n.stop().catch(() => {});
      await cl.stop().catch(() => {});
      if (!process.env.TISHENG_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

function hasSqlite() {
  try {
    execFileSync('sqlite3', ['-version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}
