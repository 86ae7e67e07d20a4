// The console end to end: a base-union reviewer logs in, finds a submitted
// application in the queue, opens it, reveals the full ID (audited), passes
// it, passes two more in one batch, publishes the base-level publicity and
// downloads the summary table; an expired session goes back to the login
// page; administrators, the auditor and finance open their pages. Every page
// is photographed at 1366×900 into output/.

import assert from 'node:assert/strict';
import { test, before, after } from 'node:test';
import {
  startServer,
  demoBaseUnion,
  submitApplication,
  launchBrowser,
  newPage,
  screenshot,
  consoleLogin,
  errorToasts,
  pickProgram,
  queueRow,
  loadSmallProgram,
  api,
  show,
  phone,
  smsCodeFor,
  STAFF_PASSWORD,
  BASE_PASSWORD,
} from './lib.mjs';

const base = demoBaseUnion();
let srv;
let browser;
let page; // the base-union reviewer's tab, shared by the tests in order
const apps = {};

before(async () => {
  srv = await startServer({ baseOrg: base.code });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});


test('a base-union reviewer finds a submitted application, reveals the ID and passes it', async () => {
  apps.one = await submitApplication(srv, base.code, { name: '李秀英' });
  page = await newPage(browser);

  await consoleLogin(page, srv, 'base1', BASE_PASSWORD, '01-login');
  assert.match(await page.textContent('[data-test=staff-org]'), new RegExp(base.name));
  assert.match(await page.textContent('[data-test=staff-role]'), /审核人员/);

  // The queue opens at the base union's own stage, limited to what it can act on.
  await page.waitForSelector('[data-test=queue-table]');
  await pickProgram(page, '技能等级晋升补助');
  const row = queueRow(page, '李秀英');
  await row.first().waitFor({ timeout: 15000 });
  const rowText = await row.first().textContent();
  assert.ok(!rowText.includes(apps.one.fields.id_number), 'the queue shows the full ID number');
  assert.match(rowText, /已提交，待初审/);
  await screenshot(page, '02-queue');

  await row.first().locator('[data-test=app-name]').click();
  await page.waitForSelector('[data-test=detail-status]');
  assert.match(await page.textContent('[data-test=detail-status]'), /已提交，待初审/);
  assert.match(await page.textContent('[data-test=detail-quota]'), /已进入名额/);
  const masked = (await page.textContent('[data-test=id-number]')).trim();
  assert.notEqual(masked, apps.one.fields.id_number, 'the detail shows the full ID before reveal');
  await screenshot(page, '03-detail');

  // 查看完整证件号: a confirmation, then the full number and a note that the view is recorded.
  await page.click('[data-test=reveal]');
  await page.locator('.el-message-box button', { hasText: '确定查看' }).click();
  await page.waitForSelector('[data-test=reveal-note]');
  assert.equal((await page.textContent('[data-test=id-number]')).trim(), apps.one.fields.id_number);
  await screenshot(page, '04-detail-revealed');

  // The decision dialog: 不通过 needs a reason; 退回补正 lists items and a deadline; then 通过.
  await page.click('[data-test=open-decision]');
  const dialog = page.locator('.el-dialog', { hasText: '审核决定' });
  await dialog.waitFor();
  await dialog.locator('[data-test=decision-reject]').click();
  await dialog.locator('[data-test=decision-submit]').click();
  await dialog.locator('.el-form-item__error', { hasText: '不通过必须填写原因' }).waitFor();
  await screenshot(page, '05-decision-reject-needs-reason');
  await dialog.locator('[data-test=decision-return]').click();
  await dialog.locator('input[data-test=return-item-0], [data-test=return-item-0] input').fill('申报表未加盖单位工会公章');
  await screenshot(page, '06-decision-return');
  await dialog.locator('[data-test=decision-pass]').click();
  await dialog.locator('textarea[data-test=decision-reason], [data-test=decision-reason] textarea').fill('材料齐全，符合申报条件');
  await screenshot(page, '07-decision-pass');
  await dialog.locator('[data-test=decision-submit]').click();

  await page.waitForFunction(
    () => /初审通过/.test(document.querySelector('[data-test=detail-status]')?.textContent || ''),
    null,
    { timeout: 15000 },
  );
  await page.locator('[data-test=history]', { hasText: '审核通过' }).waitFor();
  assert.equal(await page.locator('[data-test=open-decision]').count(), 0, 'still offered a decision after passing');
  await screenshot(page, '08-detail-passed');

  // The applicant sees the new status too.
  const mine = await api(srv, 'GET', `/api/v1/applications/${apps.one.id}`, { token: apps.one.token });
  assert.equal(mine.status, 200, show(mine));
  const app = mine.body.application ?? mine.body;
  assert.equal(app.status, 'initial_passed', show(mine));
  assert.deepEqual(await errorToasts(page), []);
  assert.deepEqual(page.errors, []);
});

test('the reviewer passes a batch from the queue with progress', async () => {
  assert.ok(page, 'the first test did not log in');
  apps.two = await submitApplication(srv, base.code, { name: '王建华' });
  apps.three = await submitApplication(srv, base.code, { name: '赵志强' });

  await page.goto(srv.base + '/console/queue?program=yn2022-skill');
  await (queueRow(page, '赵志强')).first().waitFor({ timeout: 15000 });
  assert.equal(await (queueRow(page, '李秀英')).count(), 0, 'a passed application is still in the actionable queue');
  for (const name of ['王建华', '赵志强']) {
    await (queueRow(page, name)).first().locator('.el-checkbox').click();
  }
  await page.locator('[data-test=batch-pass]').click();
  const dialog = page.locator('.el-dialog', { hasText: '批量通过' });
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /2\s*条申报/);
  await screenshot(page, '09-batch-confirm');
  await dialog.locator('[data-test=batch-confirm]').click();
  await dialog.locator('button', { hasText: '完成' }).waitFor({ timeout: 30000 });
  const text = await dialog.textContent();
  assert.match(text, /已处理 2 \/ 2 条：成功 2 条，失败 0 条/, text);
  assert.doesNotMatch(text, /未通过/, 'a batch result must not read 未通过 (a rejection in this domain)');
  await screenshot(page, '10-batch-done');
  await dialog.locator('button', { hasText: '完成' }).click();

  for (const a of [apps.two, apps.three]) {
    const r = await api(srv, 'GET', `/api/v1/applications/${a.id}`, { token: a.token });
    assert.equal((r.body.application ?? r.body).status, 'initial_passed', show(r));
  }
  await page.locator('[data-test=queue-table] .el-table__empty-text').waitFor({ timeout: 15000 });
  await screenshot(page, '11-queue-empty');
});

test('the reviewer publishes the base-level publicity and downloads the summary table', async () => {
  assert.ok(page, 'the first test did not log in');
  await page.goto(srv.base + '/console/publicity?program=yn2022-skill');
  await page.click('[data-test=new-publicity]');
  const dialog = page.locator('.el-dialog', { hasText: '新建公示' });
  await dialog.waitFor();
  await dialog.locator('text=/3\\s*人/').waitFor({ timeout: 10000 });
  await screenshot(page, '12-publicity-new');
  await dialog.locator('[data-test=publicity-create]').click();
  await page.waitForURL(/\/console\/publicity\/[^/?]+$/, { timeout: 15000 });
  const entries = page.locator('[data-test=entries]');
  for (const name of ['李秀英', '王建华', '赵志强']) await entries.locator('text=' + name).first().waitFor({ timeout: 15000 });
  const listed = await entries.textContent();
  for (const a of [apps.one, apps.two, apps.three]) assert.ok(!listed.includes(a.fields.id_number), 'full ID in the publicity list');
  const href = await page.getAttribute('[data-test=public-link]', 'href');
  assert.match(href, /\/public\/publicity\/[^/]+$/);
  const pub = await fetch(href);
  assert.equal(pub.status, 200, `GET ${href} → ${pub.status}`);
  await screenshot(page, '13-publicity-detail');
  await publicPageObjection(href, '王建华');
  // the console lists the objection to investigate
  await page.reload();
  await page.locator('[data-test=objections]', { hasText: '周文静' }).waitFor({ timeout: 15000 });

  await page.goto(srv.base + '/console/publicity?program=yn2022-skill');
  await page.locator('[data-test=publicity-table] .el-table__body tr').first().waitFor();
  await screenshot(page, '14-publicity-list');

  await page.goto(srv.base + '/console/exports');
  await page.waitForSelector('[data-test=export-summary]');
  await page.click('.page .el-select');
  await page.locator('.el-select-dropdown__item:visible', { hasText: '技能等级晋升补助' }).first().click();
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), page.click('[data-test=export-summary]')]);
  assert.match(download.suggestedFilename(), /\.xlsx$/);
  const file = await download.path();
  const { size } = await import('node:fs').then((fs) => fs.promises.stat(file));
  assert.ok(size > 1000, `summary.xlsx is only ${size} bytes`);
  await screenshot(page, '15-exports');
  assert.deepEqual(page.errors, []);
});

/**
 * The public page on a phone (390 px): one readable card per person, and the
 * 我要提出异议 form (real name, phone, SMS code, content) that files an
 * objection against one entry. The page is the h5 app's /public/publicity/:id;
 * while the server still answers that address with its own HTML page, the
 * app's route is reached by navigating inside the app.
 */
async function publicPageObjection(href, about) {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', isMobile: true, hasTouch: true });
  const m = await ctx.newPage();
  const errors = [];
  m.on('pageerror', (e) => errors.push(e.message));
  try {
    // the public page (the server's HTML) fits the phone and leads to the form
    await m.goto(href);
    assert.ok((await m.evaluate(() => document.documentElement.scrollWidth)) <= 390, 'the public page is wider than the phone');
    assert.equal(await m.getByText('POST /api/').count(), 0, 'raw API text on the public page');
    await m.locator('[data-testid=objection-link]').tap();
    await m.waitForURL(/\/public\/publicity\/[^/]+\/objection$/);
    const cards = m.locator('[data-testid=entry]');
    await cards.first().waitFor({ timeout: 15000 });
    assert.equal(await cards.count(), 3);
    assert.ok((await m.evaluate(() => document.documentElement.scrollWidth)) <= 390, 'the public list is wider than the phone');
    for (const name of ['李秀英', '王建华', '赵志强']) {
      const n = m.locator('[data-testid=entry] .e-name', { hasText: name });
      const box = await n.boundingBox();
      assert.ok(box.height < 30 && box.width > 60, `${name} is squeezed: ${JSON.stringify(box)}`);
    }
    assert.equal(await m.getByText('POST /api/').count(), 0, 'raw API text on the public page');
    await screenshot(m, '13b-public-publicity');

    const card = cards.filter({ hasText: about });
    await card.getByRole('button', { name: '对此人提出异议' }).tap();
    await m.getByLabel('真实姓名').fill('周文静');
    const ph = phone();
    await m.getByLabel('手机号码').fill(ph);
    await m.getByRole('button', { name: '获取验证码' }).tap();
    await m.getByText('验证码已发送至').waitFor();
    let code = null;
    for (let i = 0; i < 100 && !code; i++) {
      code = smsCodeFor(srv, ph);
      if (!code) await m.waitForTimeout(50);
    }
    assert.ok(code, 'no objection code by SMS');
    await m.getByLabel('异议内容').fill('该职工本年度并未参加技能培训，请核实。');
    await m.getByLabel('验证码').fill(code === '000000' ? '111111' : '000000');
    await m.getByRole('button', { name: '提交异议' }).tap();
    await m.getByText('验证码错误或已失效').waitFor();
    await m.getByLabel('验证码').fill(code);
    await m.getByRole('button', { name: '提交异议' }).tap();
    const done = m.locator('[data-testid=objection-done]');
    await done.waitFor({ timeout: 15000 });
    assert.match(await done.innerText(), new RegExp('异议已提交[\\s\\S]*' + about));
    await screenshot(m, '13c-public-objection-done');
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
}

test('rejecting with a reason moves the first waitlisted application up (依序递补)', async () => {
  assert.ok(page, 'the first test did not log in');
  await loadSmallProgram(srv, 'yn-small', 1, 2);
  const first = await submitApplication(srv, base.code, { name: '冯雪梅' }, 'yn-small');
  const second = await submitApplication(srv, base.code, { name: '郑国强' }, 'yn-small');
  assert.equal(first.quota, 'queued');
  assert.equal(second.quota, 'waitlisted');

  await page.goto(srv.base + '/console/queue?program=yn-small');
  const row = queueRow(page, '郑国强').first();
  await row.waitFor({ timeout: 15000 });
  assert.match(await row.textContent(), /候补/);
  await queueRow(page, '冯雪梅').first().locator('[data-test=app-name]').click();
  await page.click('[data-test=open-decision]');
  const dialog = page.locator('.el-dialog', { hasText: '审核决定' });
  await dialog.locator('[data-test=decision-reject]').click();
  await dialog.locator('textarea[data-test=decision-reason], [data-test=decision-reason] textarea').fill('职业技能等级证书非本年度取得，不符合申报条件');
  await dialog.locator('[data-test=decision-submit]').click();
  await page.waitForFunction(() => /不通过/.test(document.querySelector('[data-test=detail-status]')?.textContent || ''), null, { timeout: 15000 });
  await page.locator('[data-test=history]', { hasText: '职业技能等级证书非本年度取得' }).waitFor();
  await screenshot(page, '16-detail-rejected');

  await page.goto(srv.base + '/console/applications/' + second.id);
  await page.locator('[data-test=backfill]').waitFor({ timeout: 15000 });
  assert.match(await page.textContent('[data-test=detail-quota]'), /已进入名额/);
  assert.match(await page.textContent('[data-test=backfill]'), /依序递补/);
  await screenshot(page, '17-detail-backfilled');
  assert.deepEqual(page.errors, []);
});

test('an expired session goes back to the login page', async () => {
  assert.ok(page, 'the first test did not log in');
  await page.goto(srv.base + '/console/queue');
  await page.waitForSelector('[data-test=queue-table]');
  await page.evaluate(() => sessionStorage.setItem('tisheng.console.token', 'expired-token-0000000000000000'));
  await page.locator('.toolbar button', { hasText: '刷新' }).click();
  await page.waitForURL(/\/console\/login/, { timeout: 10000 });
  await page.waitForSelector('input[name=username]');
  await page.context().close();
});

test('administrator, auditor and finance pages', async () => {
  const admin = await newPage(browser);
  await consoleLogin(admin, srv, 'admin', STAFF_PASSWORD);
  await admin.goto(srv.base + '/console/queue?program=yn2022-skill&stage=all&actionable=0');
  await (queueRow(admin, '李秀英')).first().waitFor({ timeout: 15000 });
  await screenshot(admin, '18-admin-queue-all');
  await admin.goto(srv.base + '/console/approval?program=yn2022-skill');
  await admin.waitForSelector('[data-test=approve]');
  await screenshot(admin, '19-approval');
  await admin.goto(srv.base + '/console/audit');
  await admin.locator('[data-test=audit-table] .el-table__body tr').first().waitFor({ timeout: 15000 });
  await screenshot(admin, '20-audit-admin');
  await admin.goto(srv.base + '/console/account');
  await admin.waitForSelector('text=两步验证');
  await screenshot(admin, '21-account');
  assert.deepEqual(await errorToasts(admin), []);
  assert.deepEqual(admin.errors, []);
  await admin.context().close();

  const auditor = await newPage(browser);
  await consoleLogin(auditor, srv, 'auditor', STAFF_PASSWORD);
  await auditor.waitForURL(/\/console\/audit/);
  const rows = auditor.locator('[data-test=audit-table] .el-table__body tr');
  await rows.first().waitFor({ timeout: 15000 });
  const audit = await auditor.textContent('[data-test=audit-table]');
  assert.match(audit, /base1/, 'the audit log does not name the reviewer');
  for (const a of [apps.one, apps.two, apps.three]) assert.ok(!audit.includes(a.fields.id_number), 'full ID in the audit log');
  await screenshot(auditor, '22-audit');
  assert.deepEqual(await errorToasts(auditor), []);
  await auditor.context().close();

  const finance = await newPage(browser);
  await consoleLogin(finance, srv, 'finance', STAFF_PASSWORD);
  await finance.waitForURL(/\/console\/exports/);
  await finance.waitForSelector('[data-test=export-approved]');
  await screenshot(finance, '23-finance-exports');
  assert.deepEqual(finance.errors, []);
  await finance.context().close();
});
