// Chinese names for codes the server sends.
export const STATUS = {
  draft: '草稿',
  submitted: '已提交，待初审',
  initial_passed: '初审通过，待单位公示',
  base_publicized: '单位公示结束，待复核',
  rechecked: '复核通过，待省总工会审核',
  province_passed: '省总工会审核通过，待公示',
  province_publicized: '省总工会公示结束，待终审',
  returned: '退回补正',
  rejected: '未通过',
  abandoned: '逾期未补正（视为放弃）',
  withdrawn: '已撤回',
  cancelled: '已取消',
  approved: '已批准',
  paid: '已发放',
};

export function statusText(s) {
  if (!s) return '';
  if (STATUS[s]) return STATUS[s];
  if (/_passed$/.test(s)) return '审核通过';
  return s;
}

export function statusType(s) {
  if (s === 'paid' || s === 'approved' || /(passed|publicized|rechecked)$/.test(s || '')) return 'success';
  if (s === 'returned') return 'warning';
  if (s === 'rejected' || s === 'abandoned' || s === 'cancelled') return 'danger';
  if (s === 'withdrawn') return 'default';
  return 'primary';
}

// Tag colours (white text on each is at least 4.5:1).
export function statusColor(s) {
  return { success: '#157f3b', warning: '#a35c00', danger: '#c8161d', default: '#6b7280', primary: '#1d4ed8' }[statusType(s)];
}

export const QUOTA = {
  queued: '已进入名额',
  waitlisted: '候补',
};

// Out of the running: such an application holds no place and waits for none,
// whatever its quota field says (the server reports it as of its rank).
export const OUT_OF_RUNNING = ['rejected', 'abandoned', 'withdrawn', 'cancelled'];

/** The quota standing shown to the worker; long: the detail page's wording. */
export function quotaText(app, long = false) {
  if (!app) return '';
  if (OUT_OF_RUNNING.includes(app.status)) return '不再占用名额';
  if (app.quota === 'queued') return QUOTA.queued;
  return long ? '候补（按顺序递补）' : QUOTA.waitlisted;
}

export const ACTION = {
  submit: '提交申报',
  submitted: '提交申报',
  update: '修改信息',
  updated: '修改信息',
  edit: '修改信息',
  withdraw: '撤回申报',
  withdrawn: '撤回申报',
  pass: '审核通过',
  reject: '审核未通过',
  return: '退回补正',
  returned: '退回补正',
  abandon: '逾期未补正',
  cancel: '取消',
  approve: '批准',
  pay: '发放补助',
  paid: '发放补助',
  promote: '递补进入名额',
  resubmit: '补正后重新提交',
  objection: '收到异议',
};

export function actionText(a) {
  return ACTION[a] || a || '';
}

// Editing is allowed while the application is still at the unit union's first
// review or sent back for corrections; the server has the last word (409 locked).
export function editable(app) {
  if (!app) return false;
  if (typeof app.editable === 'boolean') return app.editable;
  return app.status === 'submitted' || app.status === 'returned';
}

export function yuan(fen) {
  if (typeof fen !== 'number') return '';
  const y = fen / 100;
  return (Number.isInteger(y) ? String(y) : y.toFixed(2)) + '元';
}
