// `tisheng program load` of a program that already has applications: what
// the stored applications were filed under (their category, the program's
// group, series and year, the category's level) cannot change; everything
// else (titles, texts, windows, more places, more categories) still can.

import assert from 'node:assert/strict';
import fs from 'node:fs';

import { useServer, api, expectStatus, expectError, newApplicant, validFields, submit, expectSubmitted, appOf, sleep } from './lib/client.mjs';
import { smallProgram, staffAccount, reviewApp } from './lib/review.mjs';

const { test } = useServer();

const WINDOW = ['--opens', 'now-60s', '--closes', 'now+3000000s'];

async function load(srv, spec, name, window = []) {
  const file = `${srv.tmp}/${spec.id}-${name}.json`;
  fs.writeFileSync(file, JSON.stringify(spec));
  return srv.cli(['program', 'load', file, '--data', srv.data, ...window]);
}

async function programView(srv, id) {
  const res = await api(srv, 'GET', `/api/v1/programs/${id}`);
  expectStatus(res, 200);
  return res.body;
}

/** Asserts a refused load: exit 1, the stderr matching every pattern, and
 * neither the program nor the application changed (after the registry's
 * once-a-second rebuild). */
async function expectRefused(srv, spec, name, patterns, { id, token, appId }) {
  const before = { program: await programView(srv, id), app: appOf(await api(srv, 'GET', `/api/v1/applications/${appId}`, { token })) };
  const r = await load(srv, spec, name, WINDOW);
  assert.equal(r.code, 1, `program load (${name}) exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  for (const p of patterns) assert.match(r.stderr, p, r.stderr);
  assert.match(r.stderr, /未做任何修改/, r.stderr);
  assert.equal(r.stdout, '', `a refused load printed: ${r.stdout}`);
  await sleep(1500);
  const after = { program: await programView(srv, id), app: appOf(await api(srv, 'GET', `/api/v1/applications/${appId}`, { token })) };
  assert.deepEqual(after, before, `the stored program or application changed although the load (${name}) was refused`);
}

async function withOneApplication(srv, P) {
  const spec = await smallProgram(srv, P);
  const a = await newApplicant(srv);
  const fields = await validFields(srv, P, { id_number: a.id }, 'technician');
  const app = expectSubmitted(await submit(srv, a.token, P, 'technician', fields));
  return { spec, a, fields, app, ctx: { id: P, token: a.token, appId: app.id } };
}

test('program load refuses dropping or renaming a category that has applications; nothing changes', async (t, srv) => {
  const P = 't-dropcat';
  const { spec, app, ctx } = await withOneApplication(srv, P);

  const dropped = structuredClone(spec);
  dropped.categories = dropped.categories.filter((c) => c.code !== 'technician');
  await expectRefused(srv, dropped, 'dropped', [/类别 technician（技师（二级））/, /已有 1 份申报/, /删除/], ctx);

  const renamed = structuredClone(spec);
  renamed.categories.find((c) => c.code === 'technician').code = 'technician-2';
  await expectRefused(srv, renamed, 'renamed', [/类别 technician/, /已有 1 份申报/, /code/], ctx);

  // the application is still whole and a reviewer sees its category
  const yn = staffAccount(srv, 'yn-reviewer');
  const a = await reviewApp(srv, await yn.login(), app.id);
  assert.equal(a.category, 'technician', JSON.stringify(a));
  assert.equal(a.category_name, '技师（二级）', JSON.stringify(a));

  // a category without applications may still go
  const noSenior = structuredClone(spec);
  noSenior.categories = noSenior.categories.filter((c) => c.code !== 'senior-technician');
  const ok = await load(srv, noSenior, 'no-senior', WINDOW);
  assert.equal(ok.code, 0, `dropping an empty category exited ${ok.code}\n${ok.stderr}`);
});

test('program load refuses changing group, series, year or a category level once applications exist; nothing changes', async (t, srv) => {
  const P = 't-regroup';
  const { spec, a, fields, ctx } = await withOneApplication(srv, P);

  const group = { ...structuredClone(spec), group: `${P}-new` };
  await expectRefused(srv, group, 'group', [/项目 t-regroup 已有 1 份申报/, /group 由 t-regroup 改为 t-regroup-new/], ctx);
  const series = { ...structuredClone(spec), series: 'yn-skill-new' };
  await expectRefused(srv, series, 'series', [/已有 1 份申报/, /series 由 yn-skill 改为 yn-skill-new/], ctx);
  const year = { ...structuredClone(spec), year: spec.year + 1 };
  await expectRefused(srv, year, 'year', [/已有 1 份申报/, /year 由 2022 改为 2023/], ctx);
  const level = structuredClone(spec);
  level.categories.find((c) => c.code === 'technician').level = '高级技师（一级）';
  await expectRefused(srv, level, 'level', [/类别 technician/, /已有 1 份申报/, /level 由 技师（二级） 改为 高级技师（一级）/], ctx);
  // the duplicate check still holds: the same person cannot apply again
  const again = await submit(srv, a.token, P, 'technician', fields);
  expectError(again, 409, 'duplicate');
  const other = await newApplicant(srv);
  const sameId = await submit(srv, other.token, P, 'technician', { ...fields });
  expectError(sameId, 409, 'duplicate');
});

test('program load still takes new titles, texts, windows, more places and new categories of a program with applications', async (t, srv) => {
  const P = 't-grow';
  const { spec, ctx } = await withOneApplication(srv, P);
  const grown = structuredClone(spec);
  grown.title = `${spec.title}（已修订）`;
  grown.notice = '申报须知已修订。';
  for (const c of grown.categories) c.places += 5;
  grown.categories.find((c) => c.code === 'technician').name = '技师（二级）证书';
  grown.categories.find((c) => c.code === 'technician').level = '技师（二级）';
  grown.categories.push({ code: 'senior-worker', name: '高级工（三级）', level: '高级工（三级）', amount_fen: 50000, cap: 2, places: 3 });
  const r = await load(srv, grown, 'grown', ['--opens', 'now-60s', '--closes', 'now+4000000s']);
  assert.equal(r.code, 0, `program load of a grown program exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  await sleep(1500);
  const view = await programView(srv, P);
  const p = view.program || view;
  assert.equal(p.title, grown.title, JSON.stringify(view).slice(0, 2000));
  assert.ok(p.categories.some((c) => c.code === 'senior-worker'), JSON.stringify(view).slice(0, 2000));
  const app = appOf(await api(srv, 'GET', `/api/v1/applications/${ctx.appId}`, { token: ctx.token }));
  assert.equal(app.category, 'technician');

  // a program without applications may still change its group
  const fresh = await smallProgram(srv, 't-fresh');
  const moved = { ...structuredClone(fresh), group: 't-fresh-2' };
  const m = await load(srv, moved, 'moved', WINDOW);
  assert.equal(m.code, 0, `changing the group of a program without applications exited ${m.code}\n${m.stderr}`);
});
