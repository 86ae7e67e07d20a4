// `tisheng ledger verify` against the applications: it passes after the
// changes the server makes itself (an edit of the public fields, a changed ID
// number, a withdrawal, review decisions, an edit after a return), and fails,
// naming the application, when a row was changed behind the server's back —
// deleted, its blind ID or sealed fields replaced, its submission time moved
// (docs/fairness.md "What `tisheng ledger verify --data DIR` checks").

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { useServer } from './lib/client.mjs';
import { idNumber } from './lib/gen.mjs';
import { PG_BASE, STORE_KIND } from './lib/server.mjs';
import {
  U, NEW_PASSWORD, api, expectStatus, addStaff, staffAccount, applicants, decideOk, cstDate,
} from './lib/review.mjs';

const { test } = useServer();
let people;
let copies = 0;

test('setup: applications edited, withdrawn, rejected, returned and passed', async (t, srv) => {
  await addStaff(srv, { org: U.wuhua1, username: 'wh1-ledger' });
  const wh1 = staffAccount(srv, 'wh1-ledger', NEW_PASSWORD);
  await wh1.login();
  people = await applicants(srv, { union: U.wuhua1, n: 8 });
  const put = async (p, fields) =>
    expectStatus(await api(srv, 'PUT', `/api/v1/applications/${p.app.id}`, { token: p.token, json: { fields } }), 200);
  await put(people[0], { ...people[0].fields, unit: '云南建投第一建设有限公司', work_years: 15 });
  await put(people[1], { ...people[1].fields, id_number: idNumber() }); // a corrected ID number
  expectStatus(await api(srv, 'POST', `/api/v1/applications/${people[2].app.id}/withdraw`, { token: people[2].token, json: {} }), 200);
  await decideOk(srv, wh1.token, people[3].app.id, { decision: 'reject', reason: '证书不属于本年度取得' }, 'rejected');
  await decideOk(srv, wh1.token, people[4].app.id, { decision: 'return', items: ['证书复印件不清晰'], deadline: await cstDate(srv, 5) }, 'returned');
  await put(people[4], { ...people[4].fields, position: '钢筋工' });
  await decideOk(srv, wh1.token, people[5].app.id, { decision: 'pass' }, 'initial_passed');
  await srv.stop();
});

/** A copy of the server's data (a directory, or a PostgreSQL database) with `sql` applied; resolves verify's result. */
async function verifyCopy(srv, sql, { keys = true } = {}) {
  const n = ++copies;
  const dir = path.join(srv.tmp, `copy${n}`);
  fs.cpSync(srv.data, dir, { recursive: true });
  if (!keys) fs.rmSync(path.join(dir, 'keys'), { recursive: true, force: true });
  if (STORE_KIND === 'sqlite') {
    if (sql) execFileSync('sqlite3', ['-batch', path.join(dir, 'tisheng.db'), sql], { stdio: 'pipe' });
    return srv.cli(['ledger', 'verify', '--data', dir]);
  }
  const orig = srv.store.slice(srv.store.lastIndexOf('/') + 1);
  const db = `${orig}_c${n}`;
  const admin = `${PG_BASE}/postgres`;
  execFileSync('psql', [admin, '-qc', `CREATE DATABASE ${db} TEMPLATE ${orig}`], { stdio: 'pipe' });
  try {
    if (sql) execFileSync('psql', [`${PG_BASE}/${db}`, '-v', 'ON_ERROR_STOP=1', '-qc', sql], { stdio: 'pipe' });
    return await srv.cli(['ledger', 'verify', '--data', dir, '--store', `${PG_BASE}/${db}`]);
  } finally {
    execFileSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`], { stdio: 'pipe' });
  }
}

const out = (r) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

test('ledger verify passes after edits, a changed ID number, a withdrawal and review decisions', async (t, srv) => {
  const r = await srv.cli(['ledger', 'verify', '--data', srv.data]);
  assert.equal(r.code, 0, out(r));
  assert.match(r.stdout, /账本校验通过：8 条记录/, out(r));
  assert.match(r.stdout, /1 条申报由申请人修改过身份证号/, out(r));
});

test('without the key, ledger verify checks the fields in the clear and says what it left out', async (t, srv) => {
  const r = await verifyCopy(srv, null, { keys: false });
  assert.equal(r.code, 0, out(r));
  assert.match(r.stderr, /未核对申报的身份证号/, out(r));
  const moved = await verifyCopy(srv, `UPDATE applications SET submitted_at=submitted_at-1000000 WHERE id=${people[6].app.id}`, { keys: false });
  assert.equal(moved.code, 1, out(moved));
});

test('ledger verify fails, naming the application, on applications tampered with', async (t, srv) => {
  const b = people[5].app.id; // passed at the first review, never edited
  const w = people[2].app.id; // withdrawn: its blind ID no longer blocks another row's
  const garble = STORE_KIND === 'sqlite' ? 'randomblob(80)' : "decode(md5('a')||md5('b')||md5('c'),'hex')";
  const cases = [
    ['a deleted application', `DELETE FROM application_events WHERE application=${people[6].app.id}; DELETE FROM applications WHERE id=${people[6].app.id}`,
      new RegExp(`第 ${people[6].app.rank} 名）：没有对应的申报`)],
    ['the blind ID of another application', `UPDATE applications SET id_bidx=(SELECT id_bidx FROM applications WHERE id=${w}) WHERE id=${b}`,
      new RegExp(`申报 #${b}：身份证号的盲索引`)],
    ['the sealed fields of another application', `UPDATE applications SET secret=(SELECT secret FROM applications WHERE id=${w}) WHERE id=${b}`,
      new RegExp(`申报 #${b}：身份证号的盲索引`)],
    ['the blind ID and the sealed fields of another application',
      `UPDATE applications SET id_bidx=(SELECT id_bidx FROM applications WHERE id=${w}), secret=(SELECT secret FROM applications WHERE id=${w}) WHERE id=${b}`,
      new RegExp(`申报 #${b}：申请人（身份证号）与账本第 \\d+ 条记录的申请人不符`)],
    ['garbled sealed fields', `UPDATE applications SET secret=${garble} WHERE id=${b}`, new RegExp(`申报 #${b}：加密的个人信息无法`)],
    ['an earlier submission time', `UPDATE applications SET submitted_at=submitted_at-1000000 WHERE id=${b}`, new RegExp(`申报 #${b}：提交时间`)],
    ['a later submission time on an edited application', `UPDATE applications SET submitted_at=submitted_at+1 WHERE id=${people[0].app.id}`,
      new RegExp(`申报 #${people[0].app.id}：提交时间`)],
  ];
  const missed = [];
  for (const [name, sql, want] of cases) {
    const r = await verifyCopy(srv, sql);
    if (r.code !== 1 || !want.test(r.stderr) || /账本校验通过/.test(r.stdout)) missed.push(`${name}: ${out(r)}`);
    t.diagnostic(`${name}: exit ${r.code}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
  }
  assert.deepEqual(missed, [], `ledger verify did not report ${missed.length} of ${cases.length} tamperings:\n${missed.join('\n')}`);
});

test('init refuses a data directory whose database holds data but whose keys are missing; nothing is created', async (t, srv) => {
  const dir = path.join(srv.tmp, 'lost-keys');
  fs.cpSync(srv.data, dir, { recursive: true });
  fs.rmSync(path.join(dir, 'keys'), { recursive: true, force: true });
  const before = fs.readdirSync(dir).sort();
  const r = await srv.cli(['init', '--data', dir]);
  assert.equal(r.code, 1, out(r));
  assert.match(r.stderr, /密钥缺失/, out(r));
  assert.match(r.stderr, /恢复 keys\/master\.key/, out(r));
  assert.match(r.stderr, STORE_KIND === 'sqlite' ? /lost-keys\/tisheng\.db/ : /PostgreSQL 数据库中已有数据/, out(r));
  assert.deepEqual(fs.readdirSync(dir).sort(), before, 'init created files while refusing');
  assert.ok(!fs.existsSync(path.join(dir, 'keys')), 'init created a keys directory while refusing');
  if (STORE_KIND === 'postgres') {
    // a new data directory pointed at the same database with --store
    const fresh = path.join(srv.tmp, 'fresh-dir');
    const p = await srv.cli(['init', '--data', fresh, '--store', srv.store]);
    assert.equal(p.code, 1, out(p));
    assert.match(p.stderr, /密钥缺失/, out(p));
    assert.ok(!fs.existsSync(fresh), 'init created the data directory while refusing');
  }
  // the original directory, with its key, is still refused as before and still verifies
  const again = await srv.cli(['init', '--data', srv.data]);
  assert.equal(again.code, 1, out(again));
  assert.match(again.stderr, /密钥文件已存在/, out(again));
  const v = await srv.cli(['ledger', 'verify', '--data', srv.data]);
  assert.equal(v.code, 0, out(v));
});
