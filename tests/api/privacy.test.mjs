// Personal data: full ID numbers and phones never appear in public answers,
// in the server's log, or as plain text in the database files.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  useServer, api, expectStatus, expectError, newApplicant, validFields, submit, expectSubmitted, appOf, requestCode, issued,
} from './lib/client.mjs';
import { used, wrongCheckDigit, remember, phone as newPhone } from './lib/gen.mjs';
import { STORE_KIND } from './lib/server.mjs';

const { test } = useServer();
const SKILL = 'yn2022-skill';
const EDU = 'yn2022-edu';

function secrets() {
  const list = [];
  for (const id of used.ids) list.push(id, id.toLowerCase());
  for (const p of used.phones) list.push(p);
  for (const b of bankAccounts) list.push(b);
  return [...new Set(list)];
}

function findSecrets(text) {
  return secrets().filter((s) => text.includes(s));
}

function filesUnder(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Every file of the data directory that holds a full ID number or phone as plain bytes. */
function leaksInDataDir(dir) {
  const found = [];
  const needles = secrets().map((s) => [s, Buffer.from(s, 'latin1')]);
  for (const f of filesUnder(dir)) {
    const bytes = fs.readFileSync(f);
    const hits = needles.filter(([, b]) => bytes.includes(b)).map(([s]) => s);
    if (hits.length) found.push(`${path.relative(dir, f)}: ${hits.slice(0, 5).join(', ')}${hits.length > 5 ? ` (+${hits.length - 5})` : ''}`);
  }
  return found;
}

const people = [];
const bankAccounts = ['6222021001122334455', '6217003860001234567'];

test('exercise the server with personal data (submit, refuse, change, print, withdraw)', async (t, srv) => {
  for (let i = 0; i < 4; i++) {
    const a = await newApplicant(srv);
    a.fields = await validFields(srv, SKILL, { id_number: a.id }, 'technician');
    a.app = expectSubmitted(await submit(srv, a.token, SKILL, 'technician', a.fields));
    people.push(a);
  }
  const [a, b, c, d] = people;
  // optional bank details, stored encrypted
  const g = await newApplicant(srv);
  expectSubmitted(await submit(srv, g.token, SKILL, 'senior-technician', await validFields(srv, SKILL, { id_number: g.id, bank_branch: '中国工商银行昆明正义路支行', bank_account: bankAccounts[0] })));
  const h = await newApplicant(srv);
  expectSubmitted(await submit(srv, h.token, EDU, 'associate', await validFields(srv, EDU, { id_number: h.id, bank_account: bankAccounts[1] }, 'associate')));
  // both programs for one phone
  expectSubmitted(await submit(srv, a.token, EDU, 'bachelor', await validFields(srv, EDU, { id_number: a.id }, 'bachelor')));
  // refused: duplicate ID from another phone, wrong check digit, ineligible
  const e = await newApplicant(srv);
  expectError(await submit(srv, e.token, SKILL, 'technician', await validFields(srv, SKILL, { id_number: b.id })), 409, 'duplicate');
  const bad = wrongCheckDigit(e.id);
  remember('ids', bad);
  expectError(await submit(srv, e.token, SKILL, 'technician', await validFields(srv, SKILL, { id_number: bad })), 422, 'invalid');
  expectError(await submit(srv, e.token, SKILL, 'technician', await validFields(srv, SKILL, { id_number: e.id, cert_date: '2021-03-01' })), 422, 'ineligible');
  // change, print, withdraw
  expectStatus(await api(srv, 'PUT', `/api/v1/applications/${c.app.id}`, { token: c.token, json: { fields: { ...c.fields, unit: '新单位' } } }), 200);
  expectStatus(await api(srv, 'GET', `/api/v1/applications/${c.app.id}/form.pdf`, { token: c.token, timeout: 60000 }), 200);
  expectStatus(await api(srv, 'POST', `/api/v1/applications/${d.app.id}/withdraw`, { token: d.token, json: {} }), 200);
  // failed logins and rate-limited codes with phones in them
  const f = newPhone();
  await requestCode(srv, f);
  expectError(await api(srv, 'POST', '/api/v1/auth/login', { json: { phone: f, code: '000000' } }), 401);
  expectError(await api(srv, 'POST', '/api/v1/auth/sms-code', { json: { phone: f } }), 429);
  expectError(await api(srv, 'POST', '/api/v1/auth/login', { json: { phone: newPhone(), code: '000000' } }), 401);
});

test('the owner can read the application (full or masked ID number, but the right one)', async (t, srv) => {
  const a = people[0];
  const res = await api(srv, 'GET', `/api/v1/applications/${a.app.id}`, { token: a.token });
  expectStatus(res, 200);
  const shown = appOf(res).fields?.id_number;
  assert.equal(typeof shown, 'string', 'fields.id_number should be shown to the owner');
  if (shown !== a.id) {
    assert.equal(shown.length, 18, `masked ID number keeps 18 characters: ${shown}`);
    assert.equal(shown.slice(0, 4), a.id.slice(0, 4));
    assert.equal(shown.slice(-2), a.id.slice(-2));
  }
});

test('key files in the data directory have mode 0600', async (t, srv) => {
  const keys = filesUnder(srv.data).filter((f) => /key/i.test(path.relative(srv.data, f)));
  assert.ok(keys.length >= 1, `no key file under ${srv.data}`);
  for (const f of keys) {
    const mode = fs.statSync(f).mode & 0o777;
    assert.equal(mode.toString(8), '600', `${path.relative(srv.data, f)} has mode ${mode.toString(8)}`);
  }
});

test('public answers (programs, one program, orgs) contain no ID number or phone', async (t, srv) => {
  for (const p of ['/api/v1/programs', `/api/v1/programs/${SKILL}`, `/api/v1/programs/${EDU}`, '/api/v1/orgs']) {
    const res = await api(srv, 'GET', p);
    expectStatus(res, 200);
    assert.deepEqual(findSecrets(res.text), [], `${p} exposes personal data`);
  }
});

test('the server log (stderr and stdout) contains no full ID number or phone', async (t, srv) => {
  const log = srv.stderr() + srv.stdout();
  const hits = findSecrets(log);
  assert.deepEqual(hits, [], `the log contains personal data; lines:\n${log.split('\n').filter((l) => hits.some((h) => l.includes(h))).slice(0, 10).join('\n')}`);
});

test('the server log repeats no session token or SMS code', async (t, srv) => {
  const log = srv.stderr() + srv.stdout();
  for (const tok of issued.tokens) assert.ok(!log.includes(tok), 'a session token is in the log');
  for (const code of issued.codes) assert.doesNotMatch(log, new RegExp(`(^|[^0-9])${code}([^0-9]|$)`), `SMS code ${code} is in the log`);
});

test('the PostgreSQL database holds no full ID number or phone as plain text (pg_dump)', { skip: STORE_KIND !== 'postgres' && 'PostgreSQL only' }, async (t, srv) => {
  const dump = srv.pgDump();
  assert.ok(dump.includes('CREATE TABLE'), 'pg_dump gave no schema');
  const found = [...used.ids, ...used.phones].filter((v) => dump.includes(v));
  assert.deepEqual(found, [], 'plain personal data in the PostgreSQL database');
});

test('the database files hold no full ID number or phone as plain text (while running, then stopped)', { skip: STORE_KIND !== 'sqlite' && 'SQLite only' }, async (t, srv) => {
  const files = filesUnder(srv.data);
  const sqlite = files.filter((f) => fs.readFileSync(f).subarray(0, 16).toString('latin1') === 'SQLite format 3\0');
  assert.ok(sqlite.length >= 1, `no SQLite database in ${srv.data}: ${files.map((f) => path.relative(srv.data, f)).join(', ')}`);
  t.diagnostic(`data dir files: ${files.map((f) => path.relative(srv.data, f)).join(', ')}`);
  assert.deepEqual(leaksInDataDir(srv.data), [], 'plain personal data in the data directory while the server runs');
  await srv.stop();
  assert.deepEqual(leaksInDataDir(srv.data), [], 'plain personal data in the data directory after the server stopped');
  const log = srv.stderr() + srv.stdout();
  assert.deepEqual(findSecrets(log), [], 'the log at shutdown contains personal data');
});
