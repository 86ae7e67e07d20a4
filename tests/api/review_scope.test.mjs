// Review scoping (docs/review.md "Staff API", issue 4 items 1 and 7): every
// staff read and action is limited to the caller's union subtree (404
// outside it); ID numbers are masked in the queue; the full number is shown
// only to the reviewer responsible now, and that view is audited.

import assert from 'node:assert/strict';

import { useServer } from './lib/client.mjs';
import {
  U, SKILL, NEW_PASSWORD, api, expectStatus, expectError, show, addStaff, staffLogin, applicants, reviewGet,
  reviewApp, reviewList, decide, decideOk, createPublicity, cstDate, fileObjection, auditEntries, longNumbers, shiftClock,
} from './lib/review.mjs';

const { test } = useServer({ extraArgs: ['--test-clock'] });

const S = {}; // tokens
const P = {}; // applicants by union
let pubId;
let objectionId;

test('setup: staff of two prefectures and their base unions, applications in both', async (t, srv) => {
  await addStaff(srv, { org: U.wuhua1, username: 'wh1-reviewer' });
  await addStaff(srv, { org: U.qilin1, username: 'ql1-reviewer' });
  await addStaff(srv, { org: U.qj, username: 'qj-reviewer' });
  S.wh1 = (await staffLogin(srv, 'wh1-reviewer', NEW_PASSWORD)).token;
  S.ql1 = (await staffLogin(srv, 'ql1-reviewer', NEW_PASSWORD)).token;
  S.qj = (await staffLogin(srv, 'qj-reviewer', NEW_PASSWORD)).token;
  S.km = (await staffLogin(srv, 'km-reviewer')).token;
  S.yn = (await staffLogin(srv, 'yn-reviewer')).token;
  S.auditor = (await staffLogin(srv, 'auditor')).token;
  P.wh1 = await applicants(srv, { union: U.wuhua1, n: 3 });
  P.gd1 = await applicants(srv, { union: U.guandu1, n: 1 });
  P.ql1 = await applicants(srv, { union: U.qilin1, n: 3 });
});

function ids(list) {
  return new Set(list.applications.map((a) => a.id));
}

test('reviewers of two prefectures see disjoint sets, each only their own subtree', async (t, srv) => {
  const km = await reviewList(srv, S.km, `program=${SKILL}&limit=1000`);
  const qj = await reviewList(srv, S.qj, `program=${SKILL}&limit=1000`);
  const kmIds = ids(km);
  const qjIds = ids(qj);
  for (const id of kmIds) assert.ok(!qjIds.has(id), `application ${id} is listed for both 昆明 and 曲靖`);
  const mine = (people) => people.map((p) => p.app.id);
  for (const id of [...mine(P.wh1), ...mine(P.gd1)]) assert.ok(kmIds.has(id), `km-reviewer does not see 昆明 application ${id}`);
  for (const id of mine(P.ql1)) assert.ok(qjIds.has(id), `qj-reviewer does not see 曲靖 application ${id}`);
  for (const a of km.applications) assert.match(a.union, /^yn-5301/, `km-reviewer sees ${a.id} of union ${a.union}`);
  for (const a of qj.applications) assert.match(a.union, /^yn-5303/, `qj-reviewer sees ${a.id} of union ${a.union}`);
  assert.equal(km.applications.length, 4);
  assert.equal(qj.applications.length, 3);
  if (km.total !== undefined) assert.equal(km.total, 4, 'total of km-reviewer');

  // base unions: only their own applications
  const wh1 = await reviewList(srv, S.wh1, `program=${SKILL}`);
  assert.deepEqual([...ids(wh1)].sort(), mine(P.wh1).sort());
  const ql1 = await reviewList(srv, S.ql1, `program=${SKILL}`);
  assert.deepEqual([...ids(ql1)].sort(), mine(P.ql1).sort());
  // the province sees everything
  const yn = await reviewList(srv, S.yn, `program=${SKILL}&limit=1000`);
  for (const id of [...kmIds, ...qjIds]) assert.ok(ids(yn).has(id), `yn-reviewer does not see ${id}`);
  // no session: 401
  expectError(await api(srv, 'GET', `/api/v1/review/applications?program=${SKILL}`), 401);
  expectError(await api(srv, 'GET', `/api/v1/review/applications?program=${SKILL}`, { token: 'not-a-token-0123456789abcdef' }), 401);
  // ?union= outside the subtree
  const res = await api(srv, 'GET', `/api/v1/review/applications?program=${SKILL}&union=${U.wuhua1}`, { token: S.qj });
  expectError(res, 404);
});

test('ID numbers are masked in the queue and in the detail (no 18-digit number in the JSON)', async (t, srv) => {
  for (const tok of [S.km, S.yn, S.wh1]) {
    const res = await api(srv, 'GET', `/api/v1/review/applications?program=${SKILL}&limit=1000`, { token: tok });
    expectStatus(res, 200);
    const { ids: found } = longNumbers(res.text);
    assert.deepEqual(found, [], `full ID numbers in the queue: ${show(res)}`);
    for (const a of res.body.applications) {
      assert.equal(typeof a.id_number, 'string', `no id_number in ${JSON.stringify(a)}`);
      assert.match(a.id_number, /^\d{2}\*+[\dX]{3}$/, `id_number not masked to 2 + stars + 3: ${a.id_number}`);
    }
    for (const p of [...P.wh1, ...P.ql1]) assert.ok(!res.text.includes(p.idn) && !res.text.includes(p.phone));
  }
  const p = P.wh1[0];
  const res = await reviewGet(srv, S.wh1, p.app.id);
  expectStatus(res, 200);
  assert.deepEqual(longNumbers(res.text).ids, [], `full ID number in the detail: ${show(res)}`);
  assert.ok(!res.text.includes(p.idn), 'detail shows the full ID number without ?reveal=1');
  assert.equal(res.body.id_number, `${p.idn.slice(0, 2)}${'*'.repeat(13)}${p.idn.slice(-3)}`);
});

test('?reveal=1: the full number only for the responsible reviewer, and the view is audited', async (t, srv) => {
  const p = P.wh1[1];
  const id = p.app.id;
  const before = await auditEntries(srv, S.auditor);
  const reveals = (list) => list.filter((e) => e.action === 'application.reveal' && e.target === `application:${id}`);
  assert.equal(reveals(before).length, 0);

  // in the subtree but not responsible at this stage: 403
  for (const tok of [S.km, S.yn]) {
    const res = await reviewGet(srv, tok, id, '?reveal=1');
    expectError(res, 403);
    assert.ok(!res.text.includes(p.idn), `the refusal carries the ID number: ${show(res)}`);
  }
  // outside the subtree: 404
  for (const tok of [S.qj, S.ql1]) {
    const res = await reviewGet(srv, tok, id, '?reveal=1');
    expectError(res, 404);
    assert.ok(!res.text.includes(p.idn));
  }
  assert.equal(reveals(await auditEntries(srv, S.auditor)).length, 0, 'a refused reveal was audited as a view');

  const res = await reviewGet(srv, S.wh1, id, '?reveal=1');
  expectStatus(res, 200);
  assert.equal(res.body.id_number, p.idn, `the responsible reviewer does not see the full number: ${show(res)}`);
  assert.equal(res.body.fields?.id_number, p.idn, 'fields.id_number is not revealed');

  const after = await auditEntries(srv, S.auditor);
  const r = reveals(after);
  assert.equal(r.length, 1, `expected one audited reveal of application:${id}, got ${JSON.stringify(r)}`);
  assert.equal(r[0].actor, 'wh1-reviewer');
  assert.equal(r[0].org, U.wuhua1);
  const text = JSON.stringify(after);
  assert.ok(!text.includes(p.idn), 'the audit log contains a full ID number');
  assert.deepEqual(longNumbers(text).ids, [], 'the audit log contains an 18-digit number');

  // non-auditors cannot read the audit log
  expectError(await api(srv, 'GET', '/api/v1/audit', { token: S.km }), 403);
});

test('outside the subtree: get, decision and batch answer 404 and change nothing', async (t, srv) => {
  const target = P.wh1[2].app.id;
  const before = await reviewApp(srv, S.wh1, target);
  for (const tok of [S.qj, S.ql1]) {
    expectError(await reviewGet(srv, tok, target), 404);
    expectError(await decide(srv, tok, target, { decision: 'pass' }), 404);
    expectError(await decide(srv, tok, target, { decision: 'reject', reason: '材料不全' }), 404);
    expectError(await decide(srv, tok, target, { decision: 'return', items: ['补充证书'], deadline: await cstDate(srv, 3) }), 404);
    const b = await api(srv, 'POST', '/api/v1/review/decisions', { token: tok, json: { ids: [target], decision: 'pass' } });
    if (b.status === 200) {
      assert.equal(b.body.results?.[0]?.ok, false, `batch pass outside the subtree applied: ${show(b)}`);
      assert.equal(b.body.results[0].error, 'not_found', show(b));
    } else expectError(b, 404);
  }
  // km-reviewer on a 曲靖 application
  const q = P.ql1[0].app.id;
  expectError(await reviewGet(srv, S.km, q), 404);
  expectError(await decide(srv, S.km, q, { decision: 'pass' }), 404);
  // a nonexistent application looks the same
  expectError(await reviewGet(srv, S.qj, 999999), 404);

  const after = await reviewApp(srv, S.wh1, target);
  assert.equal(after.status, 'submitted');
  assert.equal(after.stage, before.stage);
  assert.equal(after.history.length, before.history.length, 'history changed after refused requests');
  const q1 = await reviewApp(srv, S.ql1, q);
  assert.equal(q1.status, 'submitted');
  assert.equal(q1.history.length, 1);
});

test('outside the subtree: publicity get/close and objection investigation answer 404', async (t, srv) => {
  const [a] = P.wh1;
  await decideOk(srv, S.wh1, a.app.id, { decision: 'pass' }, 'initial_passed');
  const res = await createPublicity(srv, S.wh1, SKILL, await cstDate(srv, 0), await cstDate(srv, 4));
  expectStatus(res, 201);
  pubId = res.body.id;
  const obj = await fileObjection(srv, pubId, 1);
  expectStatus(obj, 201);
  objectionId = obj.body.id;

  for (const tok of [S.qj, S.ql1]) {
    expectError(await api(srv, 'GET', `/api/v1/review/publicity/${pubId}`, { token: tok }), 404);
    expectError(await api(srv, 'POST', `/api/v1/review/publicity/${pubId}/close`, { token: tok, json: {} }), 404);
    expectError(
      await api(srv, 'POST', `/api/v1/review/objections/${objectionId}/investigation`, {
        token: tok,
        json: { finding: 'upheld', note: '经核实，情况属实' },
      }),
      404,
    );
    const list = await api(srv, 'GET', `/api/v1/review/publicity?program=${SKILL}`, { token: tok });
    expectStatus(list, 200);
    assert.ok(!(list.body.publicity ?? []).some((p) => p.id === pubId), `another prefecture lists publicity ${pubId}: ${show(list)}`);
  }
  // nothing changed: the objection is pending, the application still waits at the publicity
  const view = await api(srv, 'GET', `/api/v1/review/publicity/${pubId}`, { token: S.wh1 });
  expectStatus(view, 200);
  assert.equal(view.body.status, 'open');
  assert.equal(view.body.objections.length, 1);
  assert.equal(view.body.objections[0].status, 'pending');
  assert.equal((await reviewApp(srv, S.wh1, a.app.id)).status, 'initial_passed');
  // the parent prefecture sees it
  expectStatus(await api(srv, 'GET', `/api/v1/review/publicity/${pubId}`, { token: S.km }), 200);
});

test('outside the subtree: exports with ?org= answer 404', async (t, srv) => {
  for (const [tok, org] of [
    [S.qj, U.wuhua1],
    [S.qj, U.km],
    [S.ql1, U.qilin2],
    [S.km, U.qj],
    [S.wh1, U.km],
  ]) {
    for (const f of ['summary.xlsx', 'letter.pdf']) {
      const res = await api(srv, 'GET', `/api/v1/exports/${f}?program=${SKILL}&org=${org}`, { token: tok });
      expectError(res, 404);
    }
  }
  // unknown union
  expectError(await api(srv, 'GET', `/api/v1/exports/summary.xlsx?program=${SKILL}&org=yn-nowhere`, { token: S.yn }), 404);
  // inside: 200
  const ok = await api(srv, 'GET', `/api/v1/exports/summary.xlsx?program=${SKILL}&org=${U.wuhua1}`, { token: S.km });
  expectStatus(ok, 200);
});

test('staff login: 5 failures lock the account (429 locked) for 15 minutes, other accounts unaffected', async (t, srv) => {
  await addStaff(srv, { org: U.dali1, username: 'dl1-reviewer' });
  const attempt = (password, username = 'dl1-reviewer') =>
    api(srv, 'POST', '/api/v1/staff/login', { json: { username, password } });
  for (let i = 0; i < 5; i++) expectError(await attempt('wrong-password'), 401, 'bad_credentials');
  const locked = await attempt(NEW_PASSWORD);
  expectError(locked, 429, 'locked');
  assert.ok(!locked.body.token, 'a locked account got a token');
  // Retry-After: the seconds until the lock ends (15 minutes from the 5th failure)
  const retry = locked.headers.get('retry-after');
  assert.match(retry ?? '', /^\d+$/, `429 locked without a Retry-After header of seconds: ${show(locked)}`);
  assert.ok(Number(retry) > 14 * 60 && Number(retry) <= 15 * 60, `Retry-After ${retry} is not the time left of a 15-minute lock`);
  // an unknown user answers like a wrong password, and locks like a real one,
  // so the 429 does not tell that a name exists
  for (let i = 0; i < 5; i++) expectError(await attempt('whatever', 'no-such-user'), 401, 'bad_credentials');
  const ghost = await attempt('whatever', 'no-such-user');
  expectError(ghost, 429, 'locked');
  assert.equal(ghost.body.error.message, locked.body.error.message, 'the same words as a real lock');
  const ghostRetry = Number(ghost.headers.get('retry-after'));
  assert.ok(ghostRetry > 14 * 60 && ghostRetry <= 15 * 60, `Retry-After ${ghostRetry}`);
  expectError(await attempt('whatever', 'another-unknown-user'), 401, 'bad_credentials');
  expectStatus(await attempt(NEW_PASSWORD, 'ql1-reviewer'), 200);
  await shiftClock(srv, 16 * 60);
  const again = await attempt(NEW_PASSWORD);
  expectStatus(again, 200);
  assert.equal(again.body.staff?.org, U.dali1);
});

test('staff add with an existing username replaces it (as it always has) and says so, with what it was; --update says it without the notice', async (t, srv) => {
  await addStaff(srv, { org: U.wuhua2, username: 'wh2-reviewer' });
  const other = 'Other#Passw0rd';
  const args = ['staff', 'add', '--data', srv.data, '--org', U.qilin2, '--role', 'admin', '--username', 'wh2-reviewer'];
  const r = await srv.cli(args, { input: other + '\n' });
  assert.equal(r.code, 0, `a second staff add of the same username failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /已更新/, `it does not say the account was updated:\n${r.stdout}`);
  assert.ok(!/已添加/.test(r.stdout), `it printed that the account was added:\n${r.stdout}`);
  // the notice names the account and what it was
  assert.match(r.stderr, /wh2-reviewer.*已存在.*覆盖/, `no notice that an account was replaced:\n${r.stderr}`);
  assert.ok(r.stderr.includes('reviewer') && r.stderr.includes(U.wuhua2), `the notice does not say what it was:\n${r.stderr}`);
  const after = await staffLogin(srv, 'wh2-reviewer', other);
  assert.equal(after.staff.org, U.qilin2);
  assert.equal(after.staff.role, 'admin');
  expectError(await api(srv, 'POST', '/api/v1/staff/login', { json: { username: 'wh2-reviewer', password: NEW_PASSWORD } }), 401, 'bad_credentials');

  // --update: the same, without the notice
  const u = await srv.cli([...args.slice(0, 4), '--org', U.wuhua2, '--role', 'reviewer', '--username', 'wh2-reviewer', '--update'], { input: NEW_PASSWORD + '\n' });
  assert.equal(u.code, 0, `staff add --update exited ${u.code}:\n${u.stdout}\n${u.stderr}`);
  assert.match(u.stdout, /已更新/, `--update does not say the account was updated:\n${u.stdout}`);
  assert.ok(!/已存在/.test(u.stderr), `--update still printed the notice:\n${u.stderr}`);
  const back = await staffLogin(srv, 'wh2-reviewer', NEW_PASSWORD);
  assert.equal(back.staff.org, U.wuhua2);
  assert.equal(back.staff.role, 'reviewer');
  // the help names the option
  const help = await srv.cli(['--help']);
  assert.match(help.stdout, /staff add[^\n]*--update/);
});
