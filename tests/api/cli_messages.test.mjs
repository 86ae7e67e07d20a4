// What the CLI says when its arguments are wrong: an option without its
// value, a database that cannot be opened, a username it will not take. No
// server: each test runs `tisheng` on a throw-away directory.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { test, after } from 'node:test';

import { cli, REPO } from './lib/server.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tisheng-cli-'));
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(path.join(REPO, '--demo'), { recursive: true, force: true }); // what init made before the fix
});

// every option that takes a value, in every command that has it
const VALUED = {
  init: ['data', 'store'],
  program: ['data', 'store', 'opens', 'closes'],
  staff: ['data', 'store', 'org', 'role', 'username'],
  org: ['data', 'store'],
  ledger: ['data', 'store'],
  store: ['data', 'from', 'to'],
  serve: ['data', 'store', 'listen', 'sms', 'ip-limit', 'web', 'threads', 'max-connections', 'per-ip-connections',
    'max-queue', 'timeout', 'trusted-proxy'],
};
const PREFIX = { program: ['program', 'load', 'x.json'], staff: ['staff', 'add'], org: ['org', 'import', 'x.json'],
  ledger: ['ledger', 'verify'], store: ['store', 'copy'] };

test('an option given last without its value is named as needing one (exit 2), in every command', async () => {
  for (const [cmd, names] of Object.entries(VALUED)) {
    for (const name of names) {
      const args = [...(PREFIX[cmd] || [cmd]), `--${name}`];
      const r = await cli(args, { input: '' });
      assert.equal(r.code, 2, `tisheng ${args.join(' ')} exited ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`选项 --${name} 需要一个值`), `tisheng ${args.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /无法识别/, `tisheng ${args.join(' ')}: ${r.stderr}`);
    }
  }
});

test('an option followed by another option has no value either; nothing is created', async () => {
  const r = await cli(['init', '--data', '--demo'], { env: { TISHENG_DATA: path.join(tmp, 'unused') } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /选项 --data 需要一个值（其后的 --demo 是另一个选项）/, r.stderr);
  assert.ok(!fs.existsSync(path.join(REPO, '--demo')), 'init made a directory called --demo');
  const s = await cli(['serve', '--ip-limit', '--data', 'x']);
  assert.equal(s.code, 2);
  assert.match(s.stderr, /选项 --ip-limit 需要一个值/, s.stderr);
});

test('unknown options and values given to options that take none are still told apart', async () => {
  const u = await cli(['init', '--bogus']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /无法识别的选项：--bogus/, u.stderr);
  const v = await cli(['init', '--demo=yes', '--data', path.join(tmp, 'never')]);
  assert.equal(v.code, 2);
  assert.match(v.stderr, /选项 --demo 不接受值/, v.stderr);
  assert.ok(!fs.existsSync(path.join(tmp, 'never')), 'a refused init created the data directory');
  const w = await cli(['serve', '--test-clock=1']);
  assert.equal(w.code, 2);
  assert.match(w.stderr, /选项 --test-clock 不接受值/, w.stderr);
});

test('a --store sqlite:PATH that cannot be opened is named with the reason, not as a store "temporarily unavailable"', async () => {
  const data = path.join(tmp, 'store-data');
  const missingDir = path.join(tmp, 'no-such-dir', 'x.db');
  const r = await cli(['init', '--data', data, '--store', `sqlite:${missingDir}`]);
  assert.equal(r.code, 1, `init with a store in a missing directory exited ${r.code}\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(`无法打开数据库 ${missingDir}：目录 ${path.dirname(missingDir)} 不存在`), r.stderr);
  assert.doesNotMatch(r.stderr, /暂不可用|稍后重试/, r.stderr);
  // nothing is left behind that would stop init from being run again
  assert.deepEqual(fs.existsSync(data) ? fs.readdirSync(data) : [], [], 'a failed init left files in the data directory');
  const again = await cli(['init', '--data', data]);
  assert.equal(again.code, 0, `init after a failed init exited ${again.code}\n${again.stderr}`);

  for (const [store, why] of [
    [`sqlite:${missingDir}`, `目录 ${path.dirname(missingDir)} 不存在`],
    [`sqlite:${tmp}`, `${tmp} 是目录`],
    [`sqlite:${path.join(data, 'keys', 'master.key', 'x.db')}`, '不是目录'],
  ]) {
    for (const args of [['ledger', 'verify'], ['serve', '--listen', '127.0.0.1:19431']]) {
      const v = await cli([...args, '--data', data, '--store', store], { timeout: 20000 });
      assert.equal(v.code, 1, `${args[0]} --store ${store} exited ${v.code}\n${v.stderr}`);
      assert.ok(v.stderr.includes(`无法打开数据库 ${store.slice(7)}：`) && v.stderr.includes(why), `${args[0]} --store ${store}: ${v.stderr}`);
      assert.doesNotMatch(v.stderr, /暂不可用|稍后重试/, v.stderr);
    }
  }
});

test('a command other than init does not make an empty database of a --store sqlite:PATH that does not exist', async () => {
  const data = path.join(tmp, 'typo-data');
  assert.equal((await cli(['init', '--data', data])).code, 0);
  const typo = path.join(tmp, 'tisheng-typo.db');
  const v = await cli(['ledger', 'verify', '--data', data, '--store', `sqlite:${typo}`]);
  assert.equal(v.code, 1, `ledger verify of a missing database exited ${v.code}\n${v.stdout}\n${v.stderr}`);
  assert.match(v.stderr, /数据库文件 .*tisheng-typo\.db 不存在/, v.stderr);
  assert.ok(!fs.existsSync(typo), 'ledger verify created the database it was asked to verify');
  // store copy still creates its target
  const target = path.join(tmp, 'copy.db');
  const c = await cli(['store', 'copy', '--data', data, '--from', `sqlite:${path.join(data, 'tisheng.db')}`, '--to', `sqlite:${target}`]);
  assert.equal(c.code, 0, `store copy to a new SQLite file exited ${c.code}\n${c.stderr}`);
  assert.equal((await cli(['ledger', 'verify', '--data', data, '--store', `sqlite:${target}`])).code, 0);
});

test('staff add takes usernames of letters, digits, . _ - only (the demo and test names among them), with a Chinese message', async () => {
  const data = path.join(tmp, 'staff-data');
  assert.equal((await cli(['init', '--data', data, '--demo'])).code, 0);
  const add = (username, extra = []) =>
    cli(['staff', 'add', '--data', data, '--org', 'yn', '--role', 'reviewer', '--username', username, ...extra], { input: 'Passw0rd!x\n' });
  for (const bad of ['bad user!', 'a b', '张三', 'x;rm', '-admin', '.hidden', 'tab\tname', 'semi:colon', 'at@host', 'a/b']) {
    const r = await add(bad);
    assert.equal(r.code, 2, `staff add --username ${JSON.stringify(bad)} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /用户名 .* 不可用：应为 2–64 个字母、数字、点（.）、下划线（_）或连字符（-）/, r.stderr);
    assert.equal(r.stdout, '', r.stdout);
  }
  for (const bad of ['a', 'x'.repeat(65)]) {
    const r = await add(bad);
    assert.equal(r.code, 2, `staff add --username of ${bad.length} characters exited ${r.code}`);
    assert.match(r.stderr, /用户名长度应为 2–64/, r.stderr);
  }
  // none of the refused names was stored: adding a good one still says 已添加
  for (const good of ['wh1-reviewer', 'bt-base', 'base1', 'li.wei_01', 'Admin2', 'x'.repeat(64)]) {
    const r = await add(good);
    assert.equal(r.code, 0, `staff add --username ${good} exited ${r.code}\n${r.stderr}`);
    assert.match(r.stdout, /已添加/, r.stdout);
  }
  // the demo accounts follow the rule: re-adding one is an update
  const demo = await add('km-reviewer', ['--update']);
  assert.equal(demo.code, 0, demo.stderr);
  assert.match(demo.stdout, /已更新/, demo.stdout);

  // an account named before the rule (written straight into the database)
  // can still have its password reset
  const sqlite = ['/usr/bin/sqlite3', '/usr/local/bin/sqlite3'].find((p) => fs.existsSync(p));
  if (sqlite) {
    execFileSync(sqlite, [path.join(data, 'tisheng.db'),
      "INSERT INTO staff(username,pw_hash,org,role,created_at) SELECT 'old user', pw_hash, org, role, created_at FROM staff WHERE username='admin'"]);
    const old = await add('old user', ['--update']);
    assert.equal(old.code, 0, `updating an account named before the rule exited ${old.code}\n${old.stderr}`);
    assert.match(old.stdout, /已更新/, old.stdout);
  }
});
