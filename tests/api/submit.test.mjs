// POST /api/v1/applications: success, validation, eligibility, duplicates.
// After every refusal nothing stored may change.

import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';

import {
  useServer, api, expectStatus, expectError, expectInvalidField, errorFields, show,
  newApplicant, validFields, submit, expectSubmitted, snapshot, getProgram, myApplications,
} from './lib/client.mjs';
import { makeId, wrongCheckDigit, idNumber, remember } from './lib/gen.mjs';

const { test } = useServer();

const SKILL = 'yn2022-skill';
const EDU = 'yn2022-edu';

/** Sends a refused request and checks that the caller's applications and remaining places did not change. */
async function refusedWithoutChange(srv, a, send) {
  const before = await snapshot(srv, a.token);
  const res = await send();
  const after = await snapshot(srv, a.token);
  assert.deepEqual(after, before, `state changed after a refused request: ${show(res)}`);
  return res;
}

/** An option of a select field of a program's schema, whose text starts with `prefix`. */
async function option(srv, program, key, prefix) {
  const spec = await getProgram(srv, program);
  const f = spec.form.fields.find((x) => x.key === key);
  assert.ok(f, `${program} has no field ${key}`);
  if (!Array.isArray(f.options)) return prefix;
  const o = f.options.find((x) => x.startsWith(prefix));
  assert.ok(o, `${program}.${key} has no option starting with ${prefix}: ${JSON.stringify(f.options)}`);
  return o;
}

test('submit: 201 {id, rank, quota:"queued", status:"submitted", receipt}; ranks 1, 2, … by arrival', async (t, srv) => {
  const a = await newApplicant(srv);
  const b = await newApplicant(srv);
  const ra = expectSubmitted(await submit(srv, a.token, SKILL, 'technician', await validFields(srv, SKILL, { id_number: a.id })));
  const rb = expectSubmitted(await submit(srv, b.token, SKILL, 'technician', await validFields(srv, SKILL, { id_number: b.id })));
  assert.equal(ra.rank, 1);
  assert.equal(rb.rank, 2);
  assert.equal(ra.quota, 'queued');
  assert.equal(rb.quota, 'queued');
  assert.notEqual(ra.id, rb.id);
  // the first of another category starts again at 1
  const c = await newApplicant(srv);
  const rc = expectSubmitted(await submit(srv, c.token, SKILL, 'senior-technician', await validFields(srv, SKILL, { id_number: c.id })));
  assert.equal(rc.rank, 1);
  const d = await newApplicant(srv);
  const rd = expectSubmitted(await submit(srv, d.token, EDU, 'associate', await validFields(srv, EDU, { id_number: d.id }, 'associate')));
  assert.equal(rd.rank, 1);
  assert.equal(rd.quota, 'queued');
  // the application is listed for its owner with the same rank
  const mine = await myApplications(srv, a.token);
  assert.equal(mine.length, 1);
  assert.equal(String(mine[0].id), String(ra.id));
  assert.equal(mine[0].rank, 1);
  assert.equal(mine[0].program, SKILL);
  assert.equal(mine[0].category, 'technician');
  assert.equal(mine[0].quota, 'queued');
  assert.equal(mine[0].status, 'submitted');
  // remaining places went down by what was taken
  const res = await api(srv, 'GET', '/api/v1/programs');
  const cat = res.body.programs.find((p) => p.id === SKILL).categories.find((x) => x.code === 'technician');
  assert.equal(cat.remaining, 1650 - 2);
});

const INVALID_CASES = [
  ['wrong check digit', (f) => ({ id_number: wrongCheckDigit(f.id_number) }), 'id_number'],
  ['impossible birth date 19900230', () => ({ id_number: makeId('530102', '19900230', 123) }), 'id_number'],
  ['a child of 10 (under the working age of 16)', () => ({ id_number: makeId('530102', `${new Date().getFullYear() - 10}0101`, 123) }), 'id_number'],
  ['ID number of 17 characters', (f) => ({ id_number: f.id_number.slice(0, 17) }), 'id_number'],
  ['bad email', () => ({ email: 'not-an-email' }), 'email'],
  ['email with two @', () => ({ email: 'a@b@example.com' }), 'email'],
  ['date not YYYY-MM-DD', () => ({ cert_date: '2022/03/01' }), 'cert_date'],
  ['date that does not exist (2022-02-30)', () => ({ cert_date: '2022-02-30' }), 'cert_date'],
  ['option not in the list (gender)', () => ({ gender: '未知' }), 'gender'],
  ['option not in the list (previous_level)', () => ({ previous_level: '博士后' }), 'previous_level'],
  ['missing required field (name)', () => ({ name: undefined }), 'name'],
  ['missing required field (id_number)', () => ({ id_number: undefined }), 'id_number'],
  ['empty required field (name: "")', () => ({ name: '' }), 'name'],
  ['unknown field', () => ({ favourite_colour: '蓝色' }), 'favourite_colour'],
  ['wrong type: work_years as an object', () => ({ work_years: { years: 3 } }), 'work_years'],
  ['wrong type: work_years as an array', () => ({ work_years: [3] }), 'work_years'],
  ['wrong type: name as a number', () => ({ name: 12345 }), 'name'],
  ['wrong type: work_years as letters', () => ({ work_years: 'abc' }), 'work_years'],
  ['work_years above its max (61)', () => ({ work_years: 61 }), 'work_years'],
  ['negative work_years', () => ({ work_years: -1 }), 'work_years'],
  ['fractional work_years', () => ({ work_years: 3.5 }), 'work_years'],
  ['text over max_len', () => ({ unit: '单'.repeat(101) }), 'unit'],
  ['union that is not in the tree', () => ({ union: 'no-such-union-999' }), 'union'],
  ['control characters in text', () => ({ unit: '单位\u0001名称' }), 'unit'],
];

for (const [what, change, field] of INVALID_CASES) {
  test(`submit: 422 invalid naming "${field}" — ${what}; nothing stored`, async (t, srv) => {
    const a = await newApplicant(srv);
    const good = await validFields(srv, SKILL, { id_number: a.id });
    const overrides = change(good);
    if (overrides.id_number) remember('ids', overrides.id_number);
    const fields = await validFields(srv, SKILL, { ...good, ...overrides });
    for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete fields[k];
    const res = await refusedWithoutChange(srv, a, () => submit(srv, a.token, SKILL, 'technician', fields));
    expectInvalidField(res, field);
    // the same applicant can still apply with a valid form
    expectSubmitted(await submit(srv, a.token, SKILL, 'technician', good));
  });
}

test('submit: several invalid fields are all reported at once', async (t, srv) => {
  const a = await newApplicant(srv);
  const fields = await validFields(srv, SKILL, { id_number: a.id, email: 'x', gender: '?', work_years: {} });
  const res = await refusedWithoutChange(srv, a, () => submit(srv, a.token, SKILL, 'technician', fields));
  expectError(res, 422, 'invalid');
  const names = errorFields(res).map((f) => f.name.replace(/^fields\./, ''));
  for (const k of ['email', 'gender', 'work_years']) assert.ok(names.includes(k), `${k} not reported: ${show(res)}`);
});

test('submit: education program field checks (diploma_date) → 422 invalid', async (t, srv) => {
  const a = await newApplicant(srv);
  const fields = await validFields(srv, EDU, { id_number: a.id, diploma_date: '2022-13-01' }, 'bachelor');
  const res = await refusedWithoutChange(srv, a, () => submit(srv, a.token, EDU, 'bachelor', fields));
  expectInvalidField(res, 'diploma_date');
});

test('submit: malformed JSON → 422 invalid; nothing stored', async (t, srv) => {
  const a = await newApplicant(srv);
  for (const body of ['{"program":"yn2022-skill",', 'not json', '', '[]', 'null', '"x"', '{"program":"yn2022-skill"} trailing']) {
    const res = await refusedWithoutChange(srv, a, () =>
      api(srv, 'POST', '/api/v1/applications', { token: a.token, body }),
    );
    expectError(res, 422, 'invalid');
  }
});

test('submit: a NUL character (\\u0000) in a text field → 422 invalid; nothing stored', async (t, srv) => {
  const a = await newApplicant(srv);
  const fields = await validFields(srv, SKILL, { id_number: a.id, name: '张\u0000三' });
  const res = await refusedWithoutChange(srv, a, () => submit(srv, a.token, SKILL, 'technician', fields));
  expectError(res, 422, 'invalid');
});

test('submit: deeply nested JSON → 422 invalid; the server stays up', async (t, srv) => {
  const a = await newApplicant(srv);
  for (const body of ['['.repeat(30000) + ']'.repeat(30000), '{"a":'.repeat(10000) + '1' + '}'.repeat(10000)]) {
    const res = await refusedWithoutChange(srv, a, () => api(srv, 'POST', '/api/v1/applications', { token: a.token, body }));
    expectError(res, [413, 422]);
  }
  expectStatus(await api(srv, 'GET', '/healthz'), 200);
});

test('submit: fields missing or not an object → 422 invalid', async (t, srv) => {
  const a = await newApplicant(srv);
  for (const json of [
    { program: SKILL, category: 'technician' },
    { program: SKILL, category: 'technician', fields: 'x' },
    { program: SKILL, category: 'technician', fields: [] },
    { program: SKILL, category: 'technician', fields: null },
  ]) {
    const res = await refusedWithoutChange(srv, a, () => api(srv, 'POST', '/api/v1/applications', { token: a.token, json }));
    expectError(res, 422, 'invalid');
  }
});

test('submit: invalid UTF-8 bytes in the body → 422 invalid; nothing stored', async (t, srv) => {
  const a = await newApplicant(srv);
  const fields = await validFields(srv, SKILL, { id_number: a.id, name: 'NAMEPLACEHOLDER' });
  const text = JSON.stringify({ program: SKILL, category: 'technician', fields });
  const [pre, post] = text.split('NAMEPLACEHOLDER');
  for (const bad of [[0xff, 0xfe], [0xc3, 0x28], [0xe5, 0xbc], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) {
    const body = Buffer.concat([Buffer.from(pre), Buffer.from(bad), Buffer.from(post)]);
    const res = await refusedWithoutChange(srv, a, () => api(srv, 'POST', '/api/v1/applications', { token: a.token, body }));
    expectError(res, 422, 'invalid');
  }
});

test('submit: a body over 64 KiB → 413 or 422 with an error code and Chinese message', async (t, srv) => {
  const a = await newApplicant(srv);
  const fields = await validFields(srv, SKILL, { id_number: a.id, unit_address: 'x'.repeat(70 * 1024) });
  const res = await refusedWithoutChange(srv, a, () => submit(srv, a.token, SKILL, 'technician', fields));
  expectError(res, [413, 422]);
  // far beyond the limit: the server may answer early and close the connection while we
  // still send; a network error is then acceptable, but the server must stay up
  let big = null;
  try {
    big = await api(srv, 'POST', '/api/v1/applications', { token: a.token, body: '{"x":"' + 'y'.repeat(2 * 1024 * 1024) + '"}' });
  } catch {
    big = null;
  }
  if (big) expectError(big, [413, 422]);
  expectStatus(await api(srv, 'GET', '/healthz'), 200);
  assert.deepEqual(await myApplications(srv, a.token), []);
});

test('submit: unknown program → 404; unknown category → 422 invalid', async (t, srv) => {
  const a = await newApplicant(srv);
  const fields = await validFields(srv, SKILL, { id_number: a.id });
  const r1 = await refusedWithoutChange(srv, a, () => submit(srv, a.token, 'no-such-program', 'technician', fields));
  expectError(r1, 404);
  const r2 = await refusedWithoutChange(srv, a, () => submit(srv, a.token, SKILL, 'grand-master', fields));
  expectError(r2, 422, 'invalid');
  const r3 = await refusedWithoutChange(srv, a, () => submit(srv, a.token, SKILL, 'bachelor', fields));
  expectError(r3, 422, 'invalid');
});

test('submit: 422 ineligible for a certificate obtained in 2021', async (t, srv) => {
  const a = await newApplicant(srv);
  for (const cert_date of ['2021-12-31', '2021-01-01', '2020-06-15']) {
    const fields = await validFields(srv, SKILL, { id_number: a.id, cert_date });
    const res = await refusedWithoutChange(srv, a, () => submit(srv, a.token, SKILL, 'technician', fields));
    expectError(res, 422, 'ineligible');
  }
  // the boundary days of 2022 are fine
  const ok = await validFields(srv, SKILL, { id_number: a.id, cert_date: '2022-01-01' });
  expectSubmitted(await submit(srv, a.token, SKILL, 'technician', ok));
});

test('submit: 422 ineligible when the previous level is equal to or higher than the category', async (t, srv) => {
  const a = await newApplicant(srv);
  const tech = await option(srv, SKILL, 'previous_level', '技师');
  const cases = [['technician', tech], ['technician', '技师']];
  // 高级技师 is offered as a previous level only by some specs; where it is, it is ineligible too
  const spec = await getProgram(srv, SKILL);
  const senior = spec.form.fields.find((x) => x.key === 'previous_level').options.find((o) => o.startsWith('高级技师'));
  if (senior) cases.push(['technician', senior], ['senior-technician', senior]);
  for (const [category, previous_level] of cases) {
    const fields = await validFields(srv, SKILL, { id_number: a.id, previous_level });
    const res = await refusedWithoutChange(srv, a, () => submit(srv, a.token, SKILL, category, fields));
    expectError(res, 422, 'ineligible');
  }
  // 技师 → 高级技师 is a promotion
  const fields = await validFields(srv, SKILL, { id_number: a.id, previous_level: tech });
  expectSubmitted(await submit(srv, a.token, SKILL, 'senior-technician', fields));
});

test('submit: the previous level may be given by its alias 高级工', async (t, srv) => {
  const a = await newApplicant(srv);
  const fields = await validFields(srv, SKILL, { id_number: a.id, previous_level: '高级工' });
  expectSubmitted(await submit(srv, a.token, SKILL, 'technician', fields));
});

test('submit: education 硕士研究生 in the education program → 422 ineligible', async (t, srv) => {
  const a = await newApplicant(srv);
  for (const category of ['bachelor', 'associate']) {
    const fields = await validFields(srv, EDU, { id_number: a.id, education: '硕士研究生' }, category);
    const res = await refusedWithoutChange(srv, a, () => submit(srv, a.token, EDU, category, fields));
    expectError(res, 422, 'ineligible');
  }
  expectSubmitted(await submit(srv, a.token, EDU, 'associate', await validFields(srv, EDU, { id_number: a.id }, 'associate')));
});

test('submit: 409 duplicate for a second application by the same phone in the same program', async (t, srv) => {
  const a = await newApplicant(srv);
  const first = expectSubmitted(await submit(srv, a.token, SKILL, 'technician', await validFields(srv, SKILL, { id_number: a.id })));
  // same category, same person
  const r1 = await refusedWithoutChange(srv, a, async () =>
    submit(srv, a.token, SKILL, 'technician', await validFields(srv, SKILL, { id_number: a.id })),
  );
  expectError(r1, 409, 'duplicate');
  // another category, same person
  const r2 = await refusedWithoutChange(srv, a, async () =>
    submit(srv, a.token, SKILL, 'senior-technician', await validFields(srv, SKILL, { id_number: a.id, previous_level: await option(srv, SKILL, 'previous_level', '技师') })),
  );
  expectError(r2, 409, 'duplicate');
  // another category, another ID number: still the same phone
  const r3 = await refusedWithoutChange(srv, a, async () =>
    submit(srv, a.token, SKILL, 'senior-technician', await validFields(srv, SKILL, { id_number: idNumber(), previous_level: await option(srv, SKILL, 'previous_level', '技师') })),
  );
  expectError(r3, 409, 'duplicate');
  const mine = await myApplications(srv, a.token);
  assert.deepEqual(mine.map((x) => String(x.id)), [String(first.id)]);
});

test('submit: 409 duplicate for the same ID number from another phone in the same program', async (t, srv) => {
  const a = await newApplicant(srv);
  const b = await newApplicant(srv);
  expectSubmitted(await submit(srv, a.token, SKILL, 'technician', await validFields(srv, SKILL, { id_number: a.id })));
  const r1 = await refusedWithoutChange(srv, b, async () =>
    submit(srv, b.token, SKILL, 'technician', await validFields(srv, SKILL, { id_number: a.id })),
  );
  expectError(r1, 409, 'duplicate');
  // lower-case x is the same ID number
  const c = await newApplicant(srv);
  let xid;
  for (let i = 0; i < 200 && !xid; i++) {
    const id = idNumber();
    if (id.endsWith('X')) xid = id;
  }
  expectSubmitted(await submit(srv, c.token, SKILL, 'senior-technician', await validFields(srv, SKILL, { id_number: xid })));
  const r2 = await refusedWithoutChange(srv, b, async () =>
    submit(srv, b.token, SKILL, 'technician', await validFields(srv, SKILL, { id_number: xid.toLowerCase() })),
  );
  expectError(r2, 409, 'duplicate');
  // b is not blocked with its own ID
  expectSubmitted(await submit(srv, b.token, SKILL, 'technician', await validFields(srv, SKILL, { id_number: b.id })));
});

test('submit: the same phone may hold one skill and one education application', async (t, srv) => {
  const a = await newApplicant(srv);
  const s = expectSubmitted(await submit(srv, a.token, SKILL, 'technician', await validFields(srv, SKILL, { id_number: a.id })));
  const e = expectSubmitted(await submit(srv, a.token, EDU, 'bachelor', await validFields(srv, EDU, { id_number: a.id }, 'bachelor')));
  const mine = await myApplications(srv, a.token);
  assert.deepEqual(mine.map((x) => String(x.id)).sort(), [String(s.id), String(e.id)].sort());
  // but not a second education one
  const r = await refusedWithoutChange(srv, a, async () =>
    submit(srv, a.token, EDU, 'associate', await validFields(srv, EDU, { id_number: a.id }, 'associate')),
  );
  expectError(r, 409, 'duplicate');
});

test('submit: 20 simultaneous submissions by one phone → exactly one 201, the rest 409 duplicate', async (t, srv) => {
  const a = await newApplicant(srv);
  const fields = await validFields(srv, SKILL, { id_number: a.id });
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => submit(srv, a.token, SKILL, i % 2 ? 'technician' : 'senior-technician', fields)),
  );
  const tally = results.map((r) => `${r.status} ${r.body?.error?.code ?? ''}`.trim());
  assert.equal(results.filter((r) => r.status === 201).length, 1, tally.join(', '));
  const stored = results.find((r) => r.status === 201).body.id;
  for (const r of results) {
    if (r.status === 201) continue;
    expectError(r, 409, 'duplicate');
    // the page treats a repeated tap as success: the 409 names the stored application
    assert.equal(String(r.body.error.application), String(stored));
  }
  assert.equal((await myApplications(srv, a.token)).length, 1);
});

test('submit: the same ID number from 20 phones at once → exactly one 201, the rest 409 duplicate', async (t, srv) => {
  const people = [];
  for (let i = 0; i < 20; i++) people.push(await newApplicant(srv));
  const id = people[0].id;
  const fields = await validFields(srv, SKILL, { id_number: id });
  const results = await Promise.all(people.map((p) => submit(srv, p.token, SKILL, 'technician', fields)));
  const tally = results.map((r) => `${r.status} ${r.body?.error?.code ?? ''}`.trim());
  assert.equal(results.filter((r) => r.status === 201).length, 1, tally.join(', '));
  for (const r of results) if (r.status !== 201) expectError(r, 409, 'duplicate');
  // ranks stay dense: the next applicant gets the next rank
  const ranks = results.filter((r) => r.status === 201).map((r) => r.body.rank);
  const next = await newApplicant(srv);
  const n = expectSubmitted(await submit(srv, next.token, SKILL, 'technician', await validFields(srv, SKILL, { id_number: next.id })));
  assert.equal(n.rank, ranks[0] + 1);
});

// GET /api/v1/remaining: the compact answer every open page polls (docs/api.md).
function rawGet(srv, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port, path, method: 'GET', headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, bytes: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function counts(programs) {
  const m = {};
  for (const p of programs) for (const c of p.categories) m[`${p.id}/${c.code}`] = [c.places, c.taken, c.remaining];
  return m;
}

test('GET /api/v1/remaining: the counts of the programs list, a 201 counted at once, gzip and 304', async (t, srv) => {
  const before = await rawGet(srv, '/api/v1/remaining');
  assert.equal(before.status, 200);
  assert.match(before.headers['content-type'], /^application\/json/);
  assert.match(before.headers.etag, /^"[0-9a-f]{16}"$/);
  const rem = JSON.parse(before.bytes.toString('utf8'));
  const list = (await api(srv, 'GET', '/api/v1/programs')).body.programs;
  assert.deepEqual(counts(rem.programs), counts(list));
  for (const p of rem.programs) assert.equal(p.state, list.find((x) => x.id === p.id).state);
  // nothing but the counts: it is polled by every open page
  assert.ok(before.bytes.length < 200 * rem.programs.length, `${before.bytes.length} bytes`);

  // unchanged: 304 on the ETag, plain or gzip
  const again = await rawGet(srv, '/api/v1/remaining', { 'if-none-match': before.headers.etag });
  assert.equal(again.status, 304);
  assert.equal(again.bytes.length, 0);
  const gz = await rawGet(srv, '/api/v1/remaining', { 'accept-encoding': 'gzip' });
  assert.equal(gz.status, 200);
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.match(gz.headers.vary, /Accept-Encoding/);
  assert.notEqual(gz.headers.etag, before.headers.etag);
  assert.deepEqual(JSON.parse(zlib.gunzipSync(gz.bytes).toString('utf8')), rem);
  assert.equal((await rawGet(srv, '/api/v1/remaining', { 'if-none-match': gz.headers.etag })).status, 304);

  // one submission: the next read counts it, and the old ETag no longer matches
  const a = await newApplicant(srv);
  expectSubmitted(await submit(srv, a.token, EDU, 'bachelor', await validFields(srv, EDU, { id_number: a.id }, 'bachelor')));
  const after = await rawGet(srv, '/api/v1/remaining', { 'if-none-match': before.headers.etag });
  assert.equal(after.status, 200);
  const k = `${EDU}/bachelor`;
  const [places, taken, remaining] = counts(JSON.parse(after.bytes.toString('utf8')).programs)[k];
  assert.deepEqual([places, taken, remaining], [places, counts(rem.programs)[k][1] + 1, counts(rem.programs)[k][2] - 1]);
  // a refused method is a JSON error, never the shared answer
  const post = await api(srv, 'POST', '/api/v1/remaining', { json: {} });
  expectError(post, 405);
});
