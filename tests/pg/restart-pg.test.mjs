// Restart PostgreSQL mid-rush (`pg_ctl -m fast restart`). Two nodes on one
// database; 1 600 applicants, each logged in on one node, stream their
// submissions to yn2022-skill technician (1 650 places) through the other,
// 24 at a time per node; after ~30 % of the answers PostgreSQL is restarted.
// During the outage requests get 503 (`unavailable` or `busy`) and the
// applicant tries again 150 ms later, like a client honouring Retry-After;
// nothing else is accepted (no 500, no 401, no dropped connection). After the
// restart, new submissions succeed on both nodes without restarting them.
// Every 201 is stored with its id and rank; no rank twice, ranks dense; an
// applicant whose 503 was in fact committed finds it on retry (409 duplicate)
// and reads it back; `ledger verify` passes.
// A second test stops PostgreSQL for 3 s instead (an outage longer than a
// restart): every request during it is answered 503 promptly (no hang) —
// submissions, and also SMS code, login and reading one's applications — and
// the nodes recover on their own once it is back.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { validFields } from '../api/lib/client.mjs';
import { idNumber, phone as newPhone } from '../api/lib/gen.mjs';
import { loginMany, logProblems, lostAcks, outcome, pgMissing, psql, rankProblems, sleep, storedApps, tally, tisheng,
  twoNodes, withLogs } from './lib.mjs';

const N = Number(process.env.TISHENG_PG_RESTART_N || 1600);
const PER_NODE = 24;
const P = 'yn2022-skill';
const CAT = 'technician';
const PLACES = 1650;
const RETRY_MS = 150;
const RECOVERY_LIMIT_MS = Number(process.env.TISHENG_PG_RECOVERY_MS || 5000);
const OUTAGE_MS = 3000;
// pg_ctl's shutdown mode for the restart; TISHENG_PG_RESTART_MODE=immediate makes it a crash of PostgreSQL
const RESTART_MODE = process.env.TISHENG_PG_RESTART_MODE || 'fast';
const SLOW_503_MS = 10000; // a 503 must come promptly: no request hangs on a dead database

test(`two nodes: PostgreSQL restarted (-m ${RESTART_MODE}) during a ${N}-applicant rush: 503s, then recovery; nothing acknowledged lost`,
  { timeout: 150000, skip: pgMissing() }, (t) => faultDuringRush(t, N, 'restart'));

test(`two nodes: PostgreSQL stopped for ${OUTAGE_MS / 1000} s during a rush: prompt 503s, then recovery without restarting the nodes`,
  { timeout: 150000, skip: pgMissing() }, (t) => faultDuringRush(t, Math.round(N / 2), 'outage'));

async function faultDuringRush(t, N, mode) {
  const RESTART_AT = Math.round(N * 0.3);
  const env = await twoNodes(2);
  const [A, B] = env.nodes;
  try {
    await withLogs(env, async () => {
      const people = Array.from({ length: N }, (_, i) => ({ phone: newPhone(), id: idNumber(), i, answers: [] }));
      const loginOn = (i) => (i % 2 ? B : A);
      const submitOn = (i) => (i % 2 ? A : B);
      const tokens = await loginMany(people.map((p) => p.phone), loginOn, loginOn, 48);
      people.forEach((p, i) => (p.token = tokens[i]));
      const template = await validFields(A, P, {}, CAT);

      const t0 = Date.now();
      const ev = { restartStart: null, restartEnd: null, restart: null };
      let restarting = null;
      let answered = 0;
      const all = []; // every answer: {p, node, sent, at, status, body, error}
      const deadline = t0 + 60000;

      // GET /api/v1/programs is served from memory: poll it on both nodes during the rush (diagnostic)
      const readStatuses = { A: {}, B: {} };
      let polling = true;
      const poller = (async () => {
        while (polling) {
          await Promise.all(
            [A, B].map((n) =>
              n.request('GET', '/api/v1/programs', { timeout: 5000 }).then(
                (r) => (readStatuses[n.name][r.status] = (readStatuses[n.name][r.status] || 0) + 1),
                (e) => (readStatuses[n.name][String(e.message)] = (readStatuses[n.name][String(e.message)] || 0) + 1),
              ),
            ),
          );
          await sleep(50);
        }
      })();

      const runNode = async (node, queue) => {
        let pending = queue.length;
        const worker = async () => {
          while (pending > 0) {
            if (Date.now() > deadline) return;
            const p = queue.shift();
            if (!p) {
              await sleep(10);
              continue;
            }
            const sent = Date.now();
            const r = await node.submit(p.token, P, CAT, { ...template, id_number: p.id }, { timeout: 30000 });
            const a = { p, node: node.name, sent, at: r.at, status: r.status, body: r.body, text: r.text, error: r.error };
            all.push(a);
            p.answers.push(a);
            if (++answered >= RESTART_AT && !restarting) {
              ev.restartStart = Date.now();
              restarting = (async () => {
                if (mode === 'restart') ev.restart = await env.cl.restart(RESTART_MODE);
                else {
                  const st = await env.cl.pgStop();
                  const tStop = Date.now();
                  // other requests that need the database, while it is down: 503 as well
                  ev.probes = [];
                  for (const n of [A, B]) {
                    const probe = async (what, method, url, opts) => {
                      const t1 = Date.now();
                      const r = await n.request(method, url, { timeout: 10000, ...opts }).catch((e) => ({ error: String(e.message) }));
                      ev.probes.push({ node: n.name, what, status: r.status, code: r.body?.error?.code, error: r.error, ms: Date.now() - t1, text: r.text?.slice(0, 200) });
                    };
                    await probe('sms-code', 'POST', '/api/v1/auth/sms-code', { json: { phone: newPhone() } });
                    await probe('login', 'POST', '/api/v1/auth/login', { json: { phone: people[0].phone, code: '000000' } });
                    await probe('my applications', 'GET', '/api/v1/applications', { token: people[0].token });
                    await probe('healthz', 'GET', '/healthz', {});
                  }
                  await sleep(Math.max(0, OUTAGE_MS - (Date.now() - tStop)));
                  const sa = await env.cl.pgStart();
                  ev.restart = { code: st.code || sa.code, ms: Date.now() - ev.restartStart, stdout: st.stdout + sa.stdout, stderr: st.stderr + sa.stderr };
                }
                ev.restartEnd = Date.now();
              })();
            }
            if (r.status === 503) {
              await sleep(RETRY_MS);
              queue.push(p);
            } else pending--;
          }
        };
        await Promise.all(Array.from({ length: PER_NODE }, worker));
        return pending;
      };
      let left;
      try {
        left = await Promise.all([
          runNode(A, people.filter((p) => submitOn(p.i) === A)),
          runNode(B, people.filter((p) => submitOn(p.i) === B)),
        ]);
      } finally {
        if (restarting) await restarting;
        polling = false;
        await poller;
      }
      const tEnd = Date.now();
      assert.ok(ev.restart, 'PostgreSQL was restarted during the rush');
      assert.equal(ev.restart.code, 0, `pg_ctl ${mode} exited ${ev.restart.code}\n${ev.restart.stdout}\n${ev.restart.stderr}`);

      const rel = (x) => (x == null ? null : x - t0);
      const s503 = all.filter((a) => a.status === 503);
      const first503 = s503.length ? Math.min(...s503.map((a) => a.at)) : null;
      const last503 = s503.length ? Math.max(...s503.map((a) => a.at)) : null;
      const recovered = {};
      for (const n of [A, B]) {
        const after = all.filter((a) => a.node === n.name && a.status === 201 && a.sent >= ev.restartEnd);
        recovered[n.name] = after.length ? Math.min(...after.map((a) => a.at)) - ev.restartEnd : null;
      }
      t.diagnostic(`${mode === 'restart' ? `pg_ctl -m ${RESTART_MODE} restart` : `pg_ctl stop, ${OUTAGE_MS} ms, start`}: started +${rel(ev.restartStart)} ms (after ${RESTART_AT} answers), returned +${rel(ev.restartEnd)} ms (${ev.restart.ms} ms)`);
      t.diagnostic(`answers: ${all.length} for ${N} applicants in ${tEnd - t0} ms: ${JSON.stringify(tally(all))}`);
      t.diagnostic(`503s: ${s503.length} (A ${s503.filter((a) => a.node === 'A').length}, B ${s503.filter((a) => a.node === 'B').length}) ${JSON.stringify(tally(s503))}, first +${rel(first503)} ms, last +${rel(last503)} ms`);
      t.diagnostic(`first 201 sent after pg_ctl returned: node A +${recovered.A} ms, node B +${recovered.B} ms after it returned; last 503 ${last503 == null ? '-' : `${last503 - ev.restartEnd} ms`} after it returned`);
      const slow = s503.length ? Math.max(...s503.map((a) => a.at - a.sent)) : 0;
      t.diagnostic(`slowest 503: ${slow} ms; slowest answer: ${Math.max(...all.map((a) => a.at - a.sent))} ms`);
      t.diagnostic(`GET /api/v1/programs during the rush: ${JSON.stringify(readStatuses)}`);

      assert.deepEqual(left, [0, 0], `applicants still without a final answer 60 s after the start: ${JSON.stringify(tally(all.slice(-50)))}`);
      assert.ok(A.alive() && B.alive(), 'both nodes are still running');

      // what the nodes answered: 201; 503 unavailable|busy; on a retry after a 503, 409 duplicate
      const bad = [];
      for (const p of people) {
        p.answers.forEach((a, k) => {
          const prev503 = k > 0 && p.answers[k - 1].status === 503;
          const ok =
            a.status === 201 ||
            (a.status === 503 && ['unavailable', 'busy'].includes(a.body?.error?.code)) ||
            (a.status === 409 && prev503 && a.body?.error?.code === 'duplicate');
          if (!ok) bad.push(`${a.node} +${a.at - t0} ms: ${outcome(a)} ${a.text?.slice(0, 200) ?? ''}`);
        });
      }
      assert.deepEqual(bad.slice(0, 10), [], `${bad.length} unexpected answers`);
      const early = s503.filter((a) => a.at < ev.restartStart);
      assert.deepEqual(early.map((a) => `${a.node} +${a.at - t0}: ${a.text}`), [], '503 before PostgreSQL was restarted');
      assert.ok(slow <= SLOW_503_MS, `a 503 took ${slow} ms to come`);
      if (ev.probes) {
        t.diagnostic(`other requests while PostgreSQL was down: ${ev.probes.map((x) => `${x.node} ${x.what} → ${x.status ?? x.error} ${x.code ?? ''} (${x.ms} ms)`).join('; ')}`);
        const wrong = ev.probes.filter((x) => x.what !== 'healthz' && !(x.status === 503 && ['unavailable', 'busy'].includes(x.code)));
        assert.deepEqual(wrong.map((x) => `${x.node} ${x.what}: ${x.status ?? x.error} ${x.text ?? ''}`), [], 'requests that need the database answer 503 while it is down');
      }
      if (mode === 'outage') assert.ok(s503.length > 0, 'requests during a 3 s outage are answered 503');
      if (last503 !== null)
        assert.ok(last503 - ev.restartEnd <= RECOVERY_LIMIT_MS, `503s went on ${last503 - ev.restartEnd} ms after PostgreSQL was back`);
      // (when the rush still sent requests after PostgreSQL was back; a new submission per node follows below in any case)
      for (const n of ['A', 'B'])
        if (all.some((a) => a.node === n && a.sent >= ev.restartEnd))
          assert.ok(recovered[n] !== null, `node ${n}: no submission sent after the restart succeeded`);

      // the database: every 201 with its id and rank, ranks once and dense, one application per person
      const acked = all.filter((a) => a.status === 201).map((a) => ({ id: a.body.id, rank: a.body.rank, node: a.node, t: a.at - t0, p: a.p }));
      const dups = people.filter((p) => p.answers.at(-1).status === 409);
      const stored = storedApps(env.cl.url, P, CAT);
      const lost = lostAcks(acked, stored);
      assert.deepEqual(lost.slice(0, 20), [], `${lost.length} acknowledged submissions are not stored as answered`);
      assert.deepEqual(rankProblems(stored.ranks, PLACES), [], 'stored ranks');
      assert.deepEqual(rankProblems(acked.map((a) => a.rank), PLACES, { dense: false }), [], 'acknowledged ranks');
      const [[count, dranks, dphones, dids]] = psql(
        env.cl.url,
        `select count(*), count(distinct rank), count(distinct phone_bidx), count(distinct id_bidx) from applications where program='${P}' and category='${CAT}'`,
      );
      t.diagnostic(`psql: ${count} applications, ${dranks} distinct ranks, ${dphones} phones, ${dids} ID numbers; ${acked.length} acknowledged, ${dups.length} committed although answered 503 (found on retry)`);
      assert.equal(Number(count), N, 'every applicant has exactly one application in the end');
      assert.deepEqual([dranks, dphones, dids].map(Number), [N, N, N]);
      assert.equal(acked.length + dups.length, N);
      for (const p of dups) {
        const res = await submitOn(p.i).request('GET', '/api/v1/applications', { token: p.token });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.applications.length, 1, `applicant answered 503 then duplicate: ${res.text.slice(0, 300)}`);
        assert.equal(stored.byId.get(String(res.body.applications[0].id)), res.body.applications[0].rank);
      }

      // after the restart, without restarting the nodes: login and submission on each node
      for (const n of [A, B]) {
        const [tok] = await loginMany([newPhone()], () => n, () => n);
        const r = await n.submit(tok, P, CAT, { ...template, id_number: idNumber() });
        assert.equal(r.status, 201, `a new submission on node ${n.name} after the restart: ${r.status} ${r.text}`);
        assert.equal(r.body.rank, N + (n === A ? 1 : 2));
      }

      const v = await tisheng(['ledger', 'verify', '--data', env.data], { allowFail: true });
      t.diagnostic(`ledger verify: exit ${v.code}: ${(v.stdout + v.stderr).trim().slice(0, 200)}`);
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
}
