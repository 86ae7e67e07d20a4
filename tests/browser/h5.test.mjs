// The applicant's mobile pages (web/h5) against a real `tisheng serve`, driven
// through Debian's Chromium at 390×844: home with live places and countdown,
// login through the SMS file gateway (wrong code first), the schema-driven form
// filled with its pickers, a draft saved before opening, one (double) tap at the
// opening, the result with rank, 申报记录, edit, PDF download, and the
// quota_full page. Screenshots of every page go to tests/browser/output/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  initData, startServer, loadProgram, cli, launch, shot, waitForCode, smsLines, apiJson, apiLogin,
  idNumber, orgPath, sampleValues, OUT,
} from './lib.mjs';

const PHONE = '13800138000';
const OTHER = '13900139000';
const OPEN_IN_S = 75;                       // the future program opens this long after setup
const ID_A = idNumber('53010219880515123');
const ID_B = idNumber('53010219900101456');
const FUT = 'bt-future-skill';
const QUOTA = 'bt-quota-skill';
const RETRY = 'bt-retry-skill';

let srv, browser, ctx, page, fut, quota, opensAt, orgs;

before(async () => {
  const dir = initData();
  opensAt = Date.now() + OPEN_IN_S * 1000;
  fut = loadProgram(dir, 'yn2022-skill', (s) => ({ id: FUT, group: FUT, title: '浏览器测试：开放前填写草稿' }),
    `now+${OPEN_IN_S}s`, 'now+3600s');
  quota = loadProgram(dir, 'yn2022-skill', (s) => ({
    id: QUOTA, group: QUOTA, series: QUOTA, title: '浏览器测试：名额已满',
    categories: s.categories.map((c) => ({ ...c, cap: 1, places: 1 })),
  }), 'now', 'now+3600s');
  loadProgram(dir, 'yn2022-skill', () => ({ id: RETRY, group: RETRY, series: RETRY, title: '浏览器测试：应答丢失后重试' }), 'now', 'now+3600s');
  srv = await startServer(dir);
  orgs = (await apiJson(srv.base, 'GET', '/api/v1/orgs')).json.orgs;
  browser = await launch();
  ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', acceptDownloads: true, hasTouch: true, isMobile: true });
  page = await ctx.newPage();
  page.on('pageerror', (e) => console.log('[pageerror]', e.message));
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

async function schema(id) {
  const r = await apiJson(srv.base, 'GET', '/api/v1/programs/' + id);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.ok(r.json.form && Array.isArray(r.json.form.fields), 'program has form.fields');
  return r.json;
}

const exact = (s) => new RegExp('^\\s*' + s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '\\s*$');

async function pickInColumn(column, text) {
  const item = column.locator('.van-picker-column__item', { hasText: exact(text) }).first();
  await item.waitFor({ state: 'attached' });
  await item.dispatchEvent('click'); // items outside the 6 visible rows are clicked like a tap
  await page.waitForTimeout(150);
}

// Fills every field of the form with its own control: inputs are typed, select /
// date / org fields go through their pickers.
async function fillForm(fields, values, shots = false) {
  for (const f of fields) {
    const v = values[f.key];
    if (v === undefined) continue;
    const input = page.locator('#f-' + f.key);
    if (f.type === 'select') {
      await input.click();
      const popup = page.locator('.van-popup:visible');
      if (f.options.length > 12) {
        await popup.locator('input[type=search]').fill(v);
        if (shots && f.key === 'ethnicity') await shot(page, '04-picker-search');
      }
      await pickInColumn(popup.locator('.van-picker-column').first(), v);
      await popup.locator('.van-picker__confirm').click();
    } else if (f.type === 'date') {
      await input.click();
      const popup = page.locator('.van-popup:visible');
      const [y, m, d] = v.split('-');
      const cols = popup.locator('.van-picker-column');
      await pickInColumn(cols.nth(0), y + '年');
      await pickInColumn(cols.nth(1), m + '月');
      await pickInColumn(cols.nth(2), d + '日');
      if (shots) await shot(page, '05-picker-date');
      await popup.locator('.van-picker__confirm').click();
    } else if (f.type === 'org') {
      await input.click();
      const path = orgPath(orgs);
      for (const o of path) {
        await page.locator('.van-cascader__option:visible', { hasText: exact(o.name) }).first().click();
        await page.waitForTimeout(200);
        if (shots && o === path[path.length - 2]) await shot(page, '06-picker-union');
      }
    } else {
      await input.fill(String(v));
      await input.blur();
    }
    await page.locator('.van-popup:visible').waitFor({ state: 'hidden' }).catch(() => {});
    if (f.type === 'select' || f.type === 'date') assert.equal(await input.inputValue(), String(v), f.key);
    if (f.type === 'org') assert.equal(await input.inputValue(), orgs.find((o) => o.code === v).name, f.key);
  }
}

async function noHorizontalScroll(width) {
  await page.setViewportSize({ width, height: 844 });
  await page.waitForTimeout(300);
  const sw = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.setViewportSize({ width: 390, height: 844 });
  return sw;
}

test('home: programs, live places, countdown from the server clock, JS budget', async () => {
  const scripts = [];
  page.on('response', (r) => { if (r.request().resourceType() === 'script') scripts.push(r); });
  await page.goto(srv.base + '/');
  const card = page.locator(`[data-program="${FUT}"]`);
  await card.waitFor();
  await assert.doesNotReject(card.locator('[data-testid=countdown]').waitFor(), 'countdown shown before opening');
  const cd = await card.locator('[data-testid=countdown]').innerText();
  assert.match(cd, /^\d{2}:\d{2}:\d{2}$/);
  for (const c of fut.categories) {
    assert.equal(await card.locator(`[data-remaining="${c.code}"]`).innerText(), String(c.places));
  }
  await page.waitForLoadState('networkidle');
  let gz = 0, raw = 0;
  for (const r of scripts) {
    const b = await r.body();
    raw += b.length;
    gz += gzipSync(b, { level: 9 }).length;
  }
  page.removeAllListeners('response');
  console.log(`# home page JavaScript: ${scripts.length} files, ${raw} B, gzip ${gz} B (${(gz / 1024).toFixed(1)} KB)`);
  assert.ok(gz < 200 * 1024, 'home page JS under 200 KB gzip: ' + gz);
  // A favicon for both apps: no 404 for /favicon.ico on any page.
  for (const [path, type] of [['/favicon.ico', 'image/x-icon'], ['/favicon.svg', 'image/svg+xml'], ['/console/favicon.svg', 'image/svg+xml']]) {
    const r = await fetch(srv.base + path);
    assert.equal(r.status, 200, 'GET ' + path);
    assert.equal(r.headers.get('content-type'), type, path);
  }
  assert.equal(await page.locator('link[rel=icon][href="/favicon.svg"]').count(), 1, 'h5 links its favicon');
  await shot(page, '01-home');
  assert.ok(await noHorizontalScroll(360) <= 360, 'home fits 360 px');
  await page.setViewportSize({ width: 360, height: 780 });
  await shot(page, '01-home-360');
  await page.setViewportSize({ width: 390, height: 844 });
});

test('login: wrong code is explained, right code logs in and returns to the form', async () => {
  await page.locator(`[data-program="${FUT}"]`).getByRole('button', { name: /申报名额/ }).click();
  await page.waitForURL(/\/login\?/);
  // A mistake first: a short number, then on to the code field, which shows the
  // message under the phone field. Correcting the number and tapping 获取验证码
  // once must send the code: the button must not move under the finger (the
  // message used to vanish on that tap's blur and the tap missed).
  const phoneInput = page.getByLabel('手机号码');
  await phoneInput.tap();
  await page.keyboard.type('1380013');
  await page.getByLabel('验证码').tap();
  await page.getByText('手机号码格式不正确').waitFor();
  // typed as people paste it: the code goes to the 11 digits
  await phoneInput.fill(`+86 ${PHONE.slice(0, 3)}-${PHONE.slice(3, 7)}-${PHONE.slice(7)}`);
  const smsBtn = page.getByRole('button', { name: '获取验证码' });
  const y0 = (await smsBtn.boundingBox()).y;
  const before = smsLines(srv.sms).length;
  await smsBtn.tap();
  const code = await waitForCode(srv.sms, PHONE, before);
  assert.equal((await page.locator('.sms-btn').boundingBox()).y, y0, 'the 获取验证码 button moved');
  await page.getByRole('button', { name: /秒后重新获取/ }).waitFor();
  await shot(page, '02-login');
  const wrong = code === '000000' ? '111111' : '000000';
  await page.getByLabel('验证码').fill(wrong);
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('alert').filter({ hasText: '验证码错误' }).waitFor();
  // said once, under the code field; the "sent" note above is stale now
  assert.equal(await page.getByText(/验证码错误/).count(), 1, 'the wrong-code message is shown once');
  assert.equal(await page.getByText('验证码已发送至').count(), 0, 'stale 验证码已发送 note');
  await shot(page, '03-login-wrong-code');
  await page.getByLabel('验证码').fill(code);
  await page.getByRole('button', { name: '登录' }).click();
  // The login page's own address ends in ?redirect=/apply/FUT: wait for the path itself.
  await page.waitForURL((u) => u.pathname === '/apply/' + FUT);
  const token = await page.evaluate(() => localStorage.getItem('tisheng.token'));
  assert.ok(token, 'token kept in localStorage');
});

test('form: every schema field filled with its picker, draft saved before opening', async () => {
  const p = await schema(FUT);
  const values = sampleValues(p.form.fields, { id: ID_A, orgs, phone: PHONE });
  await page.locator('#f-' + p.form.fields[0].key).waitFor();
  assert.ok(Date.now() < opensAt - 3000, 'still before opening when the form is filled');
  await page.getByRole('button', { name: /后开放/ }).waitFor(); // submit is disabled with a countdown
  await page.locator('[data-category="technician"]').click();
  // The page checks the ID number as the server does (GB 11643-1999 check digit, real birth date).
  const id = page.locator('#f-id_number');
  const wrongDigit = ID_A.slice(0, 17) + (ID_A[17] === '0' ? '1' : '0');
  await id.fill(wrongDigit);
  await id.blur();
  await page.locator('[data-key=id_number]').getByText('校验位不正确').waitFor();
  await id.fill(idNumber('53010219880231123'));
  await id.blur();
  await page.locator('[data-key=id_number]').getByText('出生日期不正确').waitFor();
  await page.locator('[data-key=id_number]').evaluate((el) => el.scrollIntoView({ block: 'center' }));
  await shot(page, '07-form-id-check');
  // A wrong e-mail, then a tap on the upper part of the union picker further
  // down: the e-mail's message (shown on blur) must not push the picker away
  // from under the finger before the tap lands.
  await page.locator('#f-email').fill('zhangsan');
  const unionCell = page.locator('.van-field', { has: page.locator('#f-union') });
  await unionCell.scrollIntoViewIfNeeded();
  await unionCell.tap({ position: { x: 200, y: 6 } });
  await page.locator('.van-cascader:visible').waitFor({ timeout: 5000 });
  await page.locator('[data-key=email]').getByText('电子邮箱格式不正确').waitFor();
  await page.locator('.van-cascader__close-icon:visible').click();
  await page.locator('.van-popup:visible').waitFor({ state: 'hidden' });
  // the program's own paper instructions (a skill subsidy: bank and training may be handwritten)
  assert.match(await page.locator('[data-testid=form-tips]').innerText(), /银行开户行及账号、参加培训的机构、时间、地点可以先不填/);
  await fillForm(p.form.fields, values, true);
  assert.equal(await page.locator('.van-field__error-message').count(), 0, 'no field errors left');
  await shot(page, '07-form-filled', { fullPage: true });
  assert.ok(await noHorizontalScroll(360) <= 360, 'form fits 360 px');

  await page.getByRole('button', { name: '保存草稿' }).click();
  await page.getByText('草稿已保存到服务器').waitFor();
  await shot(page, '08-draft-saved');
  const token = await page.evaluate(() => localStorage.getItem('tisheng.token'));
  const d = await apiJson(srv.base, 'GET', '/api/v1/drafts/' + FUT, { token });
  assert.equal(d.status, 200, JSON.stringify(d.json));
  assert.equal(d.json.category, 'technician');
  assert.equal(d.json.fields.id_number, ID_A);
  assert.equal(String(d.json.fields.work_years ?? values.work_years), String(values.work_years));

  // The draft is on the server: a fresh page load (local backup cleared) shows it.
  await page.evaluate(() => { for (const k of Object.keys(localStorage)) if (k.startsWith('tisheng.form.')) localStorage.removeItem(k); });
  await page.reload();
  await page.getByText('已载入您保存的草稿').waitFor();
  assert.equal(await page.locator('#f-id_number').inputValue(), ID_A);
  assert.ok(Date.now() < opensAt, 'draft saved and reloaded before opening');
});

test('submit at opening: one double tap sends once and shows the rank', async () => {
  const wait = Math.max(0, opensAt - Date.now()) + 10000;
  const submit = page.getByRole('button', { name: '提交审核' });
  await submit.waitFor({ timeout: wait });
  await submit.dblclick();
  await page.waitForURL(/\/result\?id=/, { timeout: 20000 });
  await page.locator('[data-testid=result-ok]').waitFor();
  assert.equal(await page.locator('[data-testid=rank]').innerText(), '第 1 位');
  assert.equal((await page.locator('[data-testid=quota]').innerText()).trim(), '已进入名额');
  assert.ok((await page.locator('[data-testid=receipt]').innerText()).trim().length >= 16, 'receipt shown');
  await shot(page, '09-result', { fullPage: true });
  const token = await page.evaluate(() => localStorage.getItem('tisheng.token'));
  const list = await apiJson(srv.base, 'GET', '/api/v1/applications', { token });
  assert.equal(list.status, 200);
  assert.equal(list.json.applications.filter((a) => a.program === FUT).length, 1, 'exactly one application');
});

test('home shows the taken place', async () => {
  await page.goto(srv.base + '/');
  const card = page.locator(`[data-program="${FUT}"]`);
  const tech = fut.categories.find((c) => c.code === 'technician');
  await card.locator(`[data-remaining="technician"]`, { hasText: exact(String(tech.places - 1)) }).waitFor({ timeout: 8000 });
  await card.getByRole('button', { name: '查看我的申报' }).waitFor();
  await shot(page, '10-home-after');
});

test('申报记录: list, detail with history, edit keeps the rank, PDF download', async () => {
  await page.getByRole('button', { name: '申报记录' }).click();
  await page.waitForURL(/\/records$/);
  const item = page.locator('.rec').first();
  await item.waitFor();
  await shot(page, '11-records');
  await item.click();
  await page.waitForURL(/\/records\/[^/]+$/);
  await page.locator('[data-testid=rank]').waitFor();
  assert.equal(await page.locator('[data-testid=rank]').innerText(), '第 1 位');
  await page.getByText('递交纸质申报表').waitFor();
  // ID number and bank account masked as the server masks them, 显示 for the owner
  const idCell = page.locator('[data-field=id_number]');
  const bankCell = page.locator('[data-field=bank_account]');
  assert.ok((await idCell.innerText()).includes(ID_A.slice(0, 2) + '*'.repeat(13) + ID_A.slice(15)), await idCell.innerText());
  assert.ok(!(await idCell.innerText()).includes(ID_A), 'full ID number on the record page');
  assert.ok((await bankCell.innerText()).includes('6222' + '*'.repeat(11) + '0123'), await bankCell.innerText());
  await idCell.getByRole('button', { name: '显示身份证号' }).tap();
  assert.ok((await idCell.innerText()).includes(ID_A), 'the owner can show the ID number');
  await idCell.getByRole('button', { name: '隐藏身份证号' }).tap();
  assert.ok(!(await idCell.innerText()).includes(ID_A), 'hidden again');
  const steps = await page.locator('[data-testid=paper-steps]').innerText();
  assert.match(steps, /职业技能等级证书复印件/);
  assert.doesNotMatch(steps, /毕业证|学信网/);
  await shot(page, '12-record', { fullPage: true });
  const id = page.url().split('/').pop();

  await page.getByRole('button', { name: '修改申报信息' }).click();
  await page.waitForURL(/\/edit$/);
  const addr = page.locator('#f-unit_address');
  await addr.waitFor();
  assert.notEqual(await addr.inputValue(), '', 'edit form is prefilled');
  await addr.fill('昆明市盘龙区北京路100号');
  await shot(page, '13-edit');
  await page.getByRole('button', { name: '保存修改' }).click();
  await page.waitForURL(new RegExp('/records/' + id + '$'));
  await page.locator('[data-field=unit_address]', { hasText: '北京路100号' }).waitFor();
  const token = await page.evaluate(() => localStorage.getItem('tisheng.token'));
  const a = await apiJson(srv.base, 'GET', '/api/v1/applications/' + id, { token });
  assert.equal(a.json.fields.unit_address, '昆明市盘龙区北京路100号');
  assert.equal(a.json.rank, 1);
  assert.ok(Array.isArray(a.json.history) && a.json.history.length >= 1, 'history present');

  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 30000 }),
    page.getByRole('button', { name: '下载申报表' }).click(),
  ]);
  // named by the server: the program, 申报表, the worker's name
  assert.match(dl.suggestedFilename(), /^.+申报表-[\u4e00-\u9fa5·]+\.pdf$/, dl.suggestedFilename());
  const file = join(OUT, 'form.pdf');
  await dl.saveAs(file);
  assert.equal(readFileSync(file).subarray(0, 5).toString('latin1'), '%PDF-');
});

test('quota_full: the last place taken while the worker fills the form gets its own page', async () => {
  const p = await schema(QUOTA);
  const token = await page.evaluate(() => localStorage.getItem('tisheng.token'));
  // The worker's draft for this program, prepared on the server.
  const mine = sampleValues(p.form.fields, { id: ID_A, orgs, phone: PHONE });
  const put = await apiJson(srv.base, 'PUT', '/api/v1/drafts/' + QUOTA, { token, body: { category: 'technician', fields: mine } });
  assert.equal(put.status, 200, JSON.stringify(put.json));
  await page.goto(srv.base + '/apply/' + QUOTA);
  await page.getByText('已载入您保存的草稿').waitFor();
  // Someone else takes the only place.
  const other = await apiLogin(srv, OTHER);
  const theirs = sampleValues(p.form.fields, { id: ID_B, orgs, phone: OTHER });
  const r = await apiJson(srv.base, 'POST', '/api/v1/applications', { token: other, body: { program: QUOTA, category: 'technician', fields: theirs } });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  // The open form follows the live places: the worker's category turns 已报满.
  await page.locator('[data-category=technician] [data-testid=category-full]').waitFor({ timeout: 15000 });
  await page.locator('[data-testid=chosen-full]').waitFor();
  await page.getByRole('button', { name: '提交审核' }).click();
  await page.locator('[data-testid=result-quota_full]').waitFor({ timeout: 20000 });
  await page.getByRole('heading', { name: '名额已满' }).waitFor();
  await shot(page, '14-quota-full');

  // Back on the form: the full category cannot be chosen, the other one can.
  await page.goto(srv.base + '/apply/' + QUOTA);
  const full = page.locator('[data-category=technician]');
  await full.locator('[data-testid=category-full]').waitFor();
  await page.locator('[data-category=senior-technician]').tap();
  await full.tap();
  assert.equal(await page.locator('[data-category=senior-technician] .van-radio__icon--checked').count(), 1, 'a full category was selected');
  assert.equal(await page.locator('[data-testid=all-full]').count(), 0);
  // Every category full: said at the top, and the submit button says so.
  const third = await apiLogin(srv, '13700137000');
  const r3 = await apiJson(srv.base, 'POST', '/api/v1/applications', { token: third,
    body: { program: QUOTA, category: 'senior-technician', fields: { ...sampleValues(p.form.fields, { id: idNumber('53010219920202789'), orgs, phone: '13700137000' }), previous_level: p.form.fields.find((f) => f.key === 'previous_level').options[0] } } });
  assert.equal(r3.status, 201, JSON.stringify(r3.json));
  await page.reload();
  await page.locator('[data-testid=all-full]').waitFor();
  await page.getByRole('button', { name: '名额已报满' }).waitFor();
  await shot(page, '14b-all-full');
});

test('a lost answer is retried without a second application', async () => {
  const p = await schema(RETRY);
  const token = await page.evaluate(() => localStorage.getItem('tisheng.token'));
  const mine = sampleValues(p.form.fields, { id: ID_A, orgs, phone: PHONE });
  const put = await apiJson(srv.base, 'PUT', '/api/v1/drafts/' + RETRY, { token, body: { category: 'senior-technician', fields: { ...mine, previous_level: p.form.fields.find((f) => f.key === 'previous_level').options[0] } } });
  assert.equal(put.status, 200, JSON.stringify(put.json));
  await page.goto(srv.base + '/apply/' + RETRY);
  await page.getByText('已载入您保存的草稿').waitFor();
  // The first POST reaches the server, but its answer is lost on the way back.
  let posts = 0;
  await page.route('**/api/v1/applications', async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    posts++;
    if (posts === 1) {
      await route.fetch();
      return route.abort('timedout');
    }
    return route.continue();
  });
  await page.getByRole('button', { name: '提交审核' }).click();
  await page.locator('[data-testid=result-ok]').waitFor({ timeout: 20000 });
  await page.unroute('**/api/v1/applications');
  assert.ok(posts >= 2, 'the page sent again after the lost answer');
  assert.equal(await page.locator('[data-testid=rank]').innerText(), '第 1 位');
  const list = await apiJson(srv.base, 'GET', '/api/v1/applications', { token });
  assert.equal(list.json.applications.filter((a) => a.program === RETRY).length, 1, 'one application only');
  await shot(page, '15-result-after-retry');
});

test('a correction request: items and deadline shown, edit, resubmit', async () => {
  // A reviewer of the worker's base union returns the application with a list.
  const union = orgPath(orgs).pop().code;
  cli(['staff', 'add', '--data', srv.dir, '--org', union, '--role', 'reviewer', '--username', 'bt-base'], 'Browser@Test2022\n');
  const login = await apiJson(srv.base, 'POST', '/api/v1/staff/login', { body: { username: 'bt-base', password: 'Browser@Test2022' } });
  assert.equal(login.status, 200, JSON.stringify(login.json));
  const token = await page.evaluate(() => localStorage.getItem('tisheng.token'));
  const mine = (await apiJson(srv.base, 'GET', '/api/v1/applications', { token })).json.applications.find((a) => a.program === FUT);
  const deadline = new Date(Date.now() + 3 * 86400e3 + 8 * 3600e3).toISOString().slice(0, 10);
  const items = ['职业技能等级证书编号与证书不一致，请核对', '请补充单位地址的门牌号'];
  const d = await apiJson(srv.base, 'POST', `/api/v1/review/applications/${mine.id}/decision`,
    { token: login.json.token, body: { decision: 'return', reason: '材料不完整', items, deadline } });
  assert.equal(d.status, 200, JSON.stringify(d.json));

  await page.goto(srv.base + '/records/' + mine.id);
  const box = page.locator('.returned');
  await box.waitFor();
  for (const it of items) await box.getByText(it).waitFor();
  const [y, m, dd] = deadline.split('-').map(Number);
  await box.getByText(`${y}年${m}月${dd}日`).first().waitFor();
  assert.equal((await page.locator('[data-testid=status]').innerText()).trim(), '退回补正');
  await shot(page, '16-record-returned', { fullPage: true });

  await page.getByRole('button', { name: '修改申报信息' }).click();
  await page.waitForURL(/\/edit$/);
  await page.locator('#f-cert_number').fill('S202253000124');
  await page.getByRole('button', { name: '保存修改' }).click();
  await page.waitForURL(new RegExp('/records/' + mine.id + '$'));
  await page.getByRole('button', { name: '补正完成，重新提交审核' }).click();
  await page.getByRole('button', { name: '确认提交' }).click();
  await page.locator('[data-testid=status]', { hasText: '已提交，待初审' }).waitFor();
  const a = await apiJson(srv.base, 'GET', '/api/v1/applications/' + mine.id, { token });
  assert.equal(a.json.status, 'submitted');
  assert.equal(a.json.rank, mine.rank);
  assert.equal(a.json.fields.cert_number, 'S202253000124');
  await shot(page, '17-record-resubmitted', { fullPage: true });

  // Rejected: it no longer holds a place, on the detail page and in the list,
  // although the server still reports its quota as of its rank.
  assert.equal((await page.locator('[data-testid=quota]').innerText()).trim(), '已进入名额');
  const r = await apiJson(srv.base, 'POST', `/api/v1/review/applications/${mine.id}/decision`,
    { token: login.json.token, body: { decision: 'reject', reason: '证书与申报类别不符' } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  await page.reload();
  await page.locator('[data-testid=status]', { hasText: '未通过' }).waitFor();
  assert.equal((await page.locator('[data-testid=quota]').innerText()).trim(), '不再占用名额');
  await page.goto(srv.base + '/records');
  const rec = page.locator(`.rec[data-app="${mine.id}"]`);
  await rec.waitFor();
  assert.match(await rec.locator('[data-testid=quota]').innerText(), /不再占用名额/);
  assert.doesNotMatch(await rec.innerText(), /已进入名额|候补/);
});

test('paper instructions follow the program: skill certificate vs diploma and 学信网', async () => {
  const { paperGuide, handwriteTip } = await import('../../web/h5/src/paper.js');
  const skill = await schema('yn2022-skill');
  const edu = await schema('yn2022-edu');
  const s = paperGuide(skill);
  assert.deepEqual(s.handwrite, ['银行开户行及账号', '参加培训的机构、时间、地点']);
  assert.ok(s.materials.some((m) => m.includes('职业技能等级证书复印件')));
  assert.ok(s.materials.some((m) => m.includes('参加技能培训的证明材料')));
  const e = paperGuide(edu);
  assert.deepEqual(e.handwrite, ['银行开户行及账号']);
  assert.ok(e.materials.some((m) => m.includes('毕业证书复印件')), JSON.stringify(e));
  assert.ok(e.materials.some((m) => m.includes('学信网')), JSON.stringify(e));
  assert.ok(!e.materials.some((m) => /培训|职业技能等级证书/.test(m)), JSON.stringify(e));
  assert.doesNotMatch(handwriteTip(edu), /培训/);
  // what was filled online needs no handwriting
  assert.deepEqual(paperGuide(edu, { bank_branch: '工行五华支行', bank_account: '6222021234567890123' }).handwrite, []);
  // and the page says it: the edu form's footer has no training
  await page.goto(srv.base + '/apply/yn2022-edu');
  const tips = page.locator('[data-testid=form-tips]');
  await tips.waitFor();
  assert.match(await tips.innerText(), /^银行开户行及账号可以先不填/);
});
