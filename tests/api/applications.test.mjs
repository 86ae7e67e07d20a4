// The applicant's own applications: list, read, change, withdraw, printable form.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  useServer, api, expectStatus, expectError, expectInvalidField, show, newApplicant, validFields,
  submit, expectSubmitted, myApplications, appOf,
} from './lib/client.mjs';

const { test } = useServer();
const SKILL = 'yn2022-skill';
const EDU = 'yn2022-edu';

async function applicantWithApp(srv, program = SKILL, category = 'technician') {
  const a = await newApplicant(srv);
  a.fields = await validFields(srv, program, { id_number: a.id }, category);
  a.app = expectSubmitted(await submit(srv, a.token, program, category, a.fields));
  return a;
}

async function getApp(srv, token, id) {
  const res = await api(srv, 'GET', `/api/v1/applications/${id}`, { token });
  expectStatus(res, 200);
  return appOf(res);
}

function checkAppObject(app, where) {
  for (const k of ['id', 'program', 'category', 'rank', 'quota', 'status']) {
    assert.ok(app[k] !== undefined && app[k] !== null, `application object without "${k}" (${where}): ${JSON.stringify(app)}`);
  }
}

test('GET /api/v1/applications lists the caller\'s own applications only', async (t, srv) => {
  const a = await applicantWithApp(srv);
  const b = await applicantWithApp(srv);
  const c = await newApplicant(srv);
  const la = await myApplications(srv, a.token);
  const lb = await myApplications(srv, b.token);
  assert.deepEqual(la.map((x) => String(x.id)), [String(a.app.id)]);
  assert.deepEqual(lb.map((x) => String(x.id)), [String(b.app.id)]);
  assert.deepEqual(await myApplications(srv, c.token), []);
  for (const x of [...la, ...lb]) checkAppObject(x, 'list');
  assert.equal(la[0].program, SKILL);
  assert.equal(la[0].category, 'technician');
  assert.equal(la[0].rank, a.app.rank);
  assert.equal(la[0].quota, 'queued');
  assert.equal(la[0].status, 'submitted');
});

test('GET /api/v1/applications/{id}: the owner sees fields, status and a history array', async (t, srv) => {
  const a = await applicantWithApp(srv);
  const res = await api(srv, 'GET', `/api/v1/applications/${a.app.id}`, { token: a.token });
  expectStatus(res, 200);
  const app = appOf(res);
  checkAppObject(app, 'one');
  assert.equal(String(app.id), String(a.app.id));
  assert.equal(app.rank, a.app.rank);
  assert.equal(app.status, 'submitted');
  assert.equal(app.quota, 'queued');
  assert.ok(Array.isArray(app.history) && app.history.length >= 1, `history: ${show(res)}`);
  assert.ok(app.fields && typeof app.fields === 'object', `fields: ${show(res)}`);
  assert.equal(app.fields.name, a.fields.name);
  assert.equal(app.fields.cert_number, a.fields.cert_number);
  assert.equal(app.fields.union, a.fields.union);
  assert.equal(Number(app.fields.work_years), a.fields.work_years);
});

test('GET /api/v1/applications/{id}: 404 for someone else\'s, 404 nonexistent, 401 without auth', async (t, srv) => {
  const a = await applicantWithApp(srv);
  const b = await newApplicant(srv);
  expectError(await api(srv, 'GET', `/api/v1/applications/${a.app.id}`, { token: b.token }), 404);
  const missing = await api(srv, 'GET', `/api/v1/applications/999999999`, { token: a.token });
  expectError(missing, 404);
  expectError(await api(srv, 'GET', `/api/v1/applications/does-not-exist`, { token: a.token }), 404);
  expectError(await api(srv, 'GET', `/api/v1/applications/${a.app.id}`), 401);
  // someone else's 404 looks exactly like a nonexistent one
  const others = await api(srv, 'GET', `/api/v1/applications/${a.app.id}`, { token: b.token });
  const none = await api(srv, 'GET', `/api/v1/applications/999999999`, { token: b.token });
  assert.deepEqual(others.body, none.body);
});

test('PUT /api/v1/applications/{id}: 200, fields updated, rank unchanged', async (t, srv) => {
  const first = await applicantWithApp(srv);
  const a = await applicantWithApp(srv);
  const changed = { ...a.fields, unit: '云南建投第一建设有限公司', position: '钢筋工', work_years: 15, email: 'new@example.cn' };
  const res = await api(srv, 'PUT', `/api/v1/applications/${a.app.id}`, { token: a.token, json: { fields: changed } });
  expectStatus(res, 200);
  const body = appOf(res);
  checkAppObject(body, 'PUT answer');
  assert.equal(body.rank, a.app.rank, `rank changed: ${show(res)}`);
  const app = await getApp(srv, a.token, a.app.id);
  assert.equal(app.rank, a.app.rank);
  assert.equal(app.quota, a.app.quota);
  assert.equal(app.status, 'submitted');
  assert.equal(app.fields.unit, changed.unit);
  assert.equal(app.fields.position, changed.position);
  assert.equal(app.fields.email, changed.email);
  assert.equal(Number(app.fields.work_years), 15);
  assert.ok(app.history.length >= 1);
  // the list shows the same rank; the first applicant is untouched
  const listed = await myApplications(srv, a.token);
  assert.equal(listed[0].rank, a.app.rank);
  assert.equal((await getApp(srv, first.token, first.app.id)).fields.unit, first.fields.unit);
});

test('PUT /api/v1/applications/{id}: the education program too', async (t, srv) => {
  const a = await applicantWithApp(srv, EDU, 'bachelor');
  const changed = { ...a.fields, institution: '云南大学' };
  const res = await api(srv, 'PUT', `/api/v1/applications/${a.app.id}`, { token: a.token, json: { fields: changed } });
  expectStatus(res, 200);
  const app = await getApp(srv, a.token, a.app.id);
  assert.equal(app.fields.institution, '云南大学');
  assert.equal(app.rank, a.app.rank);
});

test('PUT /api/v1/applications/{id}: 422 for invalid fields, nothing changed', async (t, srv) => {
  const a = await applicantWithApp(srv);
  const before = await getApp(srv, a.token, a.app.id);
  const cases = [
    [{ ...a.fields, unit: '新单位', email: 'broken' }, 'email'],
    [{ ...a.fields, unit: '新单位', id_number: a.id.slice(0, 17) + (a.id[17] === '1' ? '2' : '1') }, 'id_number'],
    [{ ...a.fields, unit: '新单位', gender: '其他' }, 'gender'],
    [{ ...a.fields, unit: '新单位', extra_key: 'x' }, 'extra_key'],
    [{ ...a.fields, unit: '新单位', work_years: { n: 1 } }, 'work_years'],
    [(() => { const f = { ...a.fields, unit: '新单位' }; delete f.name; return f; })(), 'name'],
  ];
  for (const [fields, name] of cases) {
    const res = await api(srv, 'PUT', `/api/v1/applications/${a.app.id}`, { token: a.token, json: { fields } });
    expectInvalidField(res, name);
  }
  expectError(await api(srv, 'PUT', `/api/v1/applications/${a.app.id}`, { token: a.token, body: '{"fields":' }), 422, 'invalid');
  const after = await getApp(srv, a.token, a.app.id);
  assert.deepEqual(after.fields, before.fields);
  assert.equal(after.rank, before.rank);
  assert.equal(after.status, before.status);
});

test('PUT /api/v1/applications/{id}: ineligible changes are refused with 422 ineligible', async (t, srv) => {
  const a = await applicantWithApp(srv);
  const before = await getApp(srv, a.token, a.app.id);
  const res = await api(srv, 'PUT', `/api/v1/applications/${a.app.id}`, {
    token: a.token,
    json: { fields: { ...a.fields, cert_date: '2021-05-01' } },
  });
  expectError(res, 422, 'ineligible');
  assert.deepEqual((await getApp(srv, a.token, a.app.id)).fields, before.fields);
});

test('PUT /api/v1/applications/{id}: 404 for someone else\'s, 401 without auth', async (t, srv) => {
  const a = await applicantWithApp(srv);
  const b = await applicantWithApp(srv);
  const before = await getApp(srv, a.token, a.app.id);
  const res = await api(srv, 'PUT', `/api/v1/applications/${a.app.id}`, {
    token: b.token,
    json: { fields: { ...a.fields, unit: '冒名单位' } },
  });
  expectError(res, 404);
  expectError(await api(srv, 'PUT', `/api/v1/applications/${a.app.id}`, { json: { fields: a.fields } }), 401);
  expectError(await api(srv, 'PUT', `/api/v1/applications/999999999`, { token: a.token, json: { fields: a.fields } }), 404);
  assert.deepEqual((await getApp(srv, a.token, a.app.id)).fields, before.fields);
});

test('withdraw, then PUT → 409 locked; the application reads withdrawn', async (t, srv) => {
  const a = await applicantWithApp(srv);
  const w = await api(srv, 'POST', `/api/v1/applications/${a.app.id}/withdraw`, { token: a.token, json: {} });
  expectStatus(w, 200);
  assert.equal(appOf(w).status, 'withdrawn', show(w));
  checkAppObject(appOf(w), 'withdraw answer');
  const res = await api(srv, 'PUT', `/api/v1/applications/${a.app.id}`, {
    token: a.token,
    json: { fields: { ...a.fields, unit: '撤回后修改' } },
  });
  expectError(res, 409, 'locked');
  const app = await getApp(srv, a.token, a.app.id);
  assert.equal(app.status, 'withdrawn');
  assert.equal(app.rank, a.app.rank);
  assert.equal(app.fields.unit, a.fields.unit);
  assert.ok(app.history.length >= 2, `history should record the withdrawal: ${JSON.stringify(app.history)}`);
  expectError(await api(srv, 'POST', `/api/v1/applications/${a.app.id}/withdraw`, { json: {} }), 401);
});

test('GET /api/v1/applications/{id}/form.pdf: 200 application/pdf starting with %PDF', async (t, srv) => {
  for (const [program, category] of [[SKILL, 'senior-technician'], [EDU, 'associate']]) {
    const a = await applicantWithApp(srv, program, category);
    const res = await api(srv, 'GET', `/api/v1/applications/${a.app.id}/form.pdf`, { token: a.token, timeout: 60000 });
    expectStatus(res, 200);
    assert.match(res.headers.get('content-type') || '', /^application\/pdf/);
    assert.equal(res.bytes.subarray(0, 5).toString('latin1'), '%PDF-');
    assert.ok(res.bytes.length > 1000, `PDF of ${res.bytes.length} bytes`);
    assert.match(res.bytes.subarray(-1024).toString('latin1'), /%%EOF\s*$/);
    // the footnote gives this program's paper deadline (moved with the demo's window)
    const text = pdfText(res.bytes).replace(/\s+/g, '');
    const p = (await api(srv, 'GET', `/api/v1/programs/${program}`)).body;
    const [y, m, d] = p.paper_deadline.split('-').map(Number);
    assert.ok(text.includes(`于${y}年${m}月${d}日前递交所在单位工会`), `footnote: ${text.slice(-300)}`);
    assert.ok(!text.includes('{paper_deadline}'), 'a placeholder in the form');
  }
});

test('GET /api/v1/applications/{id}/form.pdf: 404 for someone else\'s, 401 without auth', async (t, srv) => {
  const a = await applicantWithApp(srv);
  const b = await newApplicant(srv);
  expectError(await api(srv, 'GET', `/api/v1/applications/${a.app.id}/form.pdf`, { token: b.token }), 404);
  expectError(await api(srv, 'GET', `/api/v1/applications/999999999/form.pdf`, { token: b.token }), 404);
  expectError(await api(srv, 'GET', `/api/v1/applications/${a.app.id}/form.pdf`), 401);
  expectError(await api(srv, 'GET', `/api/v1/applications/${a.app.id}/form.pdf`, { token: 'garbage' }), 401);
});

test('PUT /api/v1/applications/{id}: changing the ID number to another applicant\'s in the same program is refused', async (t, srv) => {
  const a = await applicantWithApp(srv);
  const b = await applicantWithApp(srv);
  const before = await getApp(srv, b.token, b.app.id);
  const res = await api(srv, 'PUT', `/api/v1/applications/${b.app.id}`, {
    token: b.token,
    json: { fields: { ...b.fields, id_number: a.id } },
  });
  expectError(res, [409, 422], ['duplicate', 'invalid', 'ineligible']);
  assert.deepEqual((await getApp(srv, b.token, b.app.id)).fields, before.fields);
  expectStatus(await api(srv, 'GET', '/healthz'), 200);
});

test('form.pdf: Content-Disposition has the Chinese filename* and a meaningful ASCII filename', async (t, srv) => {
  const a = await applicantWithApp(srv);
  const res = await api(srv, 'GET', `/api/v1/applications/${a.app.id}/form.pdf`, { token: a.token, timeout: 60000 });
  expectStatus(res, 200);
  const cd = res.headers.get('content-disposition') ?? '';
  assert.equal(/filename="([^"]*)"/.exec(cd)?.[1], `form-${a.app.id}.pdf`, cd);
  // which program and whose: the program's title, 申报表, the applicant's name
  const title = (await api(srv, 'GET', `/api/v1/programs/${a.app.program}`)).body.title;
  const mine = (await api(srv, 'GET', `/api/v1/applications/${a.app.id}`, { token: a.token })).body;
  assert.equal(decodeURIComponent(/filename\*=UTF-8''([^;]*)/.exec(cd)?.[1] ?? ''), `${title}申报表-${mine.fields.name}.pdf`, cd);
});

test('odd application ids (non-numeric, negative, huge, encoded) → 404 or 401, never a server error', async (t, srv) => {
  const a = await applicantWithApp(srv);
  for (const id of ['0', '-1', '1abc', '1.0', '99999999999999999999999', '%20', '1%20OR%201%3D1', "1'", '%00', 'null']) {
    for (const suffix of ['', '/form.pdf']) {
      const res = await api(srv, 'GET', `/api/v1/applications/${id}${suffix}`, { token: a.token });
      expectError(res, 404);
    }
    const put = await api(srv, 'PUT', `/api/v1/applications/${id}`, { token: a.token, json: { fields: a.fields } });
    expectError(put, 404);
  }
  // the real one is untouched
  assert.equal((await getApp(srv, a.token, a.app.id)).fields.unit, a.fields.unit);
});

// libmicrohttpd decodes %00 in the path to a NUL; src/http/http.c's unescape
// callback turns a decoded NUL into DEL, so "7%00…" is not application 7.
test('an id with a decoded NUL or anything after it is not that application (404)', async (t, srv) => {
  const a = await applicantWithApp(srv);
  for (const id of [`${a.app.id}%00`, `${a.app.id}%00abc`, `${a.app.id}%00/form.pdf`]) {
    const res = await api(srv, 'GET', `/api/v1/applications/${id}`, { token: a.token });
    expectError(res, [400, 404]);
  }
  const put = await api(srv, 'PUT', `/api/v1/applications/${a.app.id}%00`, { token: a.token, json: { fields: a.fields } });
  expectError(put, [400, 404]);
});

function pdfText(bytes) {
  const f = path.join(os.tmpdir(), `tisheng-form-${process.pid}-${Date.now()}.pdf`);
  fs.writeFileSync(f, bytes);
  try {
    return execFileSync('pdftotext', ['-enc', 'UTF-8', f, '-'], { encoding: 'utf8' });
  } finally {
    fs.rmSync(f, { force: true });
  }
}

test('form.pdf is the filled form: its text carries the title and the applicant\'s entries (needs pdftotext)', async (t, srv) => {
  try {
    execFileSync('pdftotext', ['-v'], { stdio: 'ignore' });
  } catch {
    t.skip('pdftotext (poppler-utils) is not installed');
    return;
  }
  const a = await newApplicant(srv);
  a.fields = await validFields(srv, SKILL, { id_number: a.id, name: '李云华', unit: '云南测试焊接有限公司', occupation: '电焊工' }, 'technician');
  a.app = expectSubmitted(await submit(srv, a.token, SKILL, 'technician', a.fields));
  const res = await api(srv, 'GET', `/api/v1/applications/${a.app.id}/form.pdf`, { token: a.token, timeout: 60000 });
  expectStatus(res, 200);
  const text = pdfText(res.bytes).replace(/\s+/g, '');
  for (const want of ['申报表', '李云华', '云南测试焊接有限公司', '电焊工', '2022-03-01', '技师（二级）', a.phone]) {
    assert.ok(text.includes(want.replace(/\s+/g, '')), `the form does not show "${want}"; text: ${text.slice(0, 400)}`);
  }
  assert.ok(text.includes(a.id) || text.includes(a.id.slice(0, 6)), 'the form shows the ID number');
});
