// The per-IP limit on the login endpoints (`serve --ip-limit N`, requests per minute).

import assert from 'node:assert/strict';

import { useServer, api, expectStatus, expectError, show, sleep } from './lib/client.mjs';
import { startServer } from './lib/server.mjs';
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

test('without --trusted-proxy, X-Forwarded-For is ignored: a different header per request does not escape the limit', async (t, srv) => {
  const answers = [];
  for (let i = 0; i < LIMIT + 3; i++) {
    answers.push(
      await api(srv, 'POST', '/api/v1/auth/sms-code', {
        json: { phone: newPhone() },
        headers: { 'X-Forwarded-For': `198.51.100.${i + 1}` },
      }),
    );
  }
  expectError(answers[answers.length - 1], 429, 'rate_limited');
  t.diagnostic(`statuses: ${answers.map((r) => r.status).join(' ')}`);
});

test('--trusted-proxy 127.0.0.1: each address in X-Forwarded-For has its own limit; a forged address in front is not believed', async (t) => {
  const srv = await startServer({ ipLimit: LIMIT, extraArgs: ['--trusted-proxy', '127.0.0.1'] });
  try {
    const sec = new Date().getSeconds();
    if (sec >= 45) await sleep((61 - sec) * 1000);
    const send = (xff) =>
      api(srv, 'POST', '/api/v1/auth/sms-code', {
        json: { phone: newPhone() },
        headers: xff ? { 'X-Forwarded-For': xff } : {},
      });
    // LIMIT + 3 workers behind the proxy, one request each: none is limited
    const distinct = [];
    for (let i = 0; i < LIMIT + 3; i++) distinct.push(await send(`203.0.113.${i + 1}`));
    assert.deepEqual(
      distinct.map((r) => r.status),
      distinct.map(() => 200),
      `one request per address is never limited: ${distinct.map((r) => r.status)}`,
    );
    // one worker past the limit is; a client's own X-Forwarded-For in front of
    // the proxy's (nginx's $proxy_add_x_forwarded_for) does not change who it is
    const same = [];
    for (let i = 0; i < LIMIT + 2; i++) same.push(await send(`10.9.9.${i}, 192.0.2.77`));
    expectError(same[same.length - 1], 429, 'rate_limited');
    // an IPv6 client and a header that is not an address (then the proxy's own) are counted apart
    expectStatus(await send('2001:db8::5'), 200);
    expectStatus(await send('not-an-address'), 200);
    t.diagnostic(`same address: ${same.map((r) => r.status).join(' ')}`);
  } finally {
    await srv.cleanup();
  }
});
