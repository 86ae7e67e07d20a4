// Durability: nothing is acknowledged before it is on disk. A server killed with
// SIGKILL in the middle of a burst of submissions keeps every application it
// answered 201 for, with the same rank; ranks stay dense and the ledger verifies.

import assert from 'node:assert/strict';

import { useServer, api, expectStatus, loginMany, validFields, submit, expectSubmitted, myApplications, sleep } from './lib/client.mjs';
import { idNumber, phone as newPhone } from './lib/gen.mjs';

const { test } = useServer();
const P = 'yn2022-skill';
const CAT = 'technician';
const N = 600;

test('a server killed (SIGKILL) mid-burst keeps every acknowledged submission with its rank', { timeout: 120000 }, async (t, srv) => {
  const people = Array.from({ length: N }, () => ({ phone: newPhone(), id: idNumber() }));
  const tokens = await loginMany(srv, people.map((p) => p.phone), 32);
  people.forEach((p, i) => (p.token = tokens[i]));
  const template = await validFields(srv, P, {}, CAT);

  const acked = [];
  let killing = null;
  const proc = srv.proc;
  const inflight = people.map((p) =>
    submit(srv, p.token, P, CAT, { ...template, id_number: p.id })
      .then((res) => {
        if (res.status === 201) {
          acked.push({ p, rank: res.body.rank, id: res.body.id });
          // kill as soon as the first answers arrive, while the rest are in flight
          if (acked.length >= 20 && !killing) {
            proc.kill('SIGKILL');
            killing = srv.kill();
          }
        }
        return res.status;
      })
      .catch(() => 'network error'),
  );
  const statuses = await Promise.all(inflight);
  if (!killing) killing = srv.kill();
  await killing;
  const tally = {};
  for (const s of statuses) tally[s] = (tally[s] || 0) + 1;
  t.diagnostic(`before the kill: ${JSON.stringify(tally)}`);
  assert.ok(acked.length >= 1, 'some submissions were answered before the kill');

  await srv.start();
  // sessions survive the restart; every acknowledged application is there with its rank
  for (const a of acked) {
    const mine = await myApplications(srv, a.p.token);
    assert.equal(mine.length, 1, `acknowledged application ${a.id} (rank ${a.rank}) is lost after the crash`);
    assert.equal(String(mine[0].id), String(a.id));
    assert.equal(mine[0].rank, a.rank);
  }
  // stored ranks are dense 1..k (nothing unacknowledged left a hole) and the next arrival gets k+1
  const res = await api(srv, 'GET', '/api/v1/programs');
  expectStatus(res, 200);
  const cat = res.body.programs.find((x) => x.id === P).categories.find((c) => c.code === CAT);
  const stored = cat.places - cat.remaining;
  assert.ok(stored >= acked.length, `remaining says ${stored} stored, but ${acked.length} were acknowledged`);
  const maxAcked = Math.max(...acked.map((a) => a.rank));
  assert.ok(stored >= maxAcked, `rank ${maxAcked} was acknowledged but only ${stored} are stored`);
  const late = people.find((p) => !acked.some((a) => a.p === p));
  const mineLate = late ? await myApplications(srv, late.token) : [null];
  if (mineLate.length === 0) {
    const next = expectSubmitted(await submit(srv, late.token, P, CAT, { ...template, id_number: late.id }));
    assert.equal(next.rank, stored + 1, 'the first submission after the restart takes the next rank');
  }

  await srv.stop();
  const v = await srv.cli(['ledger', 'verify', '--data', srv.data]);
  assert.equal(v.code, 0, `ledger verify after the crash exited ${v.code}\n${v.stdout}\n${v.stderr}`);
  await srv.start();
});
