// The whole pipeline through the console, on a server with the test clock
// (serve --test-clock): base-union initial review, base publicity with a
// dismissed and an upheld objection, closing after the end date, prefecture
// re-check, provincial review, provincial publicity, the administrator
// enabling TOTP and approving the batch, finance downloading the approved
// list. Screenshots go to output/ as p-*.png.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test, before, after } from 'node:test';
import {
  startServer,
  demoBaseUnion,
  submitApplication,
  launchBrowser,
  newPage,
  screenshot,
  consoleLogin,
  consoleLogout,
  queueRow,
  confirmBox,
  errorToasts,
  shiftClock,
  serverNowMs,
  totp,
  api,
  show,
  sleep,
  STAFF_PASSWORD,
  BASE_PASSWORD,
} from './lib.mjs';

const base = demoBaseUnion();
const DAY = 86400;
let srv;
let browser;
let clock = true;
const apps = {};

before(async () => {
  srv = await startServer({ baseOrg: base.code, extraArgs: ['--test-clock'] });
  browser = await launchBrowser();
  clock = await shiftClock(srv, 0);
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

/** An application's status as the province sees it (applicant sessions end after 7 idle days of test clock). */
async function statusOf(a) {
  const l = await api(srv, 'POST', '/api/v1/staff/login', { json: { username: 'yn-reviewer', password: STAFF_PASSWORD } });
  assert.equal(l.status, 200, show(l));
  const r = await api(srv, 'GET', `/api/v1/review/applications/${a.id}`, { token: l.body.token });
  assert.equal(r.status, 200, show(r));
  return (r.body.application ?? r.body).status;
}

/** Selects every row of the queue page and passes them in one batch. */
async function passAllOnPage(page, expected, shot) {
  await queueRow(page, apps.a.fields.name).first().waitFor({ timeout: 15000 });
  assert.equal(await page.locator('[data-test=queue-table] .el-table__body tr').count(), expected);
  await page.locator('[data-test=queue-table] .el-table__header .el-checkbox').click();
  await page.locator('[data-test=batch-pass]').click();
  const dialog = page.locator('.el-dialog', { hasText: '批量通过' });
  await dialog.locator('[data-test=batch-confirm]').click();
  await dialog.locator('button', { hasText: '完成' }).waitFor({ timeout: 30000 });
  assert.match(await dialog.textContent(), new RegExp(`成功 ${expected} 条，失败 0 条`));
  if (shot) await screenshot(page, shot);
  await dialog.locator('button', { hasText: '完成' }).click();
  await page.locator('[data-test=queue-table] .el-table__empty-text').waitFor({ timeout: 15000 });
}

/** Creates the publicity the signed-in union is responsible for, with the default dates; returns its page URL. */
async function publish(page, expected, shot) {
  await page.goto(srv.base + '/console/publicity?program=yn2022-skill');
  await page.click('[data-test=new-publicity]');
  const dialog = page.locator('.el-dialog', { hasText: '新建公示' });
  await dialog.locator(`text=/${expected}\\s*人/`).waitFor({ timeout: 10000 });
  if (shot) await screenshot(page, shot);
  await dialog.locator('[data-test=publicity-create]').click();
  await page.waitForURL(/\/console\/publicity\/[^/?]+$/, { timeout: 15000 });
  await page.locator('[data-test=entries] .el-table__body tr').nth(expected - 1).waitFor();
  return page.url();
}

/**
 * Moves the clock past the end date and closes the publicity open in `page`.
 * Six days on, the staff session may have expired: then the console shows the
 * login page, and signing in again comes back to the publicity.
 */
async function closeAfterEnd(page, url, shot, [username, password]) {
  assert.equal(await page.locator('[data-test=close-publicity]').isDisabled(), true, 'could close before the end date');
  assert.ok(await shiftClock(srv, 6 * DAY));
  await page.goto(url);
  await page.waitForSelector('[data-test=close-publicity], input[name=username]');
  if (await page.locator('input[name=username]').count()) {
    await page.fill('input[name=username]', username);
    await page.fill('input[name=password]', password);
    await page.click('button[type=submit]');
  }
  const btn = page.locator('[data-test=close-publicity]');
  await btn.waitFor();
  await page.waitForFunction(() => !document.querySelector('[data-test=close-publicity]')?.disabled, null, { timeout: 10000 });
  await btn.click();
  await confirmBox(page, '结束公示');
  await page.locator('.el-tag', { hasText: '已结束' }).first().waitFor({ timeout: 15000 });
  if (shot) await screenshot(page, shot);
}

let current = null; // the page in use, photographed when the test fails

test('from submission to the approved list, through the console', async (t) => {
  try {
    await pipeline(t);
  } catch (err) {
    if (current) await screenshot(current, 'p-failure').catch(() => {});
    throw err;
  }
});

async function pipeline(t) {
  if (!clock) {
    t.skip('the server has no test clock (serve --test-clock): publicity cannot be closed in a test');
    return;
  }
  apps.a = await submitApplication(srv, base.code, { name: '周文斌' });
  apps.b = await submitApplication(srv, base.code, { name: '吴海燕', gender: '女' });
  apps.c = await submitApplication(srv, base.code, { name: '郑国强' });

  // 1. The base union passes all three and publishes its list.
  const page = await newPage(browser);
  current = page;
  await consoleLogin(page, srv, 'base1', BASE_PASSWORD);
  await page.goto(srv.base + '/console/queue?program=yn2022-skill');
  await passAllOnPage(page, 3, 'p01-base-batch');
  const pubUrl = await publish(page, 3, 'p02-base-publicity-new');

  // Two real-name objections from the public page's API: one dismissed, one upheld.
  const pub = await api(srv, 'GET', '/api/v1/public/publicity/' + pubUrl.split('/').pop());
  assert.equal(pub.status, 200, show(pub));
  const entryOf = (name) => pub.body.entries.find((e) => e.name === name);
  for (const [name, text] of [
    ['吴海燕', '该职工的证书编号在查询网站上查不到。'],
    ['郑国强', '该职工的技师证书是去年取得的，不符合今年的申报条件。'],
  ]) {
    const ph = '137' + String(Math.floor(Math.random() * 1e8)).padStart(8, '0');
    const s = await api(srv, 'POST', '/api/v1/auth/sms-code', { json: { phone: ph, purpose: 'objection' } });
    assert.equal(s.status, 200, show(s));
    let code = null;
    for (let i = 0; i < 100 && !code; i++) {
      const lines = fs.existsSync(srv.sms) ? fs.readFileSync(srv.sms, 'utf8').trim().split('\n') : [];
      code = lines.map((l) => JSON.parse(l)).filter((l) => l.phone === ph).pop()?.code ?? null;
      if (!code) await sleep(50);
    }
    const e = entryOf(name);
    const o = await api(srv, 'POST', `/api/v1/public/publicity/${pub.body.id}/objections`, {
      json: { entry: e.seq ?? e.entry, name: '张三', phone: ph, code, text },
    });
    assert.ok(o.status === 200 || o.status === 201, show(o));
  }
  await page.goto(pubUrl);
  const objections = page.locator('[data-test=objections] .el-table__body tr');
  await objections.nth(1).waitFor({ timeout: 15000 });
  for (const [name, finding, note] of [
    ['吴海燕', '不属实', '经核实，证书可在人社部门网站查询，举报不属实。'],
    ['郑国强', '属实', '经核实，证书发证日期为上一年度，不符合申报条件。'],
  ]) {
    await objections.filter({ hasText: name }).locator('button', { hasText: '调查' }).click();
    const dialog = page.locator('.el-dialog', { hasText: '举报调查' });
    await dialog.locator('.el-radio', { hasText: new RegExp(`^${finding}$`) }).click();
    await dialog.locator('textarea').fill(note);
    if (finding === '属实') await screenshot(page, 'p03-investigation');
    await dialog.locator('button', { hasText: '提交调查结论' }).click();
    await objections.filter({ hasText: name }).locator('.el-tag', { hasText: finding }).waitFor({ timeout: 15000 });
  }
  assert.equal(await statusOf(apps.c), 'cancelled');
  await closeAfterEnd(page, pubUrl, 'p04-base-publicity-closed', ['base1', BASE_PASSWORD]);
  assert.equal(await statusOf(apps.a), 'base_publicized');
  assert.equal(await statusOf(apps.b), 'base_publicized');
  assert.deepEqual(page.errors, []);
  await page.context().close();

  // 2. The prefecture union re-checks; 3. the province reviews and publishes.
  const km = await newPage(browser);
  current = km;
  await consoleLogin(km, srv, 'km-reviewer', STAFF_PASSWORD);
  await km.goto(srv.base + '/console/queue?program=yn2022-skill');
  await passAllOnPage(km, 2, 'p05-recheck-batch');
  assert.equal(await statusOf(apps.a), 'rechecked');
  await km.context().close();

  const yn = await newPage(browser);
  current = yn;
  await consoleLogin(yn, srv, 'yn-reviewer', STAFF_PASSWORD);
  await yn.goto(srv.base + '/console/queue?program=yn2022-skill');
  await queueRow(yn, '周文斌').first().locator('[data-test=app-name]').click();
  await yn.click('[data-test=open-decision]');
  const dialog = yn.locator('.el-dialog', { hasText: '审核决定' });
  await dialog.locator('[data-test=decision-submit]').click();
  await yn.waitForFunction(() => /省总审核通过/.test(document.querySelector('[data-test=detail-status]')?.textContent || ''), null, {
    timeout: 15000,
  });
  await screenshot(yn, 'p06-province-passed');
  await yn.goto(srv.base + '/console/queue?program=yn2022-skill');
  await queueRow(yn, '吴海燕').first().locator('[data-test=app-name]').click();
  await yn.click('[data-test=open-decision]');
  await dialog.locator('[data-test=decision-submit]').click();
  await yn.waitForFunction(() => /省总审核通过/.test(document.querySelector('[data-test=detail-status]')?.textContent || ''), null, {
    timeout: 15000,
  });
  const provUrl = await publish(yn, 2, 'p07-province-publicity-new');
  await closeAfterEnd(yn, provUrl, 'p08-province-publicity-closed', ['yn-reviewer', STAFF_PASSWORD]);
  assert.equal(await statusOf(apps.b), 'province_publicized');
  await yn.context().close();

  // 4. The administrator turns on TOTP, signs in again with it, and approves the batch.
  const admin = await newPage(browser);
  current = admin;
  await consoleLogin(admin, srv, 'admin', STAFF_PASSWORD);
  await admin.goto(srv.base + '/console/approval?program=yn2022-skill');
  await admin.locator('text=终审须启用两步验证').waitFor();
  assert.equal(await admin.locator('[data-test=approve]').isDisabled(), true);
  await admin.goto(srv.base + '/console/account');
  await admin.click('[data-test=totp-setup]');
  const secret = (await admin.textContent('[data-test=totp-secret]')).replace(/\s+/g, '');
  assert.match(secret, /^[A-Z2-7]{16,}$/);
  await admin.locator('[data-test=totp-qr] svg').waitFor();
  await screenshot(admin, 'p09-totp-setup');
  await admin.fill('input[data-test=totp-code], [data-test=totp-code] input', totp(secret, await serverNowMs(srv)));
  await admin.click('[data-test=totp-enable]');
  await admin.locator('.el-tag', { hasText: '已启用' }).waitFor({ timeout: 10000 });
  await consoleLogout(admin);

  await admin.fill('input[name=username]', 'admin');
  await admin.fill('input[name=password]', STAFF_PASSWORD);
  await admin.click('button[type=submit]');
  await admin.waitForSelector('input[name=totp]');
  await screenshot(admin, 'p10-login-totp');
  await admin.fill('input[name=totp]', totp(secret, await serverNowMs(srv)));
  await admin.click('button[type=submit]');
  await admin.waitForSelector('[data-test=staff-org]');

  await admin.goto(srv.base + '/console/approval?program=yn2022-skill');
  await admin.locator('.el-table__body tr', { hasText: '周文斌' }).waitFor({ timeout: 15000 });
  await screenshot(admin, 'p11-approval');
  await admin.click('[data-test=approve]');
  await confirmBox(admin, '确认批准');
  await admin.locator('.el-result', { hasText: '批准 2 人' }).waitFor({ timeout: 15000 });
  await screenshot(admin, 'p12-approved');
  assert.equal(await statusOf(apps.a), 'approved');
  assert.equal(await statusOf(apps.b), 'approved');
  assert.equal(await statusOf(apps.c), 'cancelled');
  assert.deepEqual(await errorToasts(admin), []);
  assert.deepEqual(admin.errors, []);
  await admin.context().close();

  // 5. Finance downloads the approved list.
  const fin = await newPage(browser);
  current = fin;
  await consoleLogin(fin, srv, 'finance', STAFF_PASSWORD);
  await fin.waitForSelector('[data-test=export-approved]');
  await fin.click('.page .el-select');
  await fin.locator('.el-select-dropdown__item:visible', { hasText: '技能等级晋升补助' }).first().click();
  const [download] = await Promise.all([fin.waitForEvent('download', { timeout: 30000 }), fin.click('[data-test=export-approved]')]);
  assert.match(download.suggestedFilename(), /\.xlsx$/);
  const size = fs.statSync(await download.path()).size;
  assert.ok(size > 1000, `approved.xlsx is only ${size} bytes`);
  await screenshot(fin, 'p13-finance-download');
  await fin.context().close();
}
