// Application windows (403 not_open / closed), places (409 quota_full) and
// backfill (依序递补), on copies of the skill program loaded through the CLI.

import assert from 'node:assert/strict';
import fs from 'node:fs';

import {
  useServer, api, expectStatus, expectError, show, newApplicant, validFields, submit,
  expectSubmitted, snapshot, loadProgramCopy, isoIn, remaining, appOf, myApplications, sleep,
} from './lib/client.mjs';

const { test } = useServer();

async function refusedWithoutChange(srv, a, send) {
  const before = await snapshot(srv, a.token);
  const res = await send();
  const after = await snapshot(srv, a.token);
  assert.deepEqual(after, before, `state changed after a refused request: ${show(res)}`);
  return res;
}

function smallQuota(spec) {
  for (const c of spec.categories) {
    if (c.code === 'senior-technician') {
      c.cap = 2;
      c.places = 3;
    }
  }
}

test('submit before the window opens → 403 not_open; nothing stored', async (t, srv) => {
  await loadProgramCopy(srv, { id: 't-notopen', opens: 'now+3600s', closes: 'now+7200s' });
  const listed = (await api(srv, 'GET', '/api/v1/programs')).body.programs.find((p) => p.id === 't-notopen');
  assert.ok(Date.parse(listed.opens_at) > Date.now() + 3000 * 1000, `opens_at: ${listed.opens_at}`);
  assert.ok(Date.parse(listed.closes_at) > Date.now() + 6900 * 1000, `closes_at: ${listed.closes_at}`);
  const a = await newApplicant(srv);
  const fields = await validFields(srv, 't-notopen', { id_number: a.id });
  const res = await refusedWithoutChange(srv, a, () => submit(srv, a.token, 't-notopen', 'technician', fields));
  expectError(res, 403, 'not_open');
  assert.deepEqual(await myApplications(srv, a.token), []);
});

test('submit after the window closed → 403 closed; nothing stored', async (t, srv) => {
  await loadProgramCopy(srv, { id: 't-closed', opens: isoIn(-7200), closes: isoIn(-3600) });
  const a = await newApplicant(srv);
  const fields = await validFields(srv, 't-closed', { id_number: a.id });
  const res = await refusedWithoutChange(srv, a, () => submit(srv, a.token, 't-closed', 'technician', fields));
  expectError(res, 403, 'closed');
  assert.deepEqual(await myApplications(srv, a.token), []);
});

test('the window opens and closes on time without a reload (opens now+3s, closes now+6s)', async (t, srv) => {
  const P = 't-ontime';
  await loadProgramCopy(srv, { id: P, opens: 'now+3s', closes: 'now+6s' });
  const loadedAt = Date.now();
  const a = await newApplicant(srv);
  const b = await newApplicant(srv);
  const fa = await validFields(srv, P, { id_number: a.id });
  const fb = await validFields(srv, P, { id_number: b.id });
  if (Date.now() - loadedAt < 2500) expectError(await submit(srv, a.token, P, 'technician', fa), 403, 'not_open');
  await sleep(Math.max(0, loadedAt + 3600 - Date.now()));
  const ok = expectSubmitted(await submit(srv, a.token, P, 'technician', fa));
  assert.equal(ok.rank, 1);
  await sleep(Math.max(0, loadedAt + 7000 - Date.now()));
  const res = await refusedWithoutChange(srv, b, () => submit(srv, b.token, P, 'technician', fb));
  expectError(res, 403, 'closed');
});

test('program load accepts `now` and reopening a closed program lets applicants in', async (t, srv) => {
  await loadProgramCopy(srv, { id: 't-reopen', opens: isoIn(-7200), closes: isoIn(-3600) });
  const a = await newApplicant(srv);
  const fields = await validFields(srv, 't-reopen', { id_number: a.id });
  expectError(await submit(srv, a.token, 't-reopen', 'technician', fields), 403, 'closed');
  await loadProgramCopy(srv, { id: 't-reopen', opens: 'now', closes: 'now+3600s' });
  // the server notices the update within about a second
  let res;
  for (let i = 0; i < 30; i++) {
    res = await submit(srv, a.token, 't-reopen', 'technician', fields);
    if (res.status !== 403) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const app = expectSubmitted(res);
  assert.equal(app.rank, 1);
});

test('places: ranks 1..places, queued up to cap then waitlisted, then 409 quota_full; nothing stored', async (t, srv) => {
  const P = 't-small';
  await loadProgramCopy(srv, { id: P, opens: 'now', closes: 'now+7200s', mutate: smallQuota });
  const got = [];
  for (let i = 0; i < 3; i++) {
    const a = await newApplicant(srv);
    got.push(expectSubmitted(await submit(srv, a.token, P, 'senior-technician', await validFields(srv, P, { id_number: a.id }))));
  }
  assert.deepEqual(got.map((x) => x.rank), [1, 2, 3]);
  assert.deepEqual(got.map((x) => x.quota), ['queued', 'queued', 'waitlisted']);
  assert.equal((await remaining(srv))[`${P}/senior-technician`], 0);
  for (let i = 0; i < 2; i++) {
    const late = await newApplicant(srv);
    const fields = await validFields(srv, P, { id_number: late.id });
    const res = await refusedWithoutChange(srv, late, () => submit(srv, late.token, P, 'senior-technician', fields));
    expectError(res, 409, 'quota_full');
    // the other category of the same program is still open
    expectSubmitted(await submit(srv, late.token, P, 'technician', fields));
  }
});

test('backfill: when rank 1 withdraws, the waitlisted rank 3 becomes queued; ranks are never reused', async (t, srv) => {
  const P = 't-backfill';
  await loadProgramCopy(srv, { id: P, opens: 'now', closes: 'now+7200s', mutate: smallQuota });
  const people = [];
  for (let i = 0; i < 3; i++) {
    const a = await newApplicant(srv);
    a.app = expectSubmitted(await submit(srv, a.token, P, 'senior-technician', await validFields(srv, P, { id_number: a.id })));
    people.push(a);
  }
  const [A, B, C] = people;
  assert.deepEqual(people.map((p) => [p.app.rank, p.app.quota]), [[1, 'queued'], [2, 'queued'], [3, 'waitlisted']]);

  // someone else cannot withdraw A's application
  const other = await api(srv, 'POST', `/api/v1/applications/${A.app.id}/withdraw`, { token: B.token, json: {} });
  expectError(other, 404);

  const w = await api(srv, 'POST', `/api/v1/applications/${A.app.id}/withdraw`, { token: A.token, json: {} });
  expectStatus(w, 200);
  assert.equal(appOf(w).status, 'withdrawn', show(w));

  const a = appOf(await api(srv, 'GET', `/api/v1/applications/${A.app.id}`, { token: A.token }));
  assert.equal(a.status, 'withdrawn');
  assert.equal(a.rank, 1);
  const b = appOf(await api(srv, 'GET', `/api/v1/applications/${B.app.id}`, { token: B.token }));
  assert.equal(b.quota, 'queued');
  assert.equal(b.rank, 2);
  const cRes = await api(srv, 'GET', `/api/v1/applications/${C.app.id}`, { token: C.token });
  expectStatus(cRes, 200);
  const c = appOf(cRes);
  assert.equal(c.rank, 3, show(cRes));
  assert.equal(c.quota, 'queued', `the waitlisted rank 3 should move up: ${show(cRes)}`);
  assert.equal(c.status, 'submitted');
  const listed = (await myApplications(srv, C.token)).find((x) => String(x.id) === String(C.app.id));
  assert.equal(listed.quota, 'queued');

  // a fourth applicant does not get the freed rank
  const D = await newApplicant(srv);
  const fields = await validFields(srv, P, { id_number: D.id });
  const res = await refusedWithoutChange(srv, D, () => submit(srv, D.token, P, 'senior-technician', fields));
  expectError(res, 409, 'quota_full');
  assert.equal((await remaining(srv))[`${P}/senior-technician`], 0);

  // withdrawing twice is refused and changes nothing
  const again = await api(srv, 'POST', `/api/v1/applications/${A.app.id}/withdraw`, { token: A.token, json: {} });
  expectError(again, 409);
});

test('CLI: a missing data directory or program file is named as such, with the exit codes unchanged', async (t, srv) => {
  const missing = `${srv.tmp}/no-such-dir`;
  const v = await srv.cli(['ledger', 'verify', '--data', missing]);
  assert.equal(v.code, 1, `ledger verify --data ${missing} exited ${v.code}\n${v.stderr}`);
  assert.match(v.stderr, /数据目录.*no-such-dir.*不存在/, v.stderr);
  assert.match(v.stderr, /tisheng init/, `no hint to run tisheng init: ${v.stderr}`);
  assert.doesNotMatch(v.stderr, /暂不可用|unable to open database/, v.stderr);
  // an existing but empty directory is not initialised, and stays empty
  const empty = `${srv.tmp}/empty-dir`;
  fs.mkdirSync(empty);
  const e = await srv.cli(['ledger', 'verify', '--data', empty]);
  assert.equal(e.code, 1, `ledger verify on an empty directory exited ${e.code}\n${e.stdout}\n${e.stderr}`);
  assert.match(e.stderr, /尚未初始化.*tisheng init/, e.stderr);
  assert.deepEqual(fs.readdirSync(empty), [], 'ledger verify created files in an uninitialised directory');
  // a data directory under a regular file: the system's reason, in Chinese first
  const plain = `${srv.tmp}/plain-file`;
  fs.writeFileSync(plain, 'x');
  const f = await srv.cli(['init', '--data', `${plain}/data`]);
  assert.equal(f.code, 1, `init under a regular file exited ${f.code}\n${f.stderr}`);
  assert.match(f.stderr, /无法创建数据目录 .*plain-file\/data：路径中有一项不是目录（/, f.stderr);

  const file = `${srv.tmp}/missing.json`;
  const p = await srv.cli(['program', 'load', file, '--data', srv.data]);
  assert.equal(p.code, 1, `program load of a missing file exited ${p.code}\n${p.stderr}`);
  assert.match(p.stderr, /无法读取文件 .*missing\.json：文件或目录不存在（/, p.stderr);
  assert.doesNotMatch(p.stderr, /JSON|第 -1 行/, p.stderr);
  // broken JSON is still reported as such
  const bad = `${srv.tmp}/bad.json`;
  fs.writeFileSync(bad, '{"id": ');
  const b = await srv.cli(['program', 'load', bad, '--data', srv.data]);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /不是有效的 JSON（第 1 行/, b.stderr);
});

test('program load refuses places below the places already taken, naming the category and both counts; nothing changes', async (t, srv) => {
  const P = 't-shrink';
  const spec = await loadProgramCopy(srv, { id: P, opens: 'now', closes: 'now+7200s', mutate: smallQuota });
  for (let i = 0; i < 2; i++) {
    const a = await newApplicant(srv);
    expectSubmitted(await submit(srv, a.token, P, 'senior-technician', await validFields(srv, P, { id_number: a.id })));
  }
  const listed = async () => (await api(srv, 'GET', '/api/v1/programs')).body.programs.find((p) => p.id === P);
  const before = await listed();
  const shrunk = structuredClone(spec);
  shrunk.title = `${spec.title}（已改）`;
  Object.assign(shrunk.categories.find((c) => c.code === 'senior-technician'), { cap: 1, places: 1 });
  const file = `${srv.tmp}/${P}-shrunk.json`;
  fs.writeFileSync(file, JSON.stringify(shrunk));
  const r = await srv.cli(['program', 'load', file, '--data', srv.data]);
  assert.equal(r.code, 1, `program load with places 1 < 2 taken exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /senior-technician/, r.stderr);
  assert.match(r.stderr, /places=1/, r.stderr);
  assert.match(r.stderr, /已占用的 2 个/, r.stderr);
  await sleep(1500); // the programs list is rebuilt at least once a second
  assert.deepEqual(await listed(), before, 'the stored program changed although the load was refused');
  // as many places as taken is fine
  shrunk.categories.find((c) => c.code === 'senior-technician').places = 2;
  fs.writeFileSync(file, JSON.stringify(shrunk));
  const ok = await srv.cli(['program', 'load', file, '--data', srv.data]);
  assert.equal(ok.code, 0, `program load with places = taken exited ${ok.code}\n${ok.stderr}`);
});
