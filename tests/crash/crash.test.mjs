// tests/crash/crash.test.mjs — SIGKILL during a rush, CRASH_ROUNDS times
// (3 by default; TISHENG_LONG=1 or CRASH_ROUNDS=20 for the long mode).
//
// Each round logs in fresh applicants, fires all their submissions at once
// (a copy of yn2022-skill with few places, so the places run out over the
// rounds, plus yn2022-edu), kills the server with SIGKILL at a random moment,
// checks the data on disk while it is down (no rank twice, none beyond the
// places, ranks dense, `PRAGMA integrity_check`, `tisheng ledger verify`),
// restarts it on the same data and checks that every submission ever answered
// 201 is there with the same id, category and rank (GET
// /api/v1/applications/{id} as that applicant), and that the sessions of all
// rounds still work. Only 127.0.0.1; bounded in time.

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { Server, applicantNumbers, eduFields, initData, loadSkillCopy, phones, pool, skillFields, sleep, storedProblems,
  tmpdir } from './lib.mjs';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? (process.env.TISHENG_LONG ? 20 : 3));
const PER_ROUND = Number(process.env.CRASH_PER_ROUND ?? 400);
const PROGRAM = 'crash-skill';
// few places, so that they run out during the rounds (then the writer answers quota_full)
const PLACES = Math.max(40, Math.round(ROUNDS * PER_ROUND * 0.15));

test(`SIGKILL at random moments during a rush, ${ROUNDS} rounds`, { timeout: 60000 + ROUNDS * 30000 }, async (t) => {
  const data = initData(path.join(tmpdir(), 'data'));
  const prog = loadSkillCopy(data, PROGRAM, PLACES);
  const placesByKey = {
    [`${PROGRAM}/senior-technician`]: prog.places['senior-technician'],
    [`${PROGRAM}/technician`]: prog.places.technician,
    'yn2022-edu/bachelor': 1100,
    'yn2022-edu/associate': 1100,
  };
  const srv = new Server(data);
  await srv.start();
  const unions = await srv.baseUnions();
  const acked = []; // every 201 of every round: { token, id, rank, program, category }
  const sessions = []; // a token of every round
  const tally = {};
  let killedMidRush = 0;

  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const ph = phones(PER_ROUND);
      const nums = applicantNumbers(PER_ROUND);
      const tokens = await srv.login(ph);
      sessions.push({ round, token: tokens[0] });
      const jobs = nums.map((n, i) => {
        // two in three to the small skill copy, one in three to yn2022-edu
        if (i % 3 === 2) {
          const category = n % 2 ? 'bachelor' : 'associate';
          return { token: tokens[i], program: 'yn2022-edu', category, fields: eduFields(n, category, unions) };
        }
        const category = n % 4 === 0 ? 'senior-technician' : 'technician';
        return { token: tokens[i], program: PROGRAM, category, fields: skillFields(n, category, unions) };
      });
      let answered = 0;
      // The moment of the kill is a random count of answers, not a delay: on a
      // quiet machine 400 answers take < 60 ms, on a loaded one seconds, and a
      // timer would then often fire before the first or after the last. Every
      // third round kills before the first answer (the writer's first batch).
      const killAt = round % 3 === 0 ? 0 : 1 + Math.floor(Math.random() * (jobs.length * 0.8));
      let killed = null;
      let before = 0;
      const killNow = () => {
        if (killed) return;
        before = answered;
        killed = srv.kill('SIGKILL');
      };
      const fired = Date.now();
      const inflight = jobs.map((j) =>
        srv.submit(j.token, j.program, j.category, j.fields, { timeout: 20000 }).then(
          (r) => {
            answered++;
            if (answered >= killAt) killNow();
            tally[r.status] = (tally[r.status] || 0) + 1;
            if (r.status === 201) {
              assert.equal(r.body.program, j.program);
              assert.equal(r.body.category, j.category);
              acked.push({ ...j, id: r.body.id, rank: r.body.rank, round });
            } else if (r.status !== 409 && r.status !== 503) {
              throw new Error(`unexpected ${r.status}: ${JSON.stringify(r.body)}`);
            }
          },
          () => {
            tally.dropped = (tally.dropped || 0) + 1; // the connection died with the server
          },
        ),
      );
      if (killAt === 0) {
        await sleep(Math.floor(Math.random() * 5));
        killNow();
      }
      // a bound, should the answers stall: kill after 10 s whatever the count
      const bound = setTimeout(killNow, 10000);
      while (!killed) await sleep(1);
      clearTimeout(bound);
      const killedAfter = Date.now() - fired;
      await killed;
      if (before < jobs.length) killedMidRush++;
      await Promise.all(inflight);
      t.diagnostic(`round ${round}: killed ${killedAfter} ms after firing (at answer ${killAt} planned), ` +
        `${before}/${jobs.length} answered before the kill; 201s so far ${acked.length}`);

      // on disk, while the server is down
      const problems = storedProblems(data, placesByKey);
      assert.deepEqual(problems, [], `round ${round}, after SIGKILL:\n${problems.join('\n')}`);

      await srv.start();
      // every acknowledged submission of every round is there, unchanged
      await pool(acked.length, 32, async (i) => {
        const a = acked[i];
        const r = await srv.request('GET', `/api/v1/applications/${a.id}`, { token: a.token });
        assert.equal(r.status, 200, `round ${round}: application ${a.id} (201 in round ${a.round}, rank ${a.rank}) ` +
          `is gone after the restart: ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(r.body.rank, a.rank, `application ${a.id}: rank ${r.body.rank}, was answered ${a.rank}`);
        assert.equal(r.body.program, a.program);
        assert.equal(r.body.category, a.category);
      });
      // sessions of all rounds survive
      for (const s of sessions) {
        const r = await srv.request('GET', '/api/v1/applications', { token: s.token });
        assert.equal(r.status, 200, `the session of round ${s.round} no longer works after the restart: ${r.status}`);
      }
    }
    // the server still takes submissions after all that
    const [tok] = await srv.login(phones(1));
    const [n] = applicantNumbers(1);
    const r = await srv.submit(tok, 'yn2022-edu', 'bachelor', eduFields(n, 'bachelor', unions));
    assert.ok(r.status === 201 || (r.status === 409 && r.body.error.code === 'quota_full'),
      `a submission after the last restart: ${r.status} ${JSON.stringify(r.body)}`);
    t.diagnostic(`answers over all rounds: ${JSON.stringify(tally)}; ${acked.length} acknowledged and kept; ` +
      `${killedMidRush}/${ROUNDS} kills with answers still outstanding`);
    assert.ok(acked.length > 0, 'no submission was acknowledged in any round');
    assert.ok(killedMidRush >= Math.min(1, ROUNDS), 'no kill happened while submissions were outstanding');
  } finally {
    await srv.kill('SIGKILL');
  }
  const problems = storedProblems(data, placesByKey);
  assert.deepEqual(problems, [], problems.join('\n'));
  console.log(`crash: PASS (${ROUNDS} rounds, ${acked.length} acknowledged submissions all kept with their ranks)`);
});
