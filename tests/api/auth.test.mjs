// Applicant login: SMS codes, login, sessions (bearer token and cookie), 401s.

import assert from 'node:assert/strict';

import { useServer, api, expectStatus, expectError, requestCode, smsCode, smsLines, login, show, newApplicant, validFields, submit, expectSubmitted } from './lib/client.mjs';
import { phone as newPhone } from './lib/gen.mjs';

const { test } = useServer();

test('sms-code: 200 {"sent":true,"retry_after":S} and an SMS line with a 6-digit code', async (t, srv) => {
  const phone = newPhone();
  const res = await api(srv, 'POST', '/api/v1/auth/sms-code', { json: { phone } });
  expectStatus(res, 200);
  assert.equal(res.body?.sent, true, show(res));
  assert.ok(Number.isInteger(res.body?.retry_after) && res.body.retry_after > 0, `retry_after: ${show(res)}`);
  const code = await smsCode(srv, phone);
  assert.match(code, /^\d{6}$/);
  const line = smsLines(srv).filter((l) => l.phone === phone).pop();
  assert.ok(line.text.includes(code), `the SMS text carries the code: ${JSON.stringify(line)}`);
  assert.match(line.text, /[\u4e00-\u9fff]/);
});

test('sms-code: 422 invalid for malformed phones', async (t, srv) => {
  for (const phone of ['12800000000', '1380000000', '138000000000', 'abcdefghijk', '', '+1 138 0000 0000', '138.0000.0000']) {
    const res = await api(srv, 'POST', '/api/v1/auth/sms-code', { json: { phone } });
    expectError(res, 422, 'invalid');
  }
  expectError(await api(srv, 'POST', '/api/v1/auth/sms-code', { json: {} }), 422, 'invalid');
  expectError(await api(srv, 'POST', '/api/v1/auth/sms-code', { json: { phone: 13800000000 } }), 422, 'invalid');
  expectError(await api(srv, 'POST', '/api/v1/auth/sms-code', { body: '{"phone":' }), 422, 'invalid');
});

test('a pasted number (+86, spaces, dashes) is the same phone: the SMS goes to its 11 digits and the login reaches the same account', async (t, srv) => {
  const phone = newPhone();
  const pasted = `+86 ${phone.slice(0, 3)} ${phone.slice(3, 7)} ${phone.slice(7)}`;
  const res = await api(srv, 'POST', '/api/v1/auth/sms-code', { json: { phone: pasted } });
  expectStatus(res, 200);
  const code = await smsCode(srv, phone);
  assert.ok(!smsLines(srv).some((l) => l.phone === pasted), 'the SMS line names the 11 digits');
  const dashed = `${phone.slice(0, 3)}-${phone.slice(3, 7)}-${phone.slice(7)}`;
  const first = await api(srv, 'POST', '/api/v1/auth/login', { json: { phone: dashed, code } });
  expectStatus(first, 200);
  // the plain number is the same phone: its code was sent seconds ago
  expectError(await api(srv, 'POST', '/api/v1/auth/sms-code', { json: { phone } }), 429, 'rate_limited');
});

test('sms-code: 429 rate_limited for a second code to the same phone within 60 s', async (t, srv) => {
  const phone = newPhone();
  await requestCode(srv, phone);
  const res = await api(srv, 'POST', '/api/v1/auth/sms-code', { json: { phone } });
  expectError(res, 429, 'rate_limited');
  // and no second SMS went out
  const again = await smsCode(srv, phone, 1);
  assert.match(again, /^\d{6}$/);
});

test('login: 200 {"token"} with the right code; the token authenticates', async (t, srv) => {
  const phone = newPhone();
  const token = await login(srv, phone);
  const res = await api(srv, 'GET', '/api/v1/applications', { token });
  expectStatus(res, 200);
  assert.deepEqual(res.body.applications, []);
});

function wrongCode(code) {
  return String((Number(code) + 1) % 1000000).padStart(6, '0');
}

test('login: 401 bad_code for a wrong code; the right code still works afterwards', async (t, srv) => {
  const phone = newPhone();
  const code = await requestCode(srv, phone);
  const bad = await api(srv, 'POST', '/api/v1/auth/login', { json: { phone, code: wrongCode(code) } });
  expectError(bad, 401, 'bad_code');
  assert.equal(bad.body.token, undefined);
  const good = await api(srv, 'POST', '/api/v1/auth/login', { json: { phone, code } });
  expectStatus(good, 200);
  assert.equal(typeof good.body.token, 'string');
});

test('login: an unknown phone (never asked for a code) gets the same 401 bad_code answer', async (t, srv) => {
  const known = newPhone();
  const code = await requestCode(srv, known);
  const wrong = await api(srv, 'POST', '/api/v1/auth/login', { json: { phone: known, code: wrongCode(code) } });
  const unknown = await api(srv, 'POST', '/api/v1/auth/login', { json: { phone: newPhone(), code: '123456' } });
  expectError(wrong, 401, 'bad_code');
  expectError(unknown, 401, 'bad_code');
  assert.deepEqual(unknown.body, wrong.body, 'unknown phone and wrong code must be indistinguishable');
});

test('login: a code is single use (second login with it → 401 bad_code)', async (t, srv) => {
  const phone = newPhone();
  const code = await requestCode(srv, phone);
  const first = await api(srv, 'POST', '/api/v1/auth/login', { json: { phone, code } });
  expectStatus(first, 200);
  const second = await api(srv, 'POST', '/api/v1/auth/login', { json: { phone, code } });
  expectError(second, 401, 'bad_code');
});

test('login: after 5 wrong tries the right code no longer works', async (t, srv) => {
  const phone = newPhone();
  const code = await requestCode(srv, phone);
  let w = code;
  for (let i = 0; i < 5; i++) {
    w = wrongCode(w);
    const res = await api(srv, 'POST', '/api/v1/auth/login', { json: { phone, code: w } });
    expectError(res, 401, 'bad_code');
  }
  const res = await api(srv, 'POST', '/api/v1/auth/login', { json: { phone, code } });
  expectError(res, 401, 'bad_code');
});

test('login: malformed requests are refused without a token', async (t, srv) => {
  for (const json of [{}, { phone: newPhone() }, { code: '123456' }, { phone: 'x', code: '123456' }]) {
    const res = await api(srv, 'POST', '/api/v1/auth/login', { json });
    assert.ok([401, 422].includes(res.status), `expected 401 or 422: ${show(res)}`);
    expectError(res, res.status);
    assert.equal(res.body.token, undefined);
  }
});

test('login: sets a __Host- session cookie (HttpOnly; Secure; SameSite) that authenticates', async (t, srv) => {
  const phone = newPhone();
  const code = await requestCode(srv, phone);
  const res = await api(srv, 'POST', '/api/v1/auth/login', { json: { phone, code } });
  expectStatus(res, 200);
  const cookies = res.headers.getSetCookie();
  const session = cookies.find((c) => c.startsWith('__Host-'));
  assert.ok(session, `no __Host- cookie in Set-Cookie: ${JSON.stringify(cookies)}`);
  assert.match(session, /;\s*HttpOnly/i, session);
  assert.match(session, /;\s*Secure/i, session);
  assert.match(session, /;\s*SameSite=(Strict|Lax)/i, session);
  assert.match(session, /;\s*Path=\//i, `__Host- cookies need Path=/: ${session}`);
  assert.doesNotMatch(session, /;\s*Domain=/i, `__Host- cookies must not have Domain: ${session}`);
  const pair = session.split(';')[0];
  const me = await api(srv, 'GET', '/api/v1/applications', { cookie: pair });
  expectStatus(me, 200);
  assert.deepEqual(me.body.applications, []);
  const forged = await api(srv, 'GET', '/api/v1/applications', { cookie: pair.replace(/=.*/, '=forged0000') });
  expectError(forged, 401);
});

test('applicant endpoints answer 401 without a token and with a garbage token', async (t, srv) => {
  const a = await newApplicant(srv);
  const res = await submit(srv, a.token, 'yn2022-skill', 'technician', await validFields(srv, 'yn2022-skill', { id_number: a.id }));
  const app = expectSubmitted(res);
  const fields = await validFields(srv, 'yn2022-skill');
  const calls = [
    ['GET', '/api/v1/applications'],
    ['POST', '/api/v1/applications', { program: 'yn2022-skill', category: 'technician', fields }],
    ['GET', `/api/v1/applications/${app.id}`],
    ['PUT', `/api/v1/applications/${app.id}`, { fields }],
    ['GET', `/api/v1/applications/${app.id}/form.pdf`],
  ];
  for (const token of [undefined, 'garbage', 'a'.repeat(64)]) {
    for (const [method, p, json] of calls) {
      const r = await api(srv, method, p, { token, json });
      expectError(r, 401);
    }
  }
  const r = await api(srv, 'GET', '/api/v1/applications', { headers: { authorization: 'Basic Zm9vOmJhcg==' } });
  expectError(r, 401);
  // nothing was stored by the refused submissions
  const mine = await api(srv, 'GET', '/api/v1/applications', { token: a.token });
  expectStatus(mine, 200);
  assert.equal(mine.body.applications.length, 1);
});

test('a valid session of the wrong kind is 403 forbidden (not 401): applicant on staff endpoints, staff on applicant endpoints', async (t, srv) => {
  const a = await newApplicant(srv);
  const app = expectSubmitted(await submit(srv, a.token, 'yn2022-skill', 'technician', await validFields(srv, 'yn2022-skill', { id_number: a.id })));
  const staff = await api(srv, 'POST', '/api/v1/staff/login', { json: { username: 'km-reviewer', password: 'Tisheng@2022' } });
  expectStatus(staff, 200);
  const staffToken = staff.body.token;
  const staffCalls = [
    ['GET', '/api/v1/review/applications?program=yn2022-skill'],
    ['GET', `/api/v1/review/applications/${app.id}`],
    ['POST', `/api/v1/review/applications/${app.id}/decision`, { decision: 'pass' }],
    ['GET', '/api/v1/exports/summary.xlsx?program=yn2022-skill'],
    ['GET', '/api/v1/exports/letter.pdf?program=yn2022-skill'],
    ['GET', '/api/v1/staff/me'],
  ];
  for (const [method, p, json] of staffCalls) {
    const e = expectError(await api(srv, method, p, { token: a.token, json }), 403, 'forbidden');
    assert.match(e.message, /工作人员/, `${method} ${p}: the message should say it is for staff: ${e.message}`);
  }
  const fields = await validFields(srv, 'yn2022-skill');
  const applicantCalls = [
    ['GET', '/api/v1/applications'],
    ['POST', '/api/v1/applications', { program: 'yn2022-skill', category: 'technician', fields }],
    ['GET', `/api/v1/applications/${app.id}`],
    ['GET', `/api/v1/applications/${app.id}/form.pdf`],
  ];
  for (const [method, p, json] of applicantCalls) {
    const e = expectError(await api(srv, method, p, { token: staffToken, json }), 403, 'forbidden');
    assert.match(e.message, /申报人/, `${method} ${p}: the message should say it is for applicants: ${e.message}`);
  }
  // no session or an unknown one stays 401
  expectError(await api(srv, 'GET', '/api/v1/review/applications?program=yn2022-skill'), 401);
  expectError(await api(srv, 'GET', '/api/v1/review/applications?program=yn2022-skill', { token: 'a'.repeat(64) }), 401);
  // and the right kind still works
  expectStatus(await api(srv, 'GET', '/api/v1/review/applications?program=yn2022-skill', { token: staffToken }), 200);
  expectStatus(await api(srv, 'GET', `/api/v1/applications/${app.id}`, { token: a.token }), 200);
});

test('races: 20 simultaneous code requests for one phone send one SMS; 20 simultaneous logins with one code give one token', async (t, srv) => {
  const phone = newPhone();
  const sends = await Promise.all(Array.from({ length: 20 }, () => api(srv, 'POST', '/api/v1/auth/sms-code', { json: { phone } })));
  const sent = sends.filter((r) => r.status === 200).length;
  assert.equal(sent, 1, `codes sent: ${sends.map((r) => r.status).join(' ')}`);
  for (const r of sends) if (r.status !== 200) expectError(r, 429, 'rate_limited');
  const code = await smsCode(srv, phone);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(smsLines(srv).filter((l) => l.phone === phone).length, 1, 'exactly one SMS');
  const logins = await Promise.all(Array.from({ length: 20 }, () => api(srv, 'POST', '/api/v1/auth/login', { json: { phone, code } })));
  assert.equal(logins.filter((r) => r.status === 200).length, 1, `logins: ${logins.map((r) => r.status).join(' ')}`);
  for (const r of logins) if (r.status !== 200) expectError(r, 401, 'bad_code');
});

test('races: 20 simultaneous wrong codes exhaust the attempts; the right code then fails', async (t, srv) => {
  const phone = newPhone();
  const code = await requestCode(srv, phone);
  const wrong = Array.from({ length: 20 }, (_, i) => String((Number(code) + 1 + i) % 1000000).padStart(6, '0'));
  const answers = await Promise.all(wrong.map((c) => api(srv, 'POST', '/api/v1/auth/login', { json: { phone, code: c } })));
  for (const r of answers) expectError(r, 401, 'bad_code');
  expectError(await api(srv, 'POST', '/api/v1/auth/login', { json: { phone, code } }), 401, 'bad_code');
});
