// kill -9 one node mid-rush. Two nodes on one PostgreSQL; 1 500 applicants
// rush yn2022-skill senior-technician (550 places) through both. Node A gets
// SIGKILL after ~30 % of the answers; node B keeps answering (201 until the
// places run out, then 409 quota_full; never 503, never a dropped
// connection), and a second wave of applicants who logged in on A before its
// death submits on B (to technician, so that it is written: 201 each). Afterwards every 201 from either node is in the
// database with the same id and rank, no rank is given twice or beyond the
// places, ranks are dense, `ledger verify` passes, and node A, restarted,
// serves again (reads and a new submission).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { appOf, validFields } from '../api/lib/client.mjs';
import { idNumber, phone as newPhone } from '../api/lib/gen.mjs';
import { loginMany, logProblems, lostAcks, pgMissing, psql, rankProblems, sleep, storedApps, tally, tisheng, twoNodes,
  withLogs } from './lib.mjs';

const N = Number(process.env.TISHENG_PG_KILL_N || 1500);
const WAVE2 = 200;
const P = 'yn2022-skill';
const CAT = 'senior-technician';
const PLACES = 550;
const KILL_AT = Math.round(N * 0.3);

test(`two nodes: SIGKILL node A after ~30 % of a ${N}-applicant rush; node B keeps serving, nothing acknowledged is lost`,
  { timeout: 150000, skip: pgMissing() }, async (t) => {
    const env = await twoNodes(2);
    const [A, B] = env.nodes;
    try {
      await withLogs(env, async () => {
        const people = Array.from({ length: N + WAVE2 }, (_, i) => ({ phone: newPhone(), id: idNumber(), i }));
        // rush: even → A, odd → B, each logged in on the other node; wave 2 logs in on A, submits on B
        const submitOn = (i) => (i >= N ? B : i % 2 ? B : A);
        const loginOn = (i) => (i >= N ? A : i % 2 ? A : B);
        const tokens = await loginMany(people.map((p) => p.phone), loginOn, loginOn, 48);
        people.forEach((p, i) => (p.token = tokens[i]));
        const template = await validFields(A, P, {}, CAT);
        const rush = people.slice(0, N);
        const wave2 = people.slice(N);

        const t0 = Date.now();
        let answered = 0;
        let killedAt = null;
        let killing = null;
        const procA = A.proc;
        const results = await Promise.all(
          rush.map((p) =>
            submitOn(p.i)
              .submit(p.token, P, CAT, { ...template, id_number: p.id }, { timeout: 30000 })
              .then((r) => {
                r.p = p;
                r.node = submitOn(p.i).name;
                if (!r.error && ++answered >= KILL_AT && !killing) {
                  killedAt = Date.now();
                  procA.kill('SIGKILL');
                  killing = A.kill();
                }
                return r;
              }),
          ),
        );
        if (!killing) killing = A.kill();
        const exitA = await killing;
        assert.equal(exitA?.signal, 'SIGKILL', `node A exit: ${JSON.stringify(exitA)}`);
        const t1 = Date.now();
        const rA = results.filter((r) => r.node === 'A');
        const rB = results.filter((r) => r.node === 'B');
        t.diagnostic(`rush answered in ${t1 - t0} ms; A killed at +${killedAt - t0} ms after ${KILL_AT} answers`);
        t.diagnostic(`node A: ${JSON.stringify(tally(rA))}`);
        t.diagnostic(`node B: ${JSON.stringify(tally(rB))}; after the kill: ${JSON.stringify(tally(rB.filter((r) => r.at >= killedAt)))}`);

        // node B kept answering through A's death: wave 2 (sessions made on A) submits on B
        const tfields = await validFields(B, P, {}, 'technician');
        const w2 = await Promise.all(
          wave2.map((p) => B.submit(p.token, P, 'technician', { ...tfields, id_number: p.id }).then((r) => Object.assign(r, { p, node: 'B' }))),
        );
        t.diagnostic(`wave 2 on node B (logged in on A before its death): ${JSON.stringify(tally(w2))}`);
        assert.equal(w2.filter((r) => r.status === 201).length, WAVE2, `wave 2 on B: ${JSON.stringify(tally(w2))}`);
        const allB = [...rB, ...w2];
        const badB = allB.filter((r) => !(r.status === 201 || (r.status === 409 && r.body?.error?.code === 'quota_full')));
        assert.deepEqual(
          badB.slice(0, 5).map((r) => `${r.status ?? r.error} ${r.text?.slice(0, 200) ?? ''}`),
          [],
          `node B answered something else than 201 / 409 quota_full (${badB.length}): ${JSON.stringify(tally(allB))}`,
        );
        assert.ok(B.alive(), 'node B is still running');
        const badA = rA.filter(
          (r) => !(r.status === 201 || (r.status === 409 && r.body?.error?.code === 'quota_full') || (r.error && r.at >= killedAt)),
        );
        assert.deepEqual(
          badA.slice(0, 5).map((r) => `+${r.at - t0} ms: ${r.status ?? r.error} ${r.text?.slice(0, 200) ?? ''}`),
          [],
          'node A answered 201 or 409 quota_full before its death, nothing after',
        );
        const answeredAfterKillB = allB.filter((r) => r.at > killedAt).length;
        assert.ok(answeredAfterKillB > 0, 'node B answered requests after A was killed');

        const acked = results
          .filter((r) => r.status === 201)
          .map((r) => ({ id: r.body.id, rank: r.body.rank, node: r.node, t: r.at - t0, p: r.p }));
        const ackedRanks = acked.map((a) => a.rank);
        assert.deepEqual(rankProblems(ackedRanks, PLACES, { dense: false }), [], 'acknowledged ranks');

        // the database: every 201 with its id and rank; ranks once, within the places, dense
        const stored = storedApps(env.cl.url, P, CAT);
        const lost = lostAcks(acked, stored);
        assert.deepEqual(lost.slice(0, 20), [], `${lost.length} acknowledged submissions are not stored as answered`);
        assert.deepEqual(rankProblems(stored.ranks, PLACES), [], 'stored ranks');
        const [[count, distinct]] = psql(
          env.cl.url,
          `select count(*), count(distinct rank) from applications where program='${P}' and category='${CAT}'`,
        );
        const unacked = stored.byId.size - acked.length;
        t.diagnostic(`psql: ${count} applications, ${distinct} distinct ranks; ${acked.length} acknowledged (A ${acked.filter((a) => a.node === 'A').length}, B ${acked.filter((a) => a.node === 'B').length}); ${unacked} stored without an answer (A's batch in flight)`);
        assert.equal(Number(count), Number(distinct));
        // B alone had more applicants than places: the places are all taken, none beyond
        assert.equal(stored.byId.size, PLACES, 'all places taken once B has answered everyone');
        if (allB.some((r) => r.status === 409)) assert.equal(stored.byId.size, PLACES, 'B refused with quota_full before the places ran out');

        const w2stored = storedApps(env.cl.url, P, 'technician');
        const w2acked = w2.map((r) => ({ id: r.body.id, rank: r.body.rank, node: 'B', t: r.at - t0 }));
        assert.deepEqual(lostAcks(w2acked, w2stored), [], 'wave 2 stored as answered');
        assert.deepEqual(rankProblems(w2stored.ranks, 1650), [], 'wave 2 stored ranks');
        assert.equal(w2stored.byId.size, WAVE2);

        // what an applicant acknowledged by A reads back through B
        const fromA = acked.filter((a) => a.node === 'A');
        assert.ok(fromA.length > 0, 'node A acknowledged some submissions before the kill');
        for (const a of fromA.filter((_, i) => i % Math.max(1, Math.floor(fromA.length / 40)) === 0)) {
          const res = await B.request('GET', `/api/v1/applications/${encodeURIComponent(a.id)}`, { token: a.p.token });
          assert.equal(res.status, 200, `GET /api/v1/applications/${a.id} via B: ${res.status} ${res.text.slice(0, 300)}`);
          assert.equal(appOf(res).rank, a.rank, `application ${a.id} rank via B`);
        }

        const v = await tisheng(['ledger', 'verify', '--data', env.data], { allowFail: true });
        t.diagnostic(`ledger verify: exit ${v.code}: ${(v.stdout + v.stderr).trim().slice(0, 200)}`);
        assert.equal(v.code, 0, `ledger verify exited ${v.code}\n${v.stdout}\n${v.stderr}`);

        // node A restarted on the same data directory serves again
        const tr = Date.now();
        await A.start();
        t.diagnostic(`node A restarted in ${Date.now() - tr} ms`);
        const remA = await A.remaining();
        assert.equal(remA[`${P}/${CAT}`], 0, 'restarted A knows the places are taken');
        const a0 = fromA[0];
        const mine = await A.request('GET', '/api/v1/applications', { token: a0.p.token });
        assert.equal(mine.status, 200, mine.text);
        assert.equal(mine.body.applications.length, 1);
        assert.equal(mine.body.applications[0].rank, a0.rank);
        // new applicants log in on the restarted A: the full category refuses, another one is written
        const [tok1, tok2] = await loginMany([newPhone(), newPhone()], () => A, () => A);
        const full = await A.submit(tok1, P, CAT, { ...template, id_number: idNumber() });
        assert.equal(full.status, 409, `a late submission to the full category via restarted A: ${full.status} ${full.text}`);
        assert.equal(full.body?.error?.code, 'quota_full', full.text);
        const w = await A.submit(tok2, P, 'technician', { ...tfields, id_number: idNumber() });
        assert.equal(w.status, 201, `new submission via restarted A: ${w.status} ${w.text}`);
        assert.equal(w.body.rank, WAVE2 + 1, 'the next technician rank after wave 2');
        t.diagnostic(`restarted A accepted a new submission (technician rank ${w.body.rank})`);

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
