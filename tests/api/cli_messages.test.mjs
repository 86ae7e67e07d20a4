// What the CLI says when its arguments are wrong: an option without its
// value, a database that cannot be opened, a username it will not take. No
// server: each test runs `tisheng` on a throw-away directory.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
