// tests/crash/fulldisk.test.mjs — the data directory on a small tmpfs that
// the test mounts (root needed) and fills up:
//   - while it is full, every submission is answered either 201 (and then it
//     is really stored) or 503 `unavailable` with a Chinese message and a
//     Retry-After header; at least one is refused; the server stays up;
//   - after room is freed, submissions succeed again without a restart;
//   - every 201 is still there with its rank after a SIGKILL and restart;
//     ranks dense, `PRAGMA integrity_check` ok, `tisheng ledger verify` passes.
// When the tmpfs cannot be mounted (not root, no mount permission) the test
// prints "fulldisk: skipped" and passes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { Server, applicantNumbers, hasChinese, initData, phones, pool, skillFields, sleep, storedProblems,
  tmpdir } from './lib.mjs';

const SIZE = process.env.FULLDISK_SIZE ?? '24m';
const P = 'yn2022-skill';

function fill(dir) {
  const fd = fs.openSync(path.join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(64 * 1024, 0);
  let n = 0;
  try {
    for (;;) {
      fs.writeSync(fd, chunk);
      n += chunk.length;
    }
  } catch (e) {
    if (e.code !== 'ENOSPC') throw e;
  }
  // the last partial chunk too
  try {
    for (;;) {
      fs.writeSync(fd, Buffer.alloc(512));
      n += 512;
    }
  } catch (e) {
    if (e.code !== 'ENOSPC') throw e;
  }
  fs.closeSync(fd);
  return n;
}

test('a full disk: 503 unavailable, never an unstored 201, and recovery without a restart', { timeout: 180000 }, async (t) => {
  const mnt = tmpdir('tisheng-fulldisk-');
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE},mode=0700`, 'tmpfs', mnt], { encoding: 'utf8' });
  if (m.status !== 0) {
    console.log(`fulldisk: skipped (cannot mount a tmpfs: ${(m.stderr || m.error?.message || '').trim()})`);
    t.skip('cannot mount a tmpfs');
    return;
  }
  let srv;
  try {
    const data = initData(path.join(mnt, 'data'));
    srv = new Server(data);
    await srv.start();
    const unions = await srv.baseUnions();
    const N = Number(process.env.FULLDISK_N ?? 1500);
    const tokens = await srv.login(phones(N));
    const nums = applicantNumbers(N);
    const acked = [];
    const bodies = nums.map((n, i) => {
      const category = i % 4 === 0 ? 'senior-technician' : 'technician';
      return { token: tokens[i], category, fields: skillFields(n, category, unions) };
    });
    // a few go in before the disk fills
    let next = 0;
    for (; next < 10; next++) {
      const b = bodies[next];
      const r = await srv.submit(b.token, P, b.category, b.fields);
      assert.equal(r.status, 201, `before the disk is full: ${r.status} ${JSON.stringify(r.body)}`);
      acked.push({ ...b, id: r.body.id, rank: r.body.rank });
    }

    const filled = fill(mnt);
    const df = spawnSync('df', ['-k', mnt], { encoding: 'utf8' }).stdout.trim().split('\n').pop();
    t.diagnostic(`filled ${filled} bytes; df: ${df}`);

    // while full: 201 (really stored) or 503 unavailable, in Chinese, with Retry-After.
    // SQLite reuses the room its WAL file already has, so the first submissions
    // may still be stored; refusals come once the WAL must grow.
    const tally = {};
    let refused = 0;
    const fullStart = next;
    while (next < bodies.length - 40 && refused < 20) {
      // in small concurrent groups, as a rush would
      const group = bodies.slice(next, next + 10);
      next += group.length;
      const answers = await Promise.all(group.map((b) => srv.submit(b.token, P, b.category, b.fields)));
      answers.forEach((r, i) => {
        const key = r.status === 503 || r.status === 500 ? `${r.status} ${r.body?.error?.code}` : r.status;
        tally[key] = (tally[key] || 0) + 1;
        if (r.status === 201) {
          acked.push({ ...group[i], id: r.body.id, rank: r.body.rank });
          return;
        }
        assert.equal(r.status, 503, `on a full disk: ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(r.body?.error?.code, 'unavailable', `on a full disk: ${JSON.stringify(r.body)}`);
        assert.ok(hasChinese(r.body.error.message), `the message is not in Chinese: ${r.body.error.message}`);
        assert.ok(r.headers['retry-after'], '503 without Retry-After');
        refused++;
      });
    }
    t.diagnostic(`answers while the disk was full: ${JSON.stringify(tally)}`);
    assert.ok(refused > 0, `no submission was refused on a full disk (${JSON.stringify(tally)})`);
    assert.ok(srv.alive(), 'the server died on a full disk');
    const h = await srv.request('GET', '/healthz');
    assert.equal(h.status, 200, 'healthz on a full disk');

    // room again: submissions succeed without a restart
    fs.unlinkSync(path.join(mnt, 'filler'));
    const deadline = Date.now() + 15000;
    let recovered = 0;
    const afterTally = {};
    while (next < bodies.length && recovered < 10) {
      const b = bodies[next];
      const r = await srv.submit(b.token, P, b.category, b.fields);
      afterTally[r.status] = (afterTally[r.status] || 0) + 1;
      if (r.status === 201) {
        acked.push({ ...b, id: r.body.id, rank: r.body.rank });
        recovered++;
        next++;
      } else {
        assert.equal(r.status, 503, `after freeing room: ${r.status} ${JSON.stringify(r.body)}`);
        if (Date.now() > deadline) break;
        await sleep(200); // the same applicant tries again, as told by Retry-After
      }
    }
    t.diagnostic(`answers after room was freed: ${JSON.stringify(afterTally)}`);
    assert.equal(recovered, 10, `submissions did not succeed again within 15 s of freeing room (${JSON.stringify(afterTally)})`);

    // every 201 is stored, now and after a crash
    const check = async (when) => {
      await pool(acked.length, 16, async (i) => {
        const a = acked[i];
        const r = await srv.request('GET', `/api/v1/applications/${a.id}`, { token: a.token });
        assert.equal(r.status, 200, `${when}: application ${a.id} (answered 201, rank ${a.rank}) is missing`);
        assert.equal(r.body.rank, a.rank, `${when}: application ${a.id} has rank ${r.body.rank}, answered ${a.rank}`);
      });
    };
    await check('after freeing room');
    await srv.kill('SIGKILL');
    const problems = storedProblems(data, { [`${P}/senior-technician`]: 550, [`${P}/technician`]: 1650 });
    assert.deepEqual(problems, [], problems.join('\n'));
    await srv.start();
    await check('after SIGKILL and restart');
    console.log(`fulldisk: PASS (${refused} refused with 503 unavailable while full, ${acked.length} acknowledged and kept)`);
  } finally {
    if (srv) await srv.kill('SIGKILL');
    spawnSync('umount', ['-l', mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  }
});
