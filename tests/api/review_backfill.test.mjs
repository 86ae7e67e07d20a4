// 依序递补 (shared/API.md "quota", issue 4 item 3): when an application inside
// the paid cap leaves the running — rejected, withdrawn, abandoned, or
// cancelled after an upheld objection — the first waitlisted one becomes
// `queued` by itself, its history records the backfill, and its applicant
// gets an SMS. Each case runs on its own small copy of yn2022-skill
// (cap 2, places 3).

import assert from 'node:assert/strict';

import { useServer } from './lib/client.mjs';
import {
  U, NEW_PASSWORD, api, expectStatus, expectError, show, addStaff, staffAccount, applicants, reviewApp, decideOk,
  cstDate, myApp, shiftClock, waitFor, smsTo, smallProgram, createPublicity, fileObjection, entrySeq,
} from './lib/review.mjs';
import { expectSubmitted, submit, login, validFields } from './lib/client.mjs';
import { idNumber, phone as newPhone } from './lib/gen.mjs';

const { test } = useServer({ extraArgs: ['--test-clock'] });

const S = {};
const CASES = ['t-bf-reject', 't-bf-withdraw', 't-bf-objection', 't-bf-abandon'];
const people = {};

async function quotas(srv, list) {
  const out = [];
  for (const p of list) out.push((await myApp(srv, p.token, p.app.id)).quota);
  return out;
}

test('setup: four small programs (cap 2, places 3), three applicants each: queued, queued, waitlisted', async (t, srv) => {
  await addStaff(srv, { org: U.wuhua1, username: 'wh1-reviewer' });
  S.wh1 = staffAccount(srv, 'wh1-reviewer', NEW_PASSWORD);
  await S.wh1.login();
  for (const id of CASES) {
    await smallProgram(srv, id, { cap: 2, places: 3 });
    const list = await applicants(srv, { program: id, category: 'technician', union: U.wuhua1, n: 3 });
    assert.deepEqual(list.map((p) => p.app.rank), [1, 2, 3], `${id}: ranks`);
    assert.deepEqual(list.map((p) => p.app.quota), ['queued', 'queued', 'waitlisted'], `${id}: quota at submission`);
    assert.deepEqual(await quotas(srv, list), ['queued', 'queued', 'waitlisted'], `${id}: quota read back`);
    people[id] = list;
  }
  // a fourth is beyond places: 409 quota_full, nothing stored
  const phone = newPhone();
  const token = await login(srv, phone);
  const f = await validFields(srv, 't-bf-reject', { union: U.wuhua1, id_number: idNumber() }, 'technician');
  expectError(await submit(srv, token, 't-bf-reject', 'technician', f), 409, 'quota_full');
});

/** After rank 1 left: rank 3 queued, a backfill event in its history, an SMS to its phone. */
async function expectBackfilled(srv, id, smsBefore) {
  const [, r2, r3] = people[id];
  const a3 = await waitFor(
    async () => {
      const a = await myApp(srv, r3.token, r3.app.id);
      return a.quota === 'queued' ? a : null;
    },
    { timeout: 3000, what: `${id}: rank 3 becoming queued` },
  ).catch(async (e) => {
    const a = await myApp(srv, r3.token, r3.app.id);
    throw new Error(`${e.message}; rank 3 is ${JSON.stringify({ quota: a.quota, status: a.status })}`);
  });
  assert.equal(a3.rank, 3, 'rank changed');
  assert.equal((await myApp(srv, r2.token, r2.app.id)).quota, 'queued', `${id}: rank 2 should stay queued`);
  const problems = [];
  const ev = a3.history.filter((e) => e.action === 'backfill');
  if (ev.length !== 1) problems.push(`expected one "backfill" event in rank 3's history, got ${JSON.stringify(a3.history)}`);
  // the reviewer sees who moved up and why
  const rv = await reviewApp(srv, S.wh1.token, r3.app.id);
  assert.equal(rv.quota, 'queued');
  const rev = rv.history.find((e) => e.action === 'backfill');
  if (!(rev && typeof rev.reason === 'string' && rev.reason.length > 0))
    problems.push(`the reviewer's history shows no backfill event with a reason: ${JSON.stringify(rv.history)}`);
  try {
    await waitFor(() => smsTo(srv, r3.phone).length > smsBefore, { timeout: 3000, what: 'an SMS' });
  } catch {
    problems.push(`no SMS to the rank-3 phone after it moved up (SMS to it: ${JSON.stringify(smsTo(srv, r3.phone).map((l) => l.text))})`);
  }
  assert.deepEqual(problems, [], `${id}: ${problems.join('; ')}`);
}

test('backfill after a reject', async (t, srv) => {
  const id = 't-bf-reject';
  const [r1, , r3] = people[id];
  const sms = smsTo(srv, r3.phone).length;
  await decideOk(srv, S.wh1.token, r1.app.id, { decision: 'reject', reason: '证书与本人不符' }, 'rejected');
  await expectBackfilled(srv, id, sms);
});

test('backfill after a withdrawal', async (t, srv) => {
  const id = 't-bf-withdraw';
  const [r1, , r3] = people[id];
  const sms = smsTo(srv, r3.phone).length;
  const res = await api(srv, 'POST', `/api/v1/applications/${r1.app.id}/withdraw`, { token: r1.token, json: {} });
  expectStatus(res, 200);
  assert.equal(res.body.status, 'withdrawn', show(res));
  await expectBackfilled(srv, id, sms);
});

test('backfill after an upheld objection', async (t, srv) => {
  const id = 't-bf-objection';
  const [r1, r2, r3] = people[id];
  for (const p of [r1, r2, r3]) await decideOk(srv, S.wh1.token, p.app.id, { decision: 'pass' }, 'initial_passed');
  const pub = await createPublicity(srv, S.wh1.token, id, await cstDate(srv, 0), await cstDate(srv, 4));
  expectStatus(pub, 201);
  const view = await api(srv, 'GET', `/api/v1/review/publicity/${pub.body.id}`, { token: S.wh1.token });
  expectStatus(view, 200);
  const obj = await fileObjection(srv, pub.body.id, entrySeq(view.body, r1.app.id));
  expectStatus(obj, 201);
  const sms = smsTo(srv, r3.phone).length;
  const inv = await api(srv, 'POST', `/api/v1/review/objections/${obj.body.id}/investigation`, {
    token: S.wh1.token,
    json: { finding: 'upheld', note: '经调查核实，该职工证书系伪造' },
  });
  expectStatus(inv, 200);
  assert.equal((await myApp(srv, r1.token, r1.app.id)).status, 'cancelled');
  await expectBackfilled(srv, id, sms);
});

test('backfill after abandonment (correction deadline missed)', async (t, srv) => {
  const id = 't-bf-abandon';
  const [r1, , r3] = people[id];
  await decideOk(
    srv,
    S.wh1.token,
    r1.app.id,
    { decision: 'return', items: ['补充证书原件扫描件'], deadline: await cstDate(srv, 1) },
    'returned',
  );
  // a returned application still holds its place
  assert.deepEqual(await quotas(srv, people[id]), ['queued', 'queued', 'waitlisted']);
  const sms = smsTo(srv, r3.phone).length;
  await shiftClock(srv, 2 * 86400);
  await S.wh1.login();
  await waitFor(async () => (await myApp(srv, r1.token, r1.app.id)).status === 'abandoned', {
    timeout: 3500,
    what: 'rank 1 abandoned',
  });
  await expectBackfilled(srv, id, sms);
});
