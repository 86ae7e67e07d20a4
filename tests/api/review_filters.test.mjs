// The filters of GET /api/v1/review/applications: a value the filter does
// not know is 422 invalid naming the parameter and the value (an unknown
// status used to answer 200 with an empty list, as if none had it); every
// status the staff console offers, and every stage status of the program,
// stays accepted.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { useServer } from './lib/client.mjs';
import { REPO } from './lib/server.mjs';
import { SKILL, U, api, expectStatus, expectError, show, staffAccount, applicants, reviewList, smallProgram } from './lib/review.mjs';

const { test } = useServer();

const S = {};

/** STATUS_ORDER of the console's labels.js: the statuses its queue filter offers. */
function consoleStatuses() {
  const text = fs.readFileSync(path.join(REPO, 'web/console/src/labels.js'), 'utf8');
  const m = text.match(/STATUS_ORDER\s*=\s*\[([^\]]*)\]/);
  assert.ok(m, 'STATUS_ORDER not found in web/console/src/labels.js');
  const list = [...m[1].matchAll(/'([a-z_]+)'/g)].map((x) => x[1]);
  assert.ok(list.length >= 13, `STATUS_ORDER: ${list}`);
  return list;
}

function get(srv, query) {
  return api(srv, 'GET', `/api/v1/review/applications?${query}`, { token: S.yn });
}

function expectInvalidParam(res, name, shown) {
  const e = expectError(res, 422, 'invalid');
  assert.ok(e.message.includes(`参数 ${name}`), `the message does not name ${name}: ${show(res)}`);
  if (shown) assert.ok(e.message.includes(shown), `the message does not show ${shown}: ${show(res)}`);
  assert.deepEqual(e.fields?.map((f) => f.name), [name], show(res));
}

test('setup: the provincial reviewer and one application', async (t, srv) => {
  S.yn = await staffAccount(srv, 'yn-reviewer').login();
  S.people = await applicants(srv, { union: U.wuhua1, n: 1 });
});

test('an unknown status is 422 invalid naming status and the value', async (t, srv) => {
  expectInvalidParam(await get(srv, `program=${SKILL}&status=zzz`), 'status', 'zzz');
  expectInvalidParam(await get(srv, `program=${SKILL}&status=Submitted`), 'status', 'Submitted');
  // a value that is not UTF-8 still gets a well-formed Chinese answer
  expectInvalidParam(await get(srv, `program=${SKILL}&status=%ff%fe`), 'status', '无法显示');
  // a long one is cut
  const long = await get(srv, `program=${SKILL}&status=${'x'.repeat(500)}`);
  expectInvalidParam(long, 'status', 'x'.repeat(30));
  assert.ok(long.body.error.message.length < 200, show(long));
});

test('every status the console offers, and an empty status, are still accepted', async (t, srv) => {
  for (const s of consoleStatuses()) {
    const res = await get(srv, `program=${SKILL}&status=${s}`);
    expectStatus(res, 200);
  }
  expectStatus(await get(srv, `program=${SKILL}&status=`), 200);
  const submitted = await reviewList(srv, S.yn, `program=${SKILL}&status=submitted`);
  assert.ok(submitted.applications.some((a) => a.id === S.people[0].app.id), JSON.stringify(submitted).slice(0, 800));
});

test("a program's own stage statuses are accepted", async (t, srv) => {
  const P = 't-own-stages';
  await smallProgram(srv, P, {
    mutate(spec) {
      for (const st of spec.review.stages) if (st.pass_status === 'rechecked') st.pass_status = 'prefecture_checked';
    },
  });
  const body = await reviewList(srv, S.yn, `program=${P}`);
  const own = body.stages.map((s) => s.pass_status);
  assert.ok(own.includes('prefecture_checked'), JSON.stringify(body.stages));
  for (const s of own) expectStatus(await get(srv, `program=${P}&status=${s}`), 200);
  expectInvalidParam(await get(srv, `program=${P}&status=prefecture_chekced`), 'status', 'prefecture_chekced');
});

test('an unknown category or a stage or rank that is not a number is 422 invalid naming the parameter and the value', async (t, srv) => {
  expectInvalidParam(await get(srv, `program=${SKILL}&category=nope`), 'category', 'nope');
  expectInvalidParam(await get(srv, `program=${SKILL}&stage=abc`), 'stage', 'abc');
  expectInvalidParam(await get(srv, `program=${SKILL}&stage=1.5`), 'stage', '1.5');
  expectInvalidParam(await get(srv, `program=${SKILL}&rank_min=x`), 'rank_min', 'x');
  expectInvalidParam(await get(srv, `program=${SKILL}&rank_max=-3`), 'rank_max', '-3');
  // what the console sends stays fine: an empty stage, a stage index, a known category
  expectStatus(await get(srv, `program=${SKILL}&stage=&actionable=1&limit=1`), 200);
  expectStatus(await get(srv, `program=${SKILL}&stage=0&category=technician&limit=1`), 200);
});
