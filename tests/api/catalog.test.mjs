// Public catalogue: programs, one program with its form schema, the union tree.

import assert from 'node:assert/strict';
import http from 'node:http';

import { useServer, api, expectStatus, expectError, show, programOf, CJK } from './lib/client.mjs';

const { test } = useServer();

const SEEDS = {
  'yn2022-skill': {
    'senior-technician': { amount_fen: 200000, cap: 500, places: 550 },
    technician: { amount_fen: 100000, cap: 1500, places: 1650 },
  },
  'yn2022-edu': {
    bachelor: { amount_fen: 150000, cap: 1000, places: 1100 },
    associate: { amount_fen: 100000, cap: 1000, places: 1100 },
  },
};

test('GET /api/v1/programs lists the seed programs, open now, with caps, places and remaining', async (t, srv) => {
  const res = await api(srv, 'GET', '/api/v1/programs');
  expectStatus(res, 200);
  assert.ok(Array.isArray(res.body?.programs), show(res));
  for (const [id, cats] of Object.entries(SEEDS)) {
    const p = res.body.programs.find((x) => x.id === id);
    assert.ok(p, `program ${id} missing: ${show(res)}`);
    assert.equal(typeof p.title, 'string');
    assert.match(p.title, CJK);
    for (const k of ['opens_at', 'closes_at']) {
      assert.equal(typeof p[k], 'string', `${id}.${k}`);
      assert.ok(!Number.isNaN(Date.parse(p[k])), `${id}.${k} is not a date: ${p[k]}`);
    }
    const now = Date.now();
    assert.ok(Date.parse(p.opens_at) <= now + 1000, `${id} demo window should be open: opens_at ${p.opens_at}`);
    assert.ok(Date.parse(p.closes_at) > now, `${id} demo window should be open: closes_at ${p.closes_at}`);
    assert.ok(Array.isArray(p.categories));
    assert.deepEqual(p.categories.map((c) => c.code).sort(), Object.keys(cats).sort());
    for (const c of p.categories) {
      const want = cats[c.code];
      assert.equal(typeof c.name, 'string');
      assert.match(c.name, CJK);
      assert.equal(c.amount_fen, want.amount_fen, `${id}/${c.code} amount_fen`);
      assert.equal(c.cap, want.cap, `${id}/${c.code} cap`);
      assert.equal(c.places, want.places, `${id}/${c.code} places`);
      assert.equal(c.remaining, want.places, `${id}/${c.code} remaining on a fresh server`);
    }
  }
});

test('GET /api/v1/programs/{id} gives the program with its form schema', async (t, srv) => {
  for (const id of Object.keys(SEEDS)) {
    const res = await api(srv, 'GET', `/api/v1/programs/${id}`);
    expectStatus(res, 200);
    const p = programOf(res);
    assert.equal(p.id, id, show(res));
    assert.ok(Array.isArray(p.categories), `categories missing: ${show(res)}`);
    assert.ok(Array.isArray(p.form?.fields), `form.fields missing: ${show(res)}`);
    const byKey = new Map(p.form.fields.map((f) => [f.key, f]));
    const common = ['name', 'gender', 'ethnicity', 'political_status', 'education', 'unit', 'position', 'id_number', 'email', 'unit_address', 'work_years', 'union'];
    const own =
      id === 'yn2022-skill'
        ? ['occupation_category', 'previous_level', 'occupation', 'cert_number', 'cert_date', 'cert_issuer']
        : ['household', 'diploma_number', 'diploma_date', 'institution'];
    for (const k of [...common, ...own]) {
      const f = byKey.get(k);
      assert.ok(f, `form field "${k}" missing in ${id}`);
      assert.equal(typeof f.type, 'string', `${id}.${k}.type`);
      if (['name', 'id_number', 'union'].includes(k)) assert.notEqual(f.required, false, `${id}.${k} should be required`);
    }
    for (const f of p.form.fields) {
      assert.match(f.key, /^[a-z_]{1,40}$/);
      if (f.type === 'select') assert.ok(Array.isArray(f.options) && f.options.length > 0, `${id}.${f.key}.options`);
    }
    assert.deepEqual([...byKey.get('gender').options].sort(), ['女', '男']);
    assert.equal(byKey.get('id_number').type, 'id_number');
    assert.equal(byKey.get('email').type, 'email');
    assert.equal(byKey.get('work_years').type, 'integer');
    assert.equal(byKey.get('union').type, 'org');
    if (id === 'yn2022-skill') assert.equal(byKey.get('cert_date').type, 'date');
    else assert.equal(byKey.get('diploma_date').type, 'date');

    // the notice and the printed form's footnote give this window's dates
    // (the demo moved it to now), not the 2022 ones of the source text
    const cst = (iso) => {
      const d = new Date(Date.parse(iso) + 8 * 3600e3);
      return `${d.getUTCFullYear()}年${d.getUTCMonth() + 1}月${d.getUTCDate()}日${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
    };
    assert.ok(p.notice.includes(`申报时间${cst(p.opens_at)}至`), `notice: ${p.notice} (opens ${p.opens_at})`);
    const [y, m, d] = p.paper_deadline.split('-').map(Number);
    assert.ok(p.notice.includes(`于${y}年${m}月${d}日前递交`), `notice: ${p.notice} (paper deadline ${p.paper_deadline})`);
    assert.ok(!JSON.stringify(p).includes('{paper_deadline}') && !p.notice.includes('{'), `a placeholder left: ${p.notice}`);
  }
});

test('GET /api/v1/programs/{unknown} → 404 with {"error":{"code","message"}} in Chinese', async (t, srv) => {
  for (const id of ['no-such-program', 'yn1999-skill']) {
    const res = await api(srv, 'GET', `/api/v1/programs/${id}`);
    const e = expectError(res, 404);
    assert.ok(/[^\x00-\x7f]/.test(e.message), 'message must be non-ASCII Chinese');
    assert.match(res.headers.get('content-type') || '', /application\/json/);
  }
});

test('GET /api/v1/orgs gives the union tree: levels, one root, every parent exists', async (t, srv) => {
  const res = await api(srv, 'GET', '/api/v1/orgs');
  expectStatus(res, 200);
  const orgs = res.body?.orgs;
  assert.ok(Array.isArray(orgs) && orgs.length > 20, show(res));
  const LEVELS = new Set(['province', 'prefecture', 'industry', 'county', 'base']);
  const byCode = new Map();
  for (const o of orgs) {
    assert.equal(typeof o.code, 'string');
    assert.ok(!byCode.has(o.code), `duplicate org code ${o.code}`);
    byCode.set(o.code, o);
    assert.equal(typeof o.name, 'string');
    assert.match(o.name, CJK);
    assert.ok(LEVELS.has(o.level), `unknown level ${o.level} for ${o.code}`);
  }
  const roots = orgs.filter((o) => o.parent == null || o.parent === '');
  assert.equal(roots.length, 1, `expected one root: ${JSON.stringify(roots)}`);
  assert.equal(roots[0].level, 'province');
  for (const o of orgs) {
    if (o === roots[0]) continue;
    assert.ok(byCode.has(o.parent), `parent ${o.parent} of ${o.code} does not exist`);
  }
  const count = (lvl) => orgs.filter((o) => o.level === lvl).length;
  assert.equal(count('prefecture'), 16, 'Yunnan has 16 prefectures (州市)');
  for (const o of orgs.filter((x) => x.level === 'prefecture' || x.level === 'industry')) {
    assert.equal(byCode.get(o.parent).level, 'province', `${o.code} (${o.level}) should hang under the province`);
  }
  assert.ok(count('industry') >= 1, 'provincial industry unions');
  assert.ok(count('county') >= 1, 'sample counties');
  assert.ok(count('base') >= 1, 'sample base unions');
  // no cycles: walking up always ends at the root
  for (const o of orgs) {
    let cur = o;
    for (let i = 0; i < 10 && cur.parent; i++) cur = byCode.get(cur.parent);
    assert.equal(cur, roots[0], `${o.code} does not reach the root`);
  }
});

test('an unknown API path → 404 with a JSON error in Chinese', async (t, srv) => {
  for (const p of ['/api/v1/nope', '/api/v1/applicationz', '/api/v2/programs']) {
    const res = await api(srv, 'GET', p);
    expectError(res, 404);
    assert.match(res.headers.get('content-type') || '', /application\/json/);
  }
});

test('a method the API does not serve → 404 or 405 with a JSON error in Chinese', async (t, srv) => {
  for (const [method, p] of [
    ['DELETE', '/api/v1/programs'],
    ['PUT', '/api/v1/programs/yn2022-skill'],
    ['POST', '/api/v1/orgs'],
    ['DELETE', '/api/v1/applications/1'],
    ['GET', '/api/v1/auth/login'],
  ]) {
    const res = await api(srv, method, p, method === 'GET' || method === 'DELETE' ? {} : { json: {} });
    expectError(res, [401, 404, 405]);
  }
});

function rawGet(port, rawPath) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: 'GET' }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: res.headers, text: body.toString('latin1'), utf8: body.toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('serve serves the pages `make` builds: / (workers) and /console/ (union staff), in Chinese', async (t, srv) => {
  for (const [path, title] of [['/', '职工补助申报'], ['/console/', '工会补助审核管理平台']]) {
    const res = await rawGet(srv.port, path);
    assert.equal(res.status, 200, `GET ${path}: ${res.status} ${res.text.slice(0, 200)}`);
    assert.match(res.headers['content-type'] || '', /^text\/html/, `GET ${path}: ${res.headers['content-type']}`);
    assert.match(res.text, /<html lang="zh-CN">/, `GET ${path}`);
    assert.ok(res.utf8.includes(title), `GET ${path}: no title ${title}`);
  }
});

test('static files do not escape the web root (no path traversal)', async (t, srv) => {
  for (const p of [
    '/../../../../etc/passwd',
    '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/static/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc/passwd',
  ]) {
    const res = await rawGet(srv.port, p);
    assert.doesNotMatch(res.text, /root:.*:0:0:/, `GET ${p} served /etc/passwd`);
    assert.ok(!srv.data || !res.text.includes('SQLite format 3'), `GET ${p} served a database`);
  }
  // nor the data directory's files
  const res = await rawGet(srv.port, `/${'..%2f'.repeat(8)}${srv.data.slice(1).replace(/\//g, '%2f')}%2ftisheng.db`);
  assert.ok(!res.text.includes('SQLite format 3'), 'the database was served');
});
