// Decisions at a review stage (docs/review.md "Staff API", issue 4 "Bad
// input and misuse"): pass / reject (reason required) / return (items and a
// deadline, once), the applicant's correction and resubmission, wrong level
// (403), wrong stage (409), roles, a repeated decision applied once, and a
// missed correction deadline abandoning the application.

import assert from 'node:assert/strict';

import { useServer } from './lib/client.mjs';
import {
  U, SKILL, NEW_PASSWORD, api, expectStatus, expectError, show, addStaff, staffAccount, applicants, reviewGet,
  reviewApp, decide, decideOk, cstDate, myApp, shiftClock, waitFor, sleep, smsTo, appOf,
} from './lib/review.mjs';
import { errorFields } from './lib/client.mjs';

const { test } = useServer({ extraArgs: ['--test-clock'] });

const S = {};
let people;

async function orgName(srv, code) {
  const res = await api(srv, 'GET', '/api/v1/orgs');
  return res.body.orgs.find((o) => o.code === code).name;
}

async function state(srv, id) {
  const a = await reviewApp(srv, S.wh1.token, id);
  return { status: a.status, stage: a.stage, events: a.history.length, quota: a.quota };
}

test('setup: a base-union reviewer and applications at its initial review', async (t, srv) => {
  await addStaff(srv, { org: U.wuhua1, username: 'wh1-reviewer' });
  S.wh1 = staffAccount(srv, 'wh1-reviewer', NEW_PASSWORD);
  S.km = staffAccount(srv, 'km-reviewer');
  S.yn = staffAccount(srv, 'yn-reviewer');
  S.finance = staffAccount(srv, 'finance');
  S.auditor = staffAccount(srv, 'auditor');
  for (const s of Object.values(S)) await s.login();
  people = await applicants(srv, { union: U.wuhua1, n: 10 });
});

test('the demo has a base-union reviewer who acts at 基层单位初审 of its own union', async (t, srv) => {
  const base = staffAccount(srv, 'base-reviewer');
  await base.login();
  const [p] = await applicants(srv, { union: U.wuhua1, n: 1 });
  const list = await reviewGet(srv, base.token, p.app.id);
  expectStatus(list, 200);
  assert.equal(list.body.can_act, true, `base-reviewer cannot act: ${show(list)}`);
  await decideOk(srv, base.token, p.app.id, { decision: 'pass' }, 'initial_passed');
  // not another base union's
  const [q] = await applicants(srv, { union: U.wuhua2, n: 1 });
  expectError(await decide(srv, base.token, q.app.id, { decision: 'pass' }), [403, 404]);
});

test('pass moves the application to the next stage (initial_passed)', async (t, srv) => {
  const p = people[0];
  const body = await decideOk(srv, S.wh1.token, p.app.id, { decision: 'pass' }, 'initial_passed');
  assert.equal(body.id, p.app.id);
  assert.equal(body.stage, 1, `stage after the initial pass: ${JSON.stringify(body)}`);
  const mine = await myApp(srv, p.token, p.app.id);
  assert.equal(mine.status, 'initial_passed');
  assert.equal(mine.rank, p.app.rank);
  assert.ok(mine.history.some((e) => e.action === 'pass'), `no pass event in ${JSON.stringify(mine.history)}`);
});

test('reject needs a reason (422 with fields, nothing changed); with a reason → rejected', async (t, srv) => {
  const p = people[1];
  const before = await state(srv, p.app.id);
  for (const json of [{ decision: 'reject' }, { decision: 'reject', reason: '' }]) {
    const res = await decide(srv, S.wh1.token, p.app.id, json);
    expectError(res, 422, 'invalid');
    const fields = errorFields(res);
    assert.ok(fields.some((f) => f.name === 'reason'), `no "reason" among the fields: ${show(res)}`);
  }
  assert.deepEqual(await state(srv, p.app.id), before, 'a refused reject changed the application');

  const body = await decideOk(srv, S.wh1.token, p.app.id, { decision: 'reject', reason: '证书不属于本年度取得' }, 'rejected');
  assert.equal(body.id, p.app.id);
  const mine = await myApp(srv, p.token, p.app.id);
  assert.equal(mine.status, 'rejected');
  const ev = mine.history.find((e) => e.action === 'reject');
  assert.ok(ev, `no reject event: ${JSON.stringify(mine.history)}`);
  assert.equal(ev.reason, '证书不属于本年度取得');
});

test('a reason of only spaces is no reason (422, nothing changed)', async (t, srv) => {
  const p = people[8];
  const before = await state(srv, p.app.id);
  for (const reason of ['   ', '\u3000\u3000']) {
    const res = await decide(srv, S.wh1.token, p.app.id, { decision: 'reject', reason });
    expectError(res, 422, 'invalid');
    assert.ok(errorFields(res).some((f) => f.name === 'reason'), `no "reason" among the fields: ${show(res)}`);
  }
  assert.deepEqual(await state(srv, p.app.id), before, 'a reject with a blank reason changed the application');
});

test('a correction item of only spaces is no item (422, the one return not used)', async (t, srv) => {
  const p = people[9];
  const before = await state(srv, p.app.id);
  for (const items of [[''], ['   '], ['\u3000'], ['补充证书', '  '], [1]]) {
    const res = await decide(srv, S.wh1.token, p.app.id, { decision: 'return', items, deadline: await cstDate(srv, 3) });
    expectError(res, 422, 'invalid');
    assert.ok(errorFields(res).some((f) => f.name === 'items'), `no "items" among the fields: ${show(res)}`);
  }
  assert.deepEqual(await state(srv, p.app.id), before, 'a return with blank items changed the application');
});

test('an unknown decision or a malformed body is 422 invalid and changes nothing', async (t, srv) => {
  const p = people[2];
  const before = await state(srv, p.app.id);
  expectError(await decide(srv, S.wh1.token, p.app.id, { decision: 'approve' }), 422, 'invalid');
  expectError(await decide(srv, S.wh1.token, p.app.id, {}), 422, 'invalid');
  expectError(
    await api(srv, 'POST', `/api/v1/review/applications/${p.app.id}/decision`, { token: S.wh1.token, body: '{"decision":' }),
    422,
    'invalid',
  );
  assert.deepEqual(await state(srv, p.app.id), before);
});

test('return: items and a future deadline required; the applicant sees them, edits and resubmits', async (t, srv) => {
  const p = people[2];
  const id = p.app.id;
  const before = await state(srv, id);
  const tomorrow = await cstDate(srv, 1);
  const yesterday = await cstDate(srv, -1);
  for (const [json, field] of [
    [{ decision: 'return', deadline: tomorrow }, 'items'],
    [{ decision: 'return', items: [], deadline: tomorrow }, 'items'],
    [{ decision: 'return', items: ['补充证书复印件'] }, 'deadline'],
    [{ decision: 'return', items: ['补充证书复印件'], deadline: yesterday }, 'deadline'],
    [{ decision: 'return', items: ['补充证书复印件'], deadline: 'next week' }, 'deadline'],
  ]) {
    const res = await decide(srv, S.wh1.token, id, json);
    expectError(res, 422, 'invalid');
    assert.ok(errorFields(res).some((f) => f.name === field), `expected a "${field}" field error: ${show(res)}`);
  }
  assert.deepEqual(await state(srv, id), before, 'a refused return changed the application');

  const items = ['证书复印件不清晰，请重新上传', '工作单位名称与营业执照不一致'];
  const deadline = await cstDate(srv, 5);
  const smsBefore = smsTo(srv, p.phone).length;
  await decideOk(srv, S.wh1.token, id, { decision: 'return', items, deadline, reason: '材料需补正' }, 'returned');

  const mine = await myApp(srv, p.token, id);
  assert.equal(mine.status, 'returned');
  assert.equal(mine.editable, true, 'a returned application must be editable');
  const ev = mine.history.find((e) => e.action === 'return');
  assert.ok(ev, `no return event in the applicant's history: ${JSON.stringify(mine.history)}`);
  assert.deepEqual(ev.items, items, 'the applicant does not see the items to fix');
  // who returned it: the union, not the reviewer's account
  assert.equal(ev.actor_name, (await orgName(srv, U.wuhua1)), `actor_name ${ev.actor_name}`);
  assert.ok(!JSON.stringify(mine).includes('wh1-reviewer'), `the applicant sees the reviewer's account: ${JSON.stringify(mine.history)}`);
  assert.ok(typeof ev.deadline === 'string' && ev.deadline.startsWith(deadline.slice(0, 8)), `deadline ${ev.deadline} vs ${deadline}`);
  assert.ok(smsTo(srv, p.phone).length > smsBefore, 'the applicant got no SMS about the correction notice');
  // the SMS gives the deadline as the pages do: the end of that day, 24:00
  const [dy, dm, dd] = deadline.split('-').map(Number);
  const sms = smsTo(srv, p.phone).at(-1).text;
  assert.ok(sms.includes(`请于${dy}年${dm}月${dd}日24:00前`), `the SMS: ${sms}`);

  // the reviewer cannot decide while the notice is open
  expectError(await decide(srv, S.wh1.token, id, { decision: 'pass' }), 409, 'wrong_stage');
  assert.equal((await state(srv, id)).status, 'returned');

  // edit while returned
  const put = await api(srv, 'PUT', `/api/v1/applications/${id}`, {
    token: p.token,
    json: { fields: { ...p.fields, unit: '昆明翠屏精密机械制造有限公司' } },
  });
  expectStatus(put, 200);
  assert.equal(appOf(put).rank, p.app.rank, 'rank changed on edit');
  assert.equal(appOf(put).status, 'returned');

  const rs = await api(srv, 'POST', `/api/v1/applications/${id}/resubmit`, { token: p.token, json: {} });
  expectStatus(rs, 200);
  assert.equal(rs.body.status, 'submitted', show(rs));
  assert.equal(rs.body.rank, p.app.rank);
  const after = await myApp(srv, p.token, id);
  assert.equal(after.status, 'submitted');
  assert.equal(after.fields.unit, '昆明翠屏精密机械制造有限公司');
  assert.ok(after.history.some((e) => e.action === 'resubmit'), `no resubmit event: ${JSON.stringify(after.history)}`);
  const rv = await reviewApp(srv, S.wh1.token, id);
  assert.equal(rv.stage, 0, 'resubmitted application is not back at the stage that returned it');
  assert.equal(rv.can_act, true);

  // a second resubmit is refused
  const again = await api(srv, 'POST', `/api/v1/applications/${id}/resubmit`, { token: p.token, json: {} });
  expectError(again, 409);

  // a second return: 409 return_used, nothing changed
  const st = await state(srv, id);
  const res = await decide(srv, S.wh1.token, id, { decision: 'return', items: ['再补充材料'], deadline: await cstDate(srv, 5) });
  expectError(res, 409, 'return_used');
  assert.deepEqual(await state(srv, id), st, 'a refused second return changed the application');
  // the one return used, the application can still be passed
  await decideOk(srv, S.wh1.token, id, { decision: 'pass' }, 'initial_passed');
});

test('only the owner may edit or resubmit; edits are locked after the initial pass', async (t, srv) => {
  const p = people[0]; // initial_passed
  const other = people[3];
  const put = await api(srv, 'PUT', `/api/v1/applications/${p.app.id}`, { token: p.token, json: { fields: p.fields } });
  expectError(put, 409, 'locked');
  expectError(await api(srv, 'POST', `/api/v1/applications/${p.app.id}/resubmit`, { token: other.token, json: {} }), 404);
  expectError(await api(srv, 'POST', `/api/v1/applications/${p.app.id}/resubmit`, { token: p.token, json: {} }), 409);
  assert.equal((await state(srv, p.app.id)).status, 'initial_passed');
});

test('a decision by the wrong level is 403 wrong_level and changes nothing', async (t, srv) => {
  const p = people[3];
  const before = await state(srv, p.app.id);
  for (const who of [S.km, S.yn]) {
    for (const json of [{ decision: 'pass' }, { decision: 'reject', reason: '不符合条件' }]) {
      const res = await decide(srv, who.token, p.app.id, json);
      expectError(res, 403, 'wrong_level');
    }
  }
  assert.deepEqual(await state(srv, p.app.id), before);
  // at the next stage the base union is the wrong level
  const q = people[0]; // initial_passed, waiting at the publicity
  expectError(await decide(srv, S.km.token, q.app.id, { decision: 'pass' }), 409, 'wrong_stage');
});

test('roles finance and auditor cannot decide (403)', async (t, srv) => {
  const p = people[3];
  const before = await state(srv, p.app.id);
  for (const who of [S.finance, S.auditor]) {
    const res = await decide(srv, who.token, p.app.id, { decision: 'pass' });
    expectError(res, 403);
    const b = await api(srv, 'POST', '/api/v1/review/decisions', { token: who.token, json: { ids: [p.app.id], decision: 'pass' } });
    expectError(b, 403);
  }
  assert.deepEqual(await state(srv, p.app.id), before);
  // and without a session: 401
  expectError(await decide(srv, null, p.app.id, { decision: 'pass' }), 401);
});

test('a decision at the wrong stage is 409 wrong_stage; a repeated decision applies once', async (t, srv) => {
  const passed = people[0]; // initial_passed
  const rejected = people[1]; // rejected
  const b1 = await state(srv, passed.app.id);
  const b2 = await state(srv, rejected.app.id);
  const e1 = expectError(await decide(srv, S.wh1.token, passed.app.id, { decision: 'pass' }), 409, 'wrong_stage');
  expectError(await decide(srv, S.wh1.token, passed.app.id, { decision: 'reject', reason: '重复' }), 409, 'wrong_stage');
  const e2 = expectError(await decide(srv, S.wh1.token, rejected.app.id, { decision: 'pass' }), 409, 'wrong_stage');
  // the message names the status in Chinese, not by its code
  assert.match(e1.message, /初审通过/, e1.message);
  assert.match(e2.message, /不通过/, e2.message);
  for (const e of [e1, e2]) assert.doesNotMatch(e.message, /[a-z]{3,}/, `a raw status code in the message: ${e.message}`);
  expectError(
    await decide(srv, S.wh1.token, rejected.app.id, { decision: 'return', items: ['补充'], deadline: await cstDate(srv, 3) }),
    409,
    'wrong_stage',
  );
  assert.deepEqual(await state(srv, passed.app.id), b1);
  assert.deepEqual(await state(srv, rejected.app.id), b2);
  const h = (await reviewApp(srv, S.wh1.token, passed.app.id)).history;
  assert.equal(h.filter((e) => e.action === 'pass').length, 1, `history: ${JSON.stringify(h)}`);

  // the same pass sent 5 times at once: one 200, the rest 409, one pass event
  const p = people[4];
  const res = await Promise.all(Array.from({ length: 5 }, () => decide(srv, S.wh1.token, p.app.id, { decision: 'pass' })));
  const codes = res.map((r) => r.status).sort();
  assert.deepEqual(codes, [200, 409, 409, 409, 409], `concurrent passes: ${res.map(show).join('\n')}`);
  for (const r of res.filter((x) => x.status === 409)) {
    // whether refused before the store or by it (the race), in Chinese
    const e = expectError(r, 409, 'wrong_stage');
    assert.doesNotMatch(e.message, /[a-z]{3,}/, `a raw status code in the message: ${e.message}`);
  }
  const a = await reviewApp(srv, S.wh1.token, p.app.id);
  assert.equal(a.status, 'initial_passed');
  assert.equal(a.history.filter((e) => e.action === 'pass').length, 1, `history: ${JSON.stringify(a.history)}`);

  // the batch endpoint does not apply twice either
  const q = people[5];
  const b = await api(srv, 'POST', '/api/v1/review/decisions', {
    token: S.wh1.token,
    json: { ids: [q.app.id, q.app.id], decision: 'pass' },
  });
  expectStatus(b, 200);
  assert.equal(b.body.results.filter((r) => r.ok).length, 1, `a duplicated id was passed twice: ${show(b)}`);
  const qa = await reviewApp(srv, S.wh1.token, q.app.id);
  assert.equal(qa.status, 'initial_passed');
  assert.equal(qa.history.filter((e) => e.action === 'pass').length, 1);
});

test('a missed correction deadline abandons the application (checked once a second)', async (t, srv) => {
  const p = people[6];
  const keep = people[7]; // returned with a later deadline: stays returned
  await decideOk(srv, S.wh1.token, p.app.id, { decision: 'return', items: ['补充身份证复印件'], deadline: await cstDate(srv, 1) }, 'returned');
  await decideOk(srv, S.wh1.token, keep.app.id, { decision: 'return', items: ['补充证书'], deadline: await cstDate(srv, 10) }, 'returned');
  await sleep(1500);
  assert.equal((await state(srv, p.app.id)).status, 'returned', 'abandoned before the deadline');

  await shiftClock(srv, 2 * 86400);
  await S.wh1.login();
  const a = await waitFor(
    async () => {
      const s = await reviewApp(srv, S.wh1.token, p.app.id);
      return s.status === 'abandoned' ? s : null;
    },
    { timeout: 3500, what: 'status abandoned after the correction deadline' },
  );
  assert.ok(a.history.some((e) => e.action === 'abandon' || e.status === 'abandoned'), JSON.stringify(a.history));
  const mine = await myApp(srv, p.token, p.app.id);
  assert.equal(mine.status, 'abandoned');
  assert.equal(mine.editable, false);
  // too late to resubmit; the reviewer cannot act any more
  expectError(await api(srv, 'POST', `/api/v1/applications/${p.app.id}/resubmit`, { token: p.token, json: {} }), 409);
  expectError(await decide(srv, S.wh1.token, p.app.id, { decision: 'pass' }), 409, 'wrong_stage');
  assert.equal((await state(srv, p.app.id)).status, 'abandoned');
  // the other one is still open
  assert.equal((await state(srv, keep.app.id)).status, 'returned');
});
