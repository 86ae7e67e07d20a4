// Exports read back (shared/API.md staff rows, docs/review.md "Exports",
// issue 4 item 5): the 汇总表 XLSX of a union subtree (附件2 / 附件4 columns,
// data rows, footer counts), the 推荐承诺书 PDF, formula-injection
// protection, and the refusals (404 outside the subtree, roles).

import assert from 'node:assert/strict';

import { useServer } from './lib/client.mjs';
import {
  U, SKILL, EDU, NEW_PASSWORD, api, expectStatus, expectError, show, addStaff, staffAccount, applicants,
  readXlsx, headerOf, unzip, pdfText, hasPdftotext, auditEntries,
} from './lib/review.mjs';

const { test } = useServer({ extraArgs: ['--test-clock'] });

const GD = 'yn-530111'; // 官渡区
const GD1 = 'yn-530111-001';
const GD2 = 'yn-530111-002';
const S = {};
const P = {};

const SKILL_LABELS = ['姓名', '性别', '身份证号码', '单位', '工种', '原有最高技能等级', '现晋升技能等级', '等级证书编号', '发证日期', '发证机构'];
const EDU_LABELS = ['姓名', '年龄', '身份证号码', '工作单位', '户籍信息', '现有学历', '现有学历证书编号'];

test('setup: skill and education applications under 官渡区 (and one in 曲靖)', async (t, srv) => {
  await addStaff(srv, { org: GD1, username: 'gd1-reviewer' });
  S.gd1 = staffAccount(srv, 'gd1-reviewer', NEW_PASSWORD);
  S.km = staffAccount(srv, 'km-reviewer');
  S.yn = staffAccount(srv, 'yn-reviewer');
  S.finance = staffAccount(srv, 'finance');
  S.auditor = staffAccount(srv, 'auditor');
  for (const s of Object.values(S)) await s.login();

  const tech = [
    { name: '陈秀英', gender: '女', education: '本科' },
    { name: '杨丽娟', gender: '女', education: '大专' },
    { name: '刘志刚', gender: '男', education: '高中' },
  ];
  const senior = [
    { name: '黄建华', gender: '男', education: '本科' },
    { name: '何永平', gender: '男', education: '大专' },
  ];
  P.tech = await applicants(srv, { program: SKILL, category: 'technician', union: GD1, n: 3, overrides: (i) => tech[i] });
  P.senior = await applicants(srv, { program: SKILL, category: 'senior-technician', union: GD1, n: 2, overrides: (i) => senior[i] });
  P.formula = await applicants(srv, {
    program: SKILL,
    category: 'technician',
    union: GD2,
    n: 1,
    overrides: { name: '马晓燕', gender: '女', education: '本科', unit: '=1+1' },
  });
  P.outside = await applicants(srv, { program: SKILL, category: 'technician', union: U.qilin1, n: 1, overrides: { name: '曲靖某' } });

  P.bachelor = await applicants(srv, {
    program: EDU,
    category: 'bachelor',
    union: GD1,
    n: 2,
    overrides: (i) => ({ name: ['段文静', '普海涛'][i], unit: ['+1+2', '昆明关上速达快递服务有限公司'][i] }),
  });
  P.associate = await applicants(srv, {
    program: EDU,
    category: 'associate',
    union: GD1,
    n: 1,
    overrides: { name: '李春梅', unit: '@SUM(A1)' },
  });
  P.associate2 = await applicants(srv, { program: EDU, category: 'associate', union: GD2, n: 1, overrides: { name: '张德顺', unit: '-3+4' } });
});

function dataRows(rows, headerIndex) {
  return rows.slice(headerIndex + 1).filter((r) => /^\d+$/.test(String(r[0] ?? '').trim()));
}

function allText(rows) {
  return rows.map((r) => r.join(' ')).join('\n');
}

test('summary.xlsx (附件2) of a county subtree: columns, rows, footer counts', async (t, srv) => {
  const res = await api(srv, 'GET', `/api/v1/exports/summary.xlsx?program=${SKILL}&org=${GD}`, { token: S.km.token });
  expectStatus(res, 200);
  assert.match(res.headers.get('content-type') ?? '', /spreadsheetml|octet-stream/);
  const rows = readXlsx(res.bytes);
  const { index, cols } = headerOf(rows, SKILL_LABELS);
  const data = dataRows(rows, index);
  const dump = allText(rows);
  assert.equal(data.length, 6, `data rows:\n${dump}`);
  const names = data.map((r) => r[cols['姓名']]).sort();
  assert.deepEqual(names, ['陈秀英', '杨丽娟', '刘志刚', '黄建华', '何永平', '马晓燕'].sort());
  assert.ok(!dump.includes('曲靖某'), 'the 曲靖 applicant is in the 官渡区 summary');
  for (const r of data) {
    assert.ok(['男', '女'].includes(r[cols['性别']]), `gender cell: ${r.join(' | ')}`);
    assert.ok(['技师（二级）', '高级技师（一级）'].includes(r[cols['现晋升技能等级']]), `level cell: ${r.join(' | ')}`);
    assert.equal(r[cols['原有最高技能等级']], '高级工（三级）');
    assert.equal(r[cols['工种']], '焊工');
    assert.equal(r[cols['发证日期']], '2022-03-01');
  }
  const after = rows.slice(index + 1 + data.length).map((r) => r.join('')).join('\n').replace(/\s+/g, '');
  for (const re of [/共有6人/, /技师（二级）4人/, /高级技师（一级）2人/, /女职工有3人/, /男职工有3人/, /本科有3人/, /专科有2人/]) {
    assert.match(after, re, `footer counts: ${after}`);
  }
});

test('a cell starting with "=" comes out prefixed with an apostrophe, never as a formula', async (t, srv) => {
  const res = await api(srv, 'GET', `/api/v1/exports/summary.xlsx?program=${SKILL}&org=${GD}`, { token: S.km.token });
  expectStatus(res, 200);
  const rows = readXlsx(res.bytes);
  const { index, cols } = headerOf(rows, SKILL_LABELS);
  const row = dataRows(rows, index).find((r) => r[cols['姓名']] === '马晓燕');
  assert.ok(row, 'the row with unit "=1+1" is missing');
  assert.equal(row[cols['单位']], "'=1+1");
  const sheet = unzip(res.bytes).get('xl/worksheets/sheet1.xml').toString('utf8');
  assert.ok(!/<f[ >]/.test(sheet), 'the sheet contains a formula');
});

test('summary.xlsx prints like the official table: A4 landscape, one page wide, the header on every page', async (t, srv) => {
  const res = await api(srv, 'GET', `/api/v1/exports/summary.xlsx?program=${SKILL}&org=${GD}`, { token: S.km.token });
  expectStatus(res, 200);
  const files = unzip(res.bytes);
  const sheet = files.get('xl/worksheets/sheet1.xml').toString('utf8');
  assert.match(sheet, /<pageSetUpPr fitToPage="1"\/>/, 'not fitted to the page');
  const setup = (sheet.match(/<pageSetup [^>]*>/) || [''])[0];
  assert.match(setup, /paperSize="9"/, `not A4: ${setup}`);
  assert.match(setup, /orientation="landscape"/, `not landscape: ${setup}`);
  assert.match(setup, /fitToHeight="0"/, `not one page wide (any number of pages tall): ${setup}`);
  assert.match(sheet, /<oddFooter>[^<]*&amp;P[^<]*&amp;N/, 'no page numbers in the footer');
  const book = files.get('xl/workbook.xml').toString('utf8');
  assert.match(book, /<definedName name="_xlnm.Print_Titles"[^>]*>[^<]*\$\d+:\$\d+</, 'the header row is not repeated on each page');
  assert.match(book, /<sheet name="汇总表"/, 'the sheet is not named 汇总表');
});

test('a base union exports only its own union by default', async (t, srv) => {
  const res = await api(srv, 'GET', `/api/v1/exports/summary.xlsx?program=${SKILL}`, { token: S.gd1.token });
  expectStatus(res, 200);
  const rows = readXlsx(res.bytes);
  const { index } = headerOf(rows, SKILL_LABELS);
  assert.equal(dataRows(rows, index).length, 5, allText(rows));
  assert.match(allText(rows).replace(/\s+/g, ''), /共有5人/);
  // its sibling is outside its subtree
  expectError(await api(srv, 'GET', `/api/v1/exports/summary.xlsx?program=${SKILL}&org=${GD2}`, { token: S.gd1.token }), 404);
});

test('the education summary (附件4): columns, 大专/本科 counts, formula-safe cells', async (t, srv) => {
  const res = await api(srv, 'GET', `/api/v1/exports/summary.xlsx?program=${EDU}&org=${GD}`, { token: S.km.token });
  expectStatus(res, 200);
  const rows = readXlsx(res.bytes);
  const { index, cols } = headerOf(rows, EDU_LABELS);
  const data = dataRows(rows, index);
  assert.equal(data.length, 4, allText(rows));
  const byName = Object.fromEntries(data.map((r) => [r[cols['姓名']], r]));
  assert.deepEqual(Object.keys(byName).sort(), ['段文静', '普海涛', '李春梅', '张德顺'].sort());
  assert.equal(byName['段文静'][cols['现有学历']], '本科');
  assert.equal(byName['李春梅'][cols['现有学历']], '大专');
  assert.equal(byName['段文静'][cols['工作单位']], "'+1+2");
  assert.equal(byName['李春梅'][cols['工作单位']], "'@SUM(A1)");
  assert.equal(byName['张德顺'][cols['工作单位']], "'-3+4");
  assert.match(byName['普海涛'][cols['年龄']], /^\d{2}$/, 'age column');
  const after = rows.slice(index + 1 + data.length).map((r) => r.join('')).join('\n').replace(/\s+/g, '');
  assert.match(after, /共有4人/, after);
  assert.match(after, /大专学历2人/, after);
  assert.match(after, /本科学历2人/, after);
});

test('letter.pdf (推荐承诺书) of the subtree: a PDF with the title and the count', async (t, srv) => {
  const res = await api(srv, 'GET', `/api/v1/exports/letter.pdf?program=${SKILL}&org=${GD}`, { token: S.km.token });
  expectStatus(res, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/pdf/);
  assert.equal(res.bytes.subarray(0, 5).toString('latin1'), '%PDF-');
  if (!hasPdftotext) {
    t.diagnostic('pdftotext not installed: the text of the letter was not checked');
    return;
  }
  const text = (await pdfText(res.bytes)).replace(/\s+/g, '');
  assert.match(text, /推荐承诺书/, text.slice(0, 400));
  assert.match(text, /材料6份/, text.slice(0, 600));
  assert.match(text, /推荐以下6名/, text.slice(0, 600));
  for (const n of ['陈秀英', '马晓燕', '黄建华']) assert.ok(text.includes(n), `${n} is not in the letter`);
  assert.ok(!text.includes('曲靖某'));

  const edu = await api(srv, 'GET', `/api/v1/exports/letter.pdf?program=${EDU}&org=${GD}`, { token: S.km.token });
  expectStatus(edu, 200);
  const et = (await pdfText(edu.bytes)).replace(/\s+/g, '');
  assert.match(et, /学历提升补助推荐承诺书/);
  // 附件3's line under the title, as in the official form
  assert.ok(et.includes('（由申报人所在单位工会或乡镇街道工会负责填写盖章，并报县级总工会或省级产业系统公司工会审核盖章）'), et.slice(0, 300));
  assert.match(et, /材料4份/);
});

/** The plain filename="…" and the decoded filename*=UTF-8''… of a Content-Disposition. */
function downloadNames(res) {
  const cd = res.headers.get('content-disposition') ?? '';
  const plain = /filename="([^"]*)"/.exec(cd)?.[1];
  const star = /filename\*=UTF-8''([^;]*)/.exec(cd)?.[1];
  return { cd, plain, utf8: star === undefined ? undefined : decodeURIComponent(star) };
}

test('downloads: filename* keeps the Chinese name; the plain filename is a meaningful ASCII name', async (t, srv) => {
  const cases = [
    [`summary.xlsx?program=${SKILL}&org=${GD}`, S.km, `summary-${SKILL}-${GD}.xlsx`, /^汇总表-.+-yn2022-skill\.xlsx$/],
    [`letter.pdf?program=${SKILL}&org=${GD}`, S.km, `letter-${SKILL}-${GD}.pdf`, /^推荐承诺书-.+-yn2022-skill\.pdf$/],
    [`approved.xlsx?program=${SKILL}`, S.finance, `approved-${SKILL}-yn.xlsx`, /^终审通过名单-yn2022-skill\.xlsx$/],
  ];
  for (const [q, who, plain, utf8] of cases) {
    const res = await api(srv, 'GET', `/api/v1/exports/${q}`, { token: who.token });
    expectStatus(res, 200);
    const n = downloadNames(res);
    assert.match(n.cd, /^attachment;/, n.cd);
    assert.equal(n.plain, plain, `plain filename of ${q}: ${n.cd}`);
    assert.match(n.utf8 ?? '', utf8, `filename* of ${q}: ${n.cd}`);
  }
});

test('exports refuse: outside the subtree 404, no session 401, a reviewer cannot read approved.xlsx', async (t, srv) => {
  for (const f of ['summary.xlsx', 'letter.pdf']) {
    expectError(await api(srv, 'GET', `/api/v1/exports/${f}?program=${SKILL}&org=${U.qj}`, { token: S.km.token }), 404);
    expectError(await api(srv, 'GET', `/api/v1/exports/${f}?program=${SKILL}&org=${U.qilin1}`, { token: S.gd1.token }), 404);
    expectError(await api(srv, 'GET', `/api/v1/exports/${f}?program=${SKILL}&org=${GD}`), 401);
    expectError(await api(srv, 'GET', `/api/v1/exports/${f}?program=no-such-program&org=${GD}`, { token: S.km.token }), 404);
  }
  expectError(await api(srv, 'GET', `/api/v1/exports/approved.xlsx?program=${SKILL}`, { token: S.km.token }), 403);
  expectError(await api(srv, 'GET', `/api/v1/exports/approved.xlsx?program=${SKILL}`, { token: S.gd1.token }), 403);
  const fin = await api(srv, 'GET', `/api/v1/exports/approved.xlsx?program=${SKILL}`, { token: S.finance.token });
  expectStatus(fin, 200);
  const rows = readXlsx(fin.bytes);
  const { index } = headerOf(rows, ['姓名', '身份证号码']);
  assert.equal(dataRows(rows, index).length, 0, 'nothing is approved yet');
});

test('every export is audited', async (t, srv) => {
  const entries = await auditEntries(srv, S.auditor.token);
  const exports = entries.filter((e) => /^export/.test(e.action ?? ''));
  assert.ok(exports.some((e) => e.actor === 'km-reviewer' && String(e.target).includes(GD)), JSON.stringify(exports.slice(0, 5)));
  assert.ok(exports.some((e) => e.actor === 'finance'), 'the approved.xlsx export is not audited');
  assert.ok(exports.some((e) => /letter/.test(e.action + e.target)), 'the letter export is not audited');
  const text = JSON.stringify(entries);
  for (const p of [...P.tech, ...P.formula]) assert.ok(!text.includes(p.idn), 'a full ID number in the audit log');
});

test('letter.pdf counts what it was sent apart from what it recommends: a rejected one was received, a withdrawn one was not', async (t, srv) => {
  if (!hasPdftotext) {
    t.diagnostic('pdftotext not installed: the text of the letter was not checked');
    return;
  }
  const letter = async () => {
    const res = await api(srv, 'GET', `/api/v1/exports/letter.pdf?program=${SKILL}&org=${GD}`, { token: S.km.token });
    expectStatus(res, 200);
    return (await pdfText(res.bytes)).replace(/\s+/g, '');
  };
  const rej = await api(srv, 'POST', `/api/v1/review/applications/${P.tech[0].app.id}/decision`,
    { token: S.gd1.token, json: { decision: 'reject', reason: '证书不属于本年度取得' } });
  expectStatus(rej, 200);
  let text = await letter();
  assert.match(text, /申报材料6份/, text.slice(0, 600));
  assert.match(text, /推荐以下5名/, text.slice(0, 600));
  const wd = await api(srv, 'POST', `/api/v1/applications/${P.tech[1].app.id}/withdraw`, { token: P.tech[1].token });
  expectStatus(wd, 200);
  text = await letter();
  assert.match(text, /申报材料5份/, text.slice(0, 600));
  assert.match(text, /推荐以下4名/, text.slice(0, 600));
});
