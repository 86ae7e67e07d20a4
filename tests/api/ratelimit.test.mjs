// The per-IP limit on the login endpoints (`serve --ip-limit N`, requests per minute).

import assert from 'node:assert/strict';

import { useServer, api, expectStatus, expectError, show, sleep } from './lib/client.mjs';
import { phone as newPhone } from './lib/gen.mjs';

const LIMIT = 5;
const { test } = useServer({ ipLimit: LIMIT });

test(`--ip-limit ${LIMIT}: login endpoints answer 429 rate_limited past ${LIMIT} requests a minute from one IP`, async (t, srv) => {
  // stay clear of a wall-clock minute boundary, where a fixed one-minute window restarts
  const sec = new Date().getSeconds();
  if (sec >= 45) await sleep((61 - sec) * 1000);
  const answers = [];
  for (let i = 0; i < LIMIT + 3; i++) {
    answers.push(await api(srv, 'POST', '/api/v1/auth/sms-code', { json: { phone: newPhone() } }));
  }
  const ok = answers.filter((r) => r.status === 200).length;
  assert.ok(ok >= 1 && ok <= LIMIT, `between 1 and ${LIMIT} codes may be sent: ${answers.map((r) => r.status)}`);
  const last = answers[answers.length - 1];
  expectError(last, 429, 'rate_limited');
  // the login endpoint is limited too
  const login = await api(srv, 'POST', '/api/v1/auth/login', { json: { phone: newPhone(), code: '123456' } });
  expectError(login, 429, 'rate_limited');
  // other endpoints are not
  expectStatus(await api(srv, 'GET', '/api/v1/programs'), 200);
  t.diagnostic(`statuses: ${answers.map((r) => r.status).join(' ')}; login → ${show(login).split('\n')[1]}`);
});
