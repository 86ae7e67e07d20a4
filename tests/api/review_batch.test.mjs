// A batch pass of 2 000 applications at once (docs/review.md "POST
// /api/v1/review/decisions", issue 4 item 7): the call completes, every one
// is initial_passed with one pass event, and ids outside the caller's reach
// are refused one by one without stopping the rest. The time the call took
// is reported (not asserted).

import assert from 'node:assert/strict';

import { useServer, loginMany, pool, submit, expectSubmitted, validFields } from './lib/client.mjs';
import { idNumber, phone as newPhone } from './lib/gen.mjs';
import {
  U, NEW_PASSWORD, api, expectStatus, expectError, show, addStaff, staffAccount, applicants, reviewApp, reviewList,
  smallProgram,
} from './lib/review.mjs';

const { test } = useServer({ extraArgs: ['--test-clock'] });

// Four copies of yn2022-skill, each its own group, so that one phone can hold
// one application in each: 500 logins give 2 000 applications.
const PROGS = ['t-batch-1', 't-batch-2', 't-batch-3', 't-batch-4'];
const N = 2000;
const PER = N / PROGS.length;
const S = {};
let ids = [];
let outsider;

test(`setup: ${N} applications at one base union's initial review`, { timeout: 150000 }, async (t, srv) => {
  await Promise.all(PROGS.map((id) => smallProgram(srv, id, { cap: PER, places: PER + 10 })));
  await addStaff(srv, { org: U.wuhua1, username: 'wh1-reviewer' });
  await addStaff(srv, { org: U.qilin1, username: 'ql1-reviewer' });
  S.wh1 = staffAccount(srv, 'wh1-reviewer', NEW_PASSWORD);
  S.ql1 = staffAccount(srv, 'ql1-reviewer', NEW_PASSWORD);
  S.finance = staffAccount(srv, 'finance');
  for (const s of Object.values(S)) await s.login();
  let started = Date.now();
  const phones = Array.from({ length: PER }, () => newPhone());
  const tokens = await loginMany(srv, phones, 48);
  const loginMs = Date.now() - started;
  started = Date.now();
  const template = await validFields(srv, PROGS[0], { union: U.wuhua1 }, 'technician');
  const jobs = [];
  for (const program of PROGS) for (const token of tokens) jobs.push({ program, token });
  const made = await pool(jobs, 48, async ({ program, token }) => {
    const res = await submit(srv, token, program, 'technician', { ...template, id_number: idNumber() });
    return expectSubmitted(res).id;
  });
  t.diagnostic(`${PER} logins took ${loginMs} ms, ${N} submissions ${Date.now() - started} ms`);
  ids = made;
  assert.equal(new Set(ids).size, N);
  [outsider] = await applicants(srv, { program: PROGS[0], category: 'technician', union: U.qilin1, n: 1 });
});

async function countByStatus(srv, status) {
  let n = 0;
  for (const program of PROGS) {
    const list = await reviewList(srv, S.wh1.token, `program=${program}&status=${status}&limit=5000`);
    n += list.applications.length;
  }
  return n;
}

test('batch refusals: role finance 403, bad body 422, nothing changed', async (t, srv) => {
  expectError(await api(srv, 'POST', '/api/v1/review/decisions', { token: S.finance.token, json: { ids: ids.slice(0, 5), decision: 'pass' } }), 403);
  expectError(await api(srv, 'POST', '/api/v1/review/decisions', { token: S.wh1.token, json: { ids: [], decision: 'pass' } }), 422, 'invalid');
  expectError(await api(srv, 'POST', '/api/v1/review/decisions', { token: S.wh1.token, json: { ids: ids.slice(0, 5), decision: 'maybe' } }), 422, 'invalid');
  expectError(
    await api(srv, 'POST', '/api/v1/review/decisions', { token: S.wh1.token, json: { ids: Array.from({ length: 5001 }, (_, i) => i + 1), decision: 'pass' } }),
    422,
    'invalid',
  );
  assert.equal(await countByStatus(srv, 'submitted'), N);
});

test(`a batch pass of ${N} applications completes and every one is initial_passed`, { timeout: 120000 }, async (t, srv) => {
  const body = { ids: [...ids, outsider.app.id, 987654321], decision: 'pass' };
  const started = performance.now();
  const res = await api(srv, 'POST', '/api/v1/review/decisions', { token: S.wh1.token, json: body, timeout: 110000 });
  const ms = performance.now() - started;
  const line = `batch pass of ${N} applications: ${ms.toFixed(0)} ms (HTTP ${res.status})`;
  t.diagnostic(line);
  expectStatus(res, 200);
  const results = res.body.results;
  assert.equal(results.length, N + 2, 'one result per id');
  const byId = new Map(results.map((r) => [r.id, r]));
  const failed = ids.filter((id) => !(byId.get(id)?.ok === true && byId.get(id)?.status === 'initial_passed'));
  assert.deepEqual(failed.slice(0, 10), [], `${failed.length} of ${N} not passed, e.g. ${JSON.stringify(failed.slice(0, 3).map((id) => byId.get(id)))}`);
  assert.equal(byId.get(outsider.app.id)?.ok, false, 'an application of another union was passed');
  assert.equal(byId.get(987654321)?.ok, false);

  let listed = 0;
  for (const program of PROGS) {
    const list = await reviewList(srv, S.wh1.token, `program=${program}&limit=5000`);
    listed += list.applications.length;
    const notPassed = list.applications.filter((a) => a.status !== 'initial_passed');
    assert.equal(notPassed.length, 0, `${program}: not initial_passed: ${JSON.stringify(notPassed.slice(0, 3))}`);
  }
  assert.equal(listed, N);
  // the outsider is untouched
  assert.equal((await reviewApp(srv, S.ql1.token, outsider.app.id)).status, 'submitted');
  // spot checks: one pass event each
  for (const id of [ids[0], ids[N >> 1], ids[N - 1]]) {
    const a = await reviewApp(srv, S.wh1.token, id);
    assert.equal(a.history.filter((e) => e.action === 'pass').length, 1, JSON.stringify(a.history));
  }
  // a second batch applies nothing
  const again = await api(srv, 'POST', '/api/v1/review/decisions', { token: S.wh1.token, json: { ids: ids.slice(0, 100), decision: 'pass' } });
  expectStatus(again, 200);
  assert.equal(again.body.results.filter((r) => r.ok).length, 0, show(again));
});
