// The whole pipeline on a small copy of yn2022-skill (cap 2, places 3 per
// category): base initial review, base publicity (masked public list and
// page, real-name objections, investigation, closing), re-check by 昆明,
// province review, province publicity, final approval with TOTP, and the
// approved list for finance (docs/review.md, issue 4 items 2, 4 and 5).

import assert from 'node:assert/strict';

import { useServer, login } from './lib/client.mjs';
import {
  U, NEW_PASSWORD, api, expectStatus, expectError, show, addStaff, staffAccount, applicants, reviewApp, reviewList,
  decide, decideOk, passAll, cstDate, myApp, shiftClock, serverNowMs, totp, smallProgram, createPublicity,
  fileObjection, objectionCode, entrySeq, longNumbers, readXlsx, headerOf, auditEntries,
} from './lib/review.mjs';
import { errorFields } from './lib/client.mjs';
import { phone as newPhone, used } from './lib/gen.mjs';

const { test } = useServer({ extraArgs: ['--test-clock'] });

const PROG = 't-pipe';
const S = {};
let T = []; // technician: ranks 1..3 (3 waitlisted)
let SR = []; // senior-technician: ranks 1..3 (3 waitlisted)
let all = [];
let basePub; // staff view
let objT1;
let objS1;

const T_NAMES = ['王丽华', '李志明', '赵国强'];
const BANK = '6222021001122334455';
const S_NAMES = ['孙桂芳', '周建新', '吴海燕'];

async function statuses(srv, token) {
  const out = {};
  for (const p of all) out[p.fields.name] = (await reviewApp(srv, token, p.app.id)).status;
  return out;
}

test('setup: a small program, six applicants in one base union, all passed at the initial review', async (t, srv) => {
  await smallProgram(srv, PROG, { cap: 2, places: 3 });
  await addStaff(srv, { org: U.wuhua1, username: 'wh1-reviewer' });
  S.wh1 = staffAccount(srv, 'wh1-reviewer', NEW_PASSWORD);
  S.km = staffAccount(srv, 'km-reviewer');
  S.yn = staffAccount(srv, 'yn-reviewer');
  S.admin = staffAccount(srv, 'admin');
  S.finance = staffAccount(srv, 'finance');
  for (const s of Object.values(S)) await s.login();
  T = await applicants(srv, {
    program: PROG,
    category: 'technician',
    union: U.wuhua1,
    n: 3,
    overrides: (i) => ({
      name: T_NAMES[i],
      gender: i === 0 ? '男' : '女',
      ...(i === 1 ? { bank_branch: '中国工商银行昆明五华支行', bank_account: BANK } : {}),
    }),
  });
  SR = await applicants(srv, {
    program: PROG,
    category: 'senior-technician',
    union: U.wuhua1,
    n: 3,
    overrides: (i) => ({ name: S_NAMES[i], unit: '云南和顺达电梯安装工程有限公司' }),
  });
  all = [...T, ...SR];
  assert.deepEqual(T.map((p) => p.app.quota), ['queued', 'queued', 'waitlisted']);
  assert.deepEqual(SR.map((p) => p.app.quota), ['queued', 'queued', 'waitlisted']);
  await passAll(srv, S.wh1.token, all.map((p) => p.app.id), 'initial_passed');
});

test('publicity: fewer than 5 calendar days or bad dates → 422, nothing created; other levels → 403', async (t, srv) => {
  const today = await cstDate(srv, 0);
  for (const [s, e] of [
    [today, await cstDate(srv, 3)], // 4 days
    [today, today], // 1 day
    [await cstDate(srv, 4), today], // ends before it starts
    [today, '2026-13-40'],
  ]) {
    const res = await createPublicity(srv, S.wh1.token, PROG, s, e);
    expectError(res, 422, 'invalid');
    errorFields(res);
  }
  expectError(await api(srv, 'POST', '/api/v1/review/publicity', { token: S.wh1.token, json: { program: PROG } }), 422, 'invalid');
  // the prefecture has no publicity stage of its own in this program
  expectError(await createPublicity(srv, S.km.token, PROG, today, await cstDate(srv, 4)), 403, 'wrong_level');
  expectError(await createPublicity(srv, S.finance.token, PROG, today, await cstDate(srv, 4)), 403);
  const list = await api(srv, 'GET', `/api/v1/review/publicity?program=${PROG}`, { token: S.wh1.token });
  expectStatus(list, 200);
  assert.deepEqual(list.body.publicity, [], `a refused publicity was created: ${show(list)}`);
  for (const p of all) assert.equal((await reviewApp(srv, S.wh1.token, p.app.id)).status, 'initial_passed');
});

test('base publicity: 5 calendar days (today … today+4) lists every application waiting for it', async (t, srv) => {
  const res = await createPublicity(srv, S.wh1.token, PROG, await cstDate(srv, 0), await cstDate(srv, 4));
  expectStatus(res, 201);
  assert.ok(res.body.id, show(res));
  assert.equal(res.body.entries, 6, show(res));
  const view = await api(srv, 'GET', `/api/v1/review/publicity/${res.body.id}`, { token: S.wh1.token });
  expectStatus(view, 200);
  basePub = view.body;
  assert.equal(basePub.entries.length, 6);
  assert.deepEqual(basePub.entries.map((e) => e.application).sort((a, b) => a - b), all.map((p) => p.app.id).sort((a, b) => a - b));
});

function expectMaskedPublic(text, what) {
  const { ids, phones } = longNumbers(text);
  assert.deepEqual(ids, [], `${what}: 18-digit numbers in the public output`);
  assert.deepEqual(phones, [], `${what}: 11-digit numbers in the public output`);
  assert.ok(!text.includes(BANK) && !text.includes('五华支行'), `${what}: bank data in the public output`);
  for (const p of all) {
    assert.ok(!text.includes(p.idn), `${what}: full ID number of ${p.fields.name}`);
    assert.ok(!text.includes(p.phone), `${what}: phone of ${p.fields.name}`);
  }
}

test('the public JSON and page show name, unit, category, amount and the ID masked 2 + stars + 3', async (t, srv) => {
  const res = await api(srv, 'GET', `/api/v1/public/publicity/${basePub.id}`);
  expectStatus(res, 200);
  expectMaskedPublic(res.text, 'public JSON');
  const entries = res.body.entries;
  assert.equal(entries.length, 6);
  for (const p of all) {
    const e = entries.find((x) => x.name === p.fields.name);
    assert.ok(e, `${p.fields.name} is not listed: ${show(res)}`);
    assert.equal(e.unit, p.fields.unit);
    assert.equal(e.category_name ?? e.category, p.app.category === 'technician' ? '技师（二级）' : '高级技师（一级）');
    assert.equal(e.amount_fen, p.app.category === 'technician' ? 100000 : 200000);
    // one beyond the paid cap is listed as 候补, not as paid
    assert.equal(e.quota, p.app.quota, `${p.fields.name}: ${JSON.stringify(e)}`);
    const masked = Object.values(e).find((v) => typeof v === 'string' && /\*/.test(v));
    assert.ok(masked, `no masked ID in ${JSON.stringify(e)}`);
    assert.match(masked, /^\d{2}\*+[\dX]{3}$/);
    assert.equal(masked.slice(0, 2), p.idn.slice(0, 2));
    assert.equal(masked.slice(-3), p.idn.slice(-3));
    for (const k of ['phone', 'bank_account', 'bank_branch', 'id_number']) assert.ok(!(k in e), `public entry has "${k}"`);
  }

  const page = await api(srv, 'GET', `/public/publicity/${basePub.id}`);
  expectStatus(page, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  expectMaskedPublic(page.text, 'public page');
  assert.equal(page.text.split('候补（').length - 1, all.filter((p) => p.app.quota === 'waitlisted').length, 'the waitlisted are not marked 候补 on the page');
  // the public is led to the objection form, not shown an API address
  assert.ok(page.text.includes(`href="/public/publicity/${basePub.id}/objection"`), 'no link to the objection form');
  assert.ok(!page.text.includes('POST /api'), 'raw API text on the public page');
  for (const p of all) {
    assert.ok(page.text.includes(p.fields.name), `the page does not show ${p.fields.name}`);
    assert.ok(page.text.includes(`${p.idn.slice(0, 2)}${'*'.repeat(13)}${p.idn.slice(-3)}`), `no masked ID of ${p.fields.name}`);
  }
  for (const s of ['云南和顺达电梯安装工程有限公司', '技师（二级）', '高级技师（一级）', '1000', '2000']) {
    assert.ok(page.text.includes(s), `the page does not show "${s}"`);
  }
  expectError(await api(srv, 'GET', '/api/v1/public/publicity/99999'), 404);
});

test('objections: a wrong SMS code → 401, incomplete → 422, nothing stored; a real-name one → 201', async (t, srv) => {
  const url = `/api/v1/public/publicity/${basePub.id}/objections`;
  const seqT1 = entrySeq(basePub, T[0].app.id);
  const phone = newPhone();
  const code = await objectionCode(srv, phone);
  const wrong = code === '000000' ? '111111' : '000000';
  const bad = await api(srv, 'POST', url, { json: { entry: seqT1, name: '李建国', phone, code: wrong, text: '该职工并非本单位在职职工。' } });
  expectError(bad, 401);
  const incomplete = await api(srv, 'POST', url, { json: { entry: seqT1, phone, code, text: '该职工并非本单位在职职工。' } });
  expectError(incomplete, 422, 'invalid');
  assert.ok(errorFields(incomplete).some((f) => f.name === 'name'), show(incomplete));
  const noEntry = await api(srv, 'POST', url, { json: { entry: 99, name: '李建国', phone, code, text: '该职工并非本单位在职职工。' } });
  expectError(noEntry, 422, 'invalid');
  let view = await api(srv, 'GET', `/api/v1/review/publicity/${basePub.id}`, { token: S.wh1.token });
  assert.equal(view.body.objections.length, 0, `a refused objection was stored: ${show(view)}`);

  const ok = await api(srv, 'POST', url, { json: { entry: seqT1, name: '李建国', phone, code, text: '该职工并非本单位在职职工。' } });
  expectStatus(ok, 201);
  objT1 = ok.body.id;
  const s1 = await fileObjection(srv, basePub.id, entrySeq(basePub, SR[0].app.id), { text: '该职工的高级技师证书系伪造，请核实。' });
  expectStatus(s1, 201);
  objS1 = s1.body.id;
  view = await api(srv, 'GET', `/api/v1/review/publicity/${basePub.id}`, { token: S.wh1.token });
  assert.equal(view.body.objections.length, 2);
  assert.ok(view.body.objections.every((o) => o.status === 'pending'));
  // the public view does not show objections or the objectors' phones
  const pub = await api(srv, 'GET', `/api/v1/public/publicity/${basePub.id}`);
  assert.ok(!pub.text.includes(phone), 'the public JSON shows an objector phone');
});

test('closing before the end date → 409 not_ended, nothing moves', async (t, srv) => {
  const before = await statuses(srv, S.wh1.token);
  const res = await api(srv, 'POST', `/api/v1/review/publicity/${basePub.id}/close`, { token: S.wh1.token, json: {} });
  expectError(res, 409, 'not_ended');
  assert.deepEqual(await statuses(srv, S.wh1.token), before);
});

test('investigation: only the publishing union, with a finding and a note; upheld cancels and backfills', async (t, srv) => {
  const url = `/api/v1/review/objections/${objS1}/investigation`;
  expectError(await api(srv, 'POST', url, { token: S.km.token, json: { finding: 'upheld', note: '属实' } }), 403);
  expectError(await api(srv, 'POST', url, { token: S.wh1.token, json: { finding: 'upheld' } }), 422, 'invalid');
  expectError(await api(srv, 'POST', url, { token: S.wh1.token, json: { finding: 'maybe', note: '待定' } }), 422, 'invalid');
  assert.equal((await reviewApp(srv, S.wh1.token, SR[0].app.id)).status, 'initial_passed');

  const res = await api(srv, 'POST', url, { token: S.wh1.token, json: { finding: 'upheld', note: '经核实，证书系伪造' } });
  expectStatus(res, 200);
  const s1 = await reviewApp(srv, S.wh1.token, SR[0].app.id);
  assert.equal(s1.status, 'cancelled');
  const s3 = await reviewApp(srv, S.wh1.token, SR[2].app.id);
  assert.equal(s3.quota, 'queued', 'the senior-technician rank 3 did not move up');
  // deciding the same objection again does not apply twice
  const again = await api(srv, 'POST', url, { token: S.wh1.token, json: { finding: 'dismissed', note: '复查' } });
  expectError(again, 409);
  assert.equal((await reviewApp(srv, S.wh1.token, SR[0].app.id)).status, 'cancelled');
});

test('after the end: a pending objection blocks closing (409 objections_pending); dismissed → close passes the rest', async (t, srv) => {
  await shiftClock(srv, 6 * 86400);
  for (const s of [S.wh1, S.km, S.yn]) await s.login();
  const close = () => api(srv, 'POST', `/api/v1/review/publicity/${basePub.id}/close`, { token: S.wh1.token, json: {} });
  const before = await statuses(srv, S.wh1.token);
  expectError(await close(), 409, 'objections_pending');
  assert.deepEqual(await statuses(srv, S.wh1.token), before);

  const inv = await api(srv, 'POST', `/api/v1/review/objections/${objT1}/investigation`, {
    token: S.wh1.token,
    json: { finding: 'dismissed', note: '经核实，该职工系本单位在职职工，异议不属实' },
  });
  expectStatus(inv, 200);
  assert.equal((await reviewApp(srv, S.wh1.token, T[0].app.id)).status, 'initial_passed', 'a dismissed objection changed the application');

  // another reviewer of the subtree cannot close it
  expectError(await api(srv, 'POST', `/api/v1/review/publicity/${basePub.id}/close`, { token: S.km.token, json: {} }), 403);
  const res = await close();
  expectStatus(res, 200);
  const st = await statuses(srv, S.wh1.token);
  assert.deepEqual(st, {
    [T_NAMES[0]]: 'base_publicized',
    [T_NAMES[1]]: 'base_publicized',
    [T_NAMES[2]]: 'base_publicized',
    [S_NAMES[0]]: 'cancelled',
    [S_NAMES[1]]: 'base_publicized',
    [S_NAMES[2]]: 'base_publicized',
  });
  // closing twice does not advance twice
  const again = await close();
  expectError(again, 409);
  for (const p of [T[0], SR[1]]) {
    const h = (await reviewApp(srv, S.wh1.token, p.app.id)).history;
    assert.equal(h.filter((e) => e.status === 'base_publicized').length, 1, JSON.stringify(h));
  }
});

const live = () => all.filter((p) => p !== SR[0]);

test('re-check by the prefecture (昆明): the base union and the province are the wrong level', async (t, srv) => {
  const id = T[0].app.id;
  expectError(await decide(srv, S.wh1.token, id, { decision: 'pass' }), 403, 'wrong_level');
  expectError(await decide(srv, S.yn.token, id, { decision: 'pass' }), 403, 'wrong_level');
  // the full ID and bank account: now only for 昆明, which acts at this stage; audited as before
  const t2 = T[1].app.id;
  const masked = await reviewApp(srv, S.km.token, t2);
  assert.ok(!JSON.stringify(masked).includes(BANK), 'the bank account is not masked in the staff detail');
  expectError(await api(srv, 'GET', `/api/v1/review/applications/${t2}?reveal=1`, { token: S.wh1.token }), 403);
  const rv = await api(srv, 'GET', `/api/v1/review/applications/${t2}?reveal=1`, { token: S.km.token });
  expectStatus(rv, 200);
  assert.equal(rv.body.id_number, T[1].idn);
  assert.equal(rv.body.fields?.bank_account, BANK);
  const queue = await reviewList(srv, S.km.token, `program=${PROG}&actionable=1`);
  assert.deepEqual(queue.applications.map((a) => a.id).sort((a, b) => a - b), live().map((p) => p.app.id).sort((a, b) => a - b));
  await passAll(srv, S.km.token, live().map((p) => p.app.id), 'rechecked');
});

test('province review by yn-reviewer', async (t, srv) => {
  expectError(await decide(srv, S.km.token, T[0].app.id, { decision: 'pass' }), 403, 'wrong_level');
  await passAll(srv, S.yn.token, live().map((p) => p.app.id), 'province_passed');
});

test('province publicity: 5 days, masked, closed after the end → province_publicized', async (t, srv) => {
  expectError(await createPublicity(srv, S.yn.token, PROG, await cstDate(srv, 0), await cstDate(srv, 2)), 422, 'invalid');
  const res = await createPublicity(srv, S.yn.token, PROG, await cstDate(srv, 0), await cstDate(srv, 4));
  expectStatus(res, 201);
  assert.equal(res.body.entries, 5);
  const pub = await api(srv, 'GET', `/public/publicity/${res.body.id}`);
  expectStatus(pub, 200);
  const { ids, phones } = longNumbers(pub.text);
  assert.deepEqual([ids, phones], [[], []]);
  expectError(await api(srv, 'POST', `/api/v1/review/publicity/${res.body.id}/close`, { token: S.yn.token, json: {} }), 409, 'not_ended');
  await shiftClock(srv, 6 * 86400);
  for (const s of [S.wh1, S.km, S.yn, S.admin, S.finance]) await s.login();
  const close = await api(srv, 'POST', `/api/v1/review/publicity/${res.body.id}/close`, { token: S.yn.token, json: {} });
  expectStatus(close, 200);
  for (const p of live()) assert.equal((await reviewApp(srv, S.yn.token, p.app.id)).status, 'province_publicized');
});

test('final approval: admin without TOTP → 403 totp_required; reviewer → 403; nothing approved', async (t, srv) => {
  const before = await statuses(srv, S.yn.token);
  expectError(await api(srv, 'POST', '/api/v1/review/approval', { token: S.admin.token, json: { program: PROG } }), 403, 'totp_required');
  expectError(await api(srv, 'POST', '/api/v1/review/approval', { token: S.yn.token, json: { program: PROG } }), 403);
  expectError(await api(srv, 'POST', '/api/v1/review/approval', { token: S.finance.token, json: { program: PROG } }), 403);
  assert.deepEqual(await statuses(srv, S.yn.token), before);
});

test('final approval with TOTP approves exactly the queued ones', async (t, srv) => {
  const setup = await api(srv, 'POST', '/api/v1/staff/totp/setup', { token: S.admin.token, json: {} });
  expectStatus(setup, 200);
  const secret = setup.body.secret;
  assert.match(secret, /^[A-Z2-7]+=*$/, show(setup));
  const now = await serverNowMs(srv);
  const wrong = String((Number(totp(secret, now)) + 1) % 1000000).padStart(6, '0');
  expectError(await api(srv, 'POST', '/api/v1/staff/totp/enable', { token: S.admin.token, json: { code: wrong } }), 422);
  const en = await api(srv, 'POST', '/api/v1/staff/totp/enable', { token: S.admin.token, json: { code: totp(secret, await serverNowMs(srv)) } });
  expectStatus(en, 200);

  // login now needs the code
  const noCode = await api(srv, 'POST', '/api/v1/staff/login', { json: { username: 'admin', password: 'Tisheng@2022' } });
  expectError(noCode, 401, 'totp_required');
  const badCode = await api(srv, 'POST', '/api/v1/staff/login', {
    json: { username: 'admin', password: 'Tisheng@2022', totp: wrong },
  });
  expectError(badCode, 401, 'totp_required');
  S.admin.totpSecret = secret;
  await S.admin.login();
  assert.equal(S.admin.staff?.totp_enabled, true);

  const queued = [];
  for (const p of live()) {
    const a = await reviewApp(srv, S.yn.token, p.app.id);
    if (a.quota === 'queued') queued.push(p.app.id);
  }
  assert.equal(queued.length, 4);
  const res = await api(srv, 'POST', '/api/v1/review/approval', { token: S.admin.token, json: { program: PROG } });
  expectStatus(res, 200);
  assert.equal(res.body.approved, queued.length, show(res));
  const st = await statuses(srv, S.yn.token);
  assert.deepEqual(st, {
    [T_NAMES[0]]: 'approved',
    [T_NAMES[1]]: 'approved',
    [T_NAMES[2]]: 'province_publicized', // waitlisted: outside the paid cap
    [S_NAMES[0]]: 'cancelled',
    [S_NAMES[1]]: 'approved',
    [S_NAMES[2]]: 'approved', // moved up after the upheld objection
  });
  const approved = (await reviewList(srv, S.yn.token, `program=${PROG}&status=approved`)).applications.map((a) => a.id);
  assert.deepEqual(approved.sort((a, b) => a - b), queued.sort((a, b) => a - b));
  // the applicant sees it
  const token = await login(srv, T[0].phone);
  assert.equal((await myApp(srv, token, T[0].app.id)).status, 'approved');
});

test('approved.xlsx: finance gets the approved list; a reviewer gets 403', async (t, srv) => {
  expectError(await api(srv, 'GET', `/api/v1/exports/approved.xlsx?program=${PROG}`, { token: S.yn.token }), 403);
  expectError(await api(srv, 'GET', `/api/v1/exports/approved.xlsx?program=${PROG}`, { token: S.km.token }), 403);
  const res = await api(srv, 'GET', `/api/v1/exports/approved.xlsx?program=${PROG}`, { token: S.finance.token });
  expectStatus(res, 200);
  const rows = readXlsx(res.bytes);
  const { index, cols } = headerOf(rows, ['姓名', '身份证号码']);
  const data = rows.slice(index + 1).filter((r) => /^\d+$/.test(r[0] ?? ''));
  assert.equal(data.length, 4, `approved rows:\n${rows.map((r) => r.join(' | ')).join('\n')}`);
  const names = data.map((r) => r[cols['姓名']]).sort();
  assert.deepEqual(names, [T_NAMES[0], T_NAMES[1], S_NAMES[1], S_NAMES[2]].sort());
  const text = rows.map((r) => r.join(' ')).join('\n');
  assert.match(text, /6000/, 'the approved list does not total 6000 yuan');
});

test('the audit log records the pipeline and holds no full ID, phone or bank number', async (t, srv) => {
  const auditor = staffAccount(srv, 'auditor');
  await auditor.login();
  const entries = await auditEntries(srv, auditor.token);
  const actions = new Set(entries.map((e) => e.action));
  for (const a of ['pass', 'publicity.create', 'publicity.close', 'objection.file', 'objection.investigate', 'approve', 'application.reveal']) {
    assert.ok(actions.has(a), `no "${a}" entry in the audit log (actions: ${[...actions].join(', ')})`);
  }
  for (const e of entries) {
    for (const k of ['at', 'actor', 'action']) assert.ok(e[k], `audit entry without "${k}": ${JSON.stringify(e)}`);
  }
  const text = JSON.stringify(entries);
  const leaks = [...used.ids, ...used.phones, BANK].filter((s) => text.includes(s));
  assert.deepEqual(leaks, [], 'full numbers in the audit log');
});
