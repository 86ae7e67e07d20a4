// tests/crash/overload.test.mjs — far more concurrent submissions than the
// server should queue (serve --max-queue OVERLOAD_QUEUE, default 50; every
// submission on its own connection, all at once):
//   - some are shed with 503 `busy`, a Chinese message and Retry-After;
//   - the others get 201 or 409; nothing else, no dropped connection;
//   - the server stays up and /metrics counts the busy answers;
//   - every 201 is stored with its rank (GET as the applicant; the count of
//     rows equals the count of 201s; ranks dense; ledger verify passes);
//   - a refused applicant who retries after Retry-After gets in.

import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';

import { Server, applicantNumbers, hasChinese, initData, loadSkillCopy, phones, pool, skillFields, sleep, sqlite,
  storedProblems, tmpdir } from './lib.mjs';

const N = Number(process.env.OVERLOAD_N ?? 900);
const QUEUE = Number(process.env.OVERLOAD_QUEUE ?? 50);
const P = 'overload-skill';

test(`overload: ${N} concurrent submissions against --max-queue ${QUEUE}`, { timeout: 180000 }, async (t) => {
  const data = initData(path.join(tmpdir(), 'data'));
  const prog = loadSkillCopy(data, P, 100000);
  const srv = new Server(data, ['--max-queue', String(QUEUE)]);
  await srv.start();
  try {
    const unions = await srv.baseUnions();
    const tokens = await srv.login(phones(N));
    const nums = applicantNumbers(N);
    const bodies = nums.map((n, i) => {
      const category = i % 4 === 0 ? 'senior-technician' : 'technician';
      return { token: tokens[i], category, fields: skillFields(n, category, unions) };
    });
    // one connection per submission, all fired together
    srv.agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
    const tally = {};
    const acked = [];
    const busy = [];
    const t0 = Date.now();
    await Promise.all(
      bodies.map((b, i) =>
        srv.submit(b.token, P, b.category, b.fields, { timeout: 60000 }).then(
          (r) => {
            const key = r.status >= 400 ? `${r.status} ${r.body?.error?.code}` : String(r.status);
            tally[key] = (tally[key] || 0) + 1;
            if (r.status === 201) acked.push({ ...b, id: r.body.id, rank: r.body.rank });
            else if (r.status === 503 && r.body?.error?.code === 'busy') {
              assert.ok(hasChinese(r.body.error.message), `busy without a Chinese message: ${JSON.stringify(r.body)}`);
              assert.ok(Number(r.headers['retry-after']) > 0, `busy without Retry-After: ${JSON.stringify(r.headers)}`);
              busy.push(i);
            }
          },
          (e) => {
            tally[`error ${e.code || e.message}`] = (tally[`error ${e.code || e.message}`] || 0) + 1;
          },
        ),
      ),
    );
    t.diagnostic(`${N} at once, answered in ${Date.now() - t0} ms: ${JSON.stringify(tally)}`);
    const unexpected = Object.keys(tally).filter((k) => !['201', '503 busy'].includes(k));
    assert.deepEqual(unexpected, [], `answers other than 201 and 503 busy: ${JSON.stringify(tally)}`);
    assert.ok(busy.length > 0, `no submission was shed with 503 busy (${JSON.stringify(tally)})`);
    assert.ok(acked.length > 0, 'nothing was accepted');
    assert.ok(srv.alive(), 'the server died under overload');
    srv.agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const metrics = await srv.request('GET', '/metrics');
    const m = /tisheng_submissions_total\{outcome="busy"\} (\d+)/.exec(metrics.body);
    assert.ok(m && Number(m[1]) === busy.length, `/metrics busy count ${m?.[1]} != ${busy.length}`);

    // the refused retry after Retry-After and get in
    await sleep(1000);
    const retry = busy.slice(0, 50);
    await pool(retry.length, 8, async (k) => {
      const b = bodies[retry[k]];
      for (let attempt = 0; ; attempt++) {
        const r = await srv.submit(b.token, P, b.category, b.fields);
        if (r.status === 201) {
          acked.push({ ...b, id: r.body.id, rank: r.body.rank });
          return;
        }
        assert.equal(r.status, 503, `retry: ${r.status} ${JSON.stringify(r.body)}`);
        assert.ok(attempt < 20, 'a refused applicant could not get in after 20 retries');
        await sleep(1000 * Number(r.headers['retry-after'] || 1));
      }
    });

    // every 201 stored, with its rank
    await pool(acked.length, 32, async (i) => {
      const a = acked[i];
      const r = await srv.request('GET', `/api/v1/applications/${a.id}`, { token: a.token });
      assert.equal(r.status, 200, `application ${a.id} answered 201 is missing`);
      assert.equal(r.body.rank, a.rank);
    });
    const rows = Number(sqlite(srv.db, `SELECT count(*) FROM applications WHERE program='${P}'`));
    assert.equal(rows, acked.length, `${acked.length} answered 201 but ${rows} stored`);
    await srv.stop();
    const problems = storedProblems(data, {
      [`${P}/senior-technician`]: prog.places['senior-technician'],
      [`${P}/technician`]: prog.places.technician,
    });
    assert.deepEqual(problems, [], problems.join('\n'));
    console.log(`overload: PASS (${busy.length} shed with 503 busy + Retry-After, ${acked.length} accepted and stored)`);
  } finally {
    await srv.kill('SIGKILL');
  }
});
