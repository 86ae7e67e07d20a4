// A rush split across two nodes on one PostgreSQL: 1 500 distinct applicants,
// each logged in on one node and submitting on the other (sessions live in the
// database), all at once to yn2022-skill senior-technician (550 places, cap
// 500). Exactly 550 are accepted with ranks 1…550 each once (500 queued, 50
// waitlisted), the rest get 409 quota_full; both nodes show 0 remaining within
// ~2 s; the rows in PostgreSQL match the answers; `ledger verify` exits 0.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { validFields } from '../api/lib/client.mjs';
import { idNumber, phone as newPhone } from '../api/lib/gen.mjs';
import { loginMany, logProblems, pgMissing, psql, rankProblems, sleep, storedApps, tally, tisheng, twoNodes, withLogs,
  lostAcks } from './lib.mjs';

const N = Number(process.env.TISHENG_PG_RUSH_N || 1500);
const P = 'yn2022-skill';
const CAT = 'senior-technician';
const PLACES = 550;
const CAP = 500;

test(`two nodes, one PostgreSQL: ${N} applicants rush ${PLACES} places`, { timeout: 150000, skip: pgMissing() }, async (t) => {
  const env = await twoNodes(2);
  const [A, B] = env.nodes;
  try {
    await withLogs(env, async () => {
      const t0 = Date.now();
      const people = Array.from({ length: N }, (_, i) => ({ phone: newPhone(), id: idNumber(), i }));
      // even: code and login on A, submit on B; odd: the other way round
      const loginOn = (i) => (i % 2 ? B : A);
      const submitOn = (i) => (i % 2 ? A : B);
      const tokens = await loginMany(people.map((p) => p.phone), loginOn, loginOn, 48);
      people.forEach((p, i) => (p.token = tokens[i]));
      const template = await validFields(A, P, {}, CAT);
      const t1 = Date.now();
      t.diagnostic(`logged in ${N} applicants in ${t1 - t0} ms`);

      const results = await Promise.all(
        people.map((p) => submitOn(p.i).submit(p.token, P, CAT, { ...template, id_number: p.id }).then((r) => ({ ...r, p }))),
      );
      const t2 = Date.now();
      const tl = tally(results);
      t.diagnostic(`${N} submissions answered in ${t2 - t1} ms: ${JSON.stringify(tl)}`);
      for (const node of [A, B]) {
        const mine = results.filter((r) => submitOn(r.p.i) === node);
        t.diagnostic(`node ${node.name}: ${JSON.stringify(tally(mine))}`);
      }

      const ok = results.filter((r) => r.status === 201);
      const full = results.filter((r) => r.status === 409 && r.body?.error?.code === 'quota_full');
      assert.equal(ok.length + full.length, N, `every answer is 201 or 409 quota_full: ${JSON.stringify(tl)}`);
      assert.equal(ok.length, PLACES, `accepted: ${JSON.stringify(tl)}`);
      const ranks = ok.map((r) => r.body.rank).sort((a, b) => a - b);
      assert.deepEqual(ranks, Array.from({ length: PLACES }, (_, i) => i + 1), 'ranks 1..550 each exactly once');
      assert.equal(new Set(ok.map((r) => String(r.body.id))).size, PLACES, 'distinct application ids');
      for (const r of ok) {
        assert.equal(r.body.status, 'submitted');
        assert.equal(r.body.quota, r.body.rank <= CAP ? 'queued' : 'waitlisted', `rank ${r.body.rank} quota ${r.body.quota}`);
      }
      assert.equal(ok.filter((r) => r.body.quota === 'queued').length, CAP);
      assert.equal(ok.filter((r) => r.body.quota === 'waitlisted').length, PLACES - CAP);
      assert.equal(new Set(ok.map((r) => JSON.stringify(r.body.receipt))).size, PLACES, 'every receipt is distinct');
      const byNode = { A: ok.filter((r) => submitOn(r.p.i) === A).length, B: ok.filter((r) => submitOn(r.p.i) === B).length };
      t.diagnostic(`accepted per node: ${JSON.stringify(byNode)}`);

      // both nodes follow the database within ~2 s
      for (const node of [A, B]) {
        const deadline = Date.now() + 2500;
        let rem;
        for (;;) {
          rem = await node.remaining();
          if (rem[`${P}/${CAT}`] === 0) break;
          if (Date.now() > deadline) break;
          await sleep(100);
        }
        t.diagnostic(`node ${node.name}: remaining 0 after ${Date.now() - t2} ms`);
        assert.equal(rem[`${P}/${CAT}`], 0, `node ${node.name} still shows ${rem[`${P}/${CAT}`]} remaining ~2 s after the rush`);
        assert.equal(rem[`${P}/technician`], 1650, `node ${node.name}: technician remaining`);
      }

      // the database holds exactly what was answered
      const [[count, distinct]] = psql(env.cl.url, 'select count(*), count(distinct rank) from applications');
      t.diagnostic(`psql: applications count=${count} distinct ranks=${distinct}`);
      assert.equal(Number(count), PLACES);
      assert.equal(Number(distinct), PLACES);
      const stored = storedApps(env.cl.url, P, CAT);
      assert.deepEqual(rankProblems(stored.ranks, PLACES), []);
      const acked = ok.map((r) => ({ id: r.body.id, rank: r.body.rank, node: submitOn(r.p.i).name, t: r.at - t1 }));
      assert.deepEqual(lostAcks(acked, stored), [], 'every 201 is stored with its rank');
      const [[counter]] = psql(env.cl.url, `select taken from quota_counters where program='${P}' and category='${CAT}'`);
      assert.equal(Number(counter), PLACES, 'quota_counters.taken');

      // a spot check across nodes: an applicant reads back on the node they logged in on
      for (const r of [ok[0], ok[ok.length - 1], full[0]]) {
        const res = await loginOn(r.p.i).request('GET', '/api/v1/applications', { token: r.p.token });
        assert.equal(res.status, 200, res.text);
        if (r.status === 201) {
          assert.equal(res.body.applications.length, 1);
          assert.equal(res.body.applications[0].rank, r.body.rank);
        } else assert.equal(res.body.applications.length, 0);
      }

      const v = await tisheng(['ledger', 'verify', '--data', env.data], { allowFail: true });
      t.diagnostic(`ledger verify (nodes running): exit ${v.code}: ${(v.stdout + v.stderr).trim().slice(0, 200)}`);
      assert.equal(v.code, 0, `ledger verify exited ${v.code}\n${v.stdout}\n${v.stderr}`);

      for (const n of [A, B]) {
        const e = await n.stop();
        assert.ok(e && e.code === 0, `node ${n.name} did not stop cleanly on SIGTERM: ${JSON.stringify(e)}`);
      }
      assert.deepEqual(logProblems([A, B]), []);
    });
  } finally {
    await env.cleanup();
  }
});
