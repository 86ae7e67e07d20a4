// Chinese names for the codes the server sends.
export const ROLE = {
  reviewer: '审核人员',
  admin: '管理员',
  finance: '财务',
  auditor: '审计',
};

export const LEVEL = {
  province: '省总工会',
  prefecture: '州（市）总工会',
  industry: '省级产业系统公司工会',
  county: '县（市、区）总工会',
  base: '基层工会',
};

export const STATUS = {
  submitted: '已提交，待初审',
  initial_passed: '初审通过',
  base_publicized: '基层公示期满',
  rechecked: '复核通过',
  province_passed: '省总审核通过',
  province_publicized: '省总公示期满',
  approved: '终审批准',
  paid: '已发放',
  returned: '退回补正中',
  rejected: '不通过',
  abandoned: '逾期未补正（放弃）',
  withdrawn: '申报人已撤回',
  cancelled: '已取消资格',
};

export const STATUS_ORDER = [
  'submitted',
  'initial_passed',
  'base_publicized',
  'rechecked',
  'province_passed',
  'province_publicized',
  'approved',
  'paid',
  'returned',
  'rejected',
  'abandoned',
  'withdrawn',
  'cancelled',
];

export function statusText(s) {
  return STATUS[s] || s || '';
}

export function statusType(s) {
  if (s === 'approved' || s === 'paid') return 'success';
  if (s === 'returned') return 'warning';
  if (s === 'rejected' || s === 'abandoned' || s === 'cancelled') return 'danger';
  if (s === 'withdrawn') return 'info';
  if (s === 'submitted') return 'primary';
  return 'success';
}

export const QUOTA = { queued: '已进入名额', waitlisted: '候补' };

export function quotaType(q) {
  return q === 'queued' ? 'success' : q === 'waitlisted' ? 'warning' : 'info';
}

/** Statuses that leave the running: the quota no longer applies to them. */
export const OUT_OF_RUNNING = ['rejected', 'abandoned', 'withdrawn', 'cancelled'];

/** The quota standing of an application as shown: 已进入名额 / 候补 / 已退出. */
export function quotaOf(app) {
  if (!app) return { text: '', type: 'info' };
  if (OUT_OF_RUNNING.includes(app.status)) return { text: '已退出', type: 'info' };
  return { text: QUOTA[app.quota] || app.quota || '', type: quotaType(app.quota) };
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
  reject: '审核不通过',
  return: '退回补正',
  returned: '退回补正',
  resubmit: '补正后重新提交',
  abandon: '逾期未补正，视为放弃',
  abandoned: '逾期未补正，视为放弃',
  cancel: '取消资格',
  cancelled: '取消资格',
  publicity: '列入公示',
  publicize: '列入公示',
  publicity_start: '列入公示',
  publicity_close: '公示期满',
  publicity_pass: '公示期满，无异议',
  publicized: '公示期满',
  objection: '收到实名举报',
  investigation: '举报调查',
  upheld: '举报属实，取消资格',
  dismissed: '举报不属实',
  approve: '终审批准',
  approval: '终审批准',
  approved: '终审批准',
  pay: '发放补助',
  paid: '发放补助',
  promote: '依序递补进入名额',
  promoted: '依序递补进入名额',
  backfill: '依序递补进入名额',
  backfilled: '依序递补进入名额',
  moved_up: '依序递补进入名额',
  queued: '依序递补进入名额',
  demote: '转为候补',
  waitlisted: '转为候补',
  reveal: '查看完整证件号',
  reveal_id: '查看完整证件号',
};

export function actionText(a) {
  return ACTION[a] || a || '';
}

export function isBackfill(a) {
  return /promot|backfill|moved_up|^queued$/.test(a || '');
}

export const AUDIT_ACTION = {
  ...ACTION,
  decision: '审核决定',
  'decision.pass': '审核通过',
  'decision.reject': '审核不通过',
  'decision.return': '退回补正',
  batch_pass: '批量通过',
  batch_reject: '批量不通过',
  approve: '终审批准',
  'staff.totp_setup': '生成两步验证密钥',
  'staff.totp_enable': '启用两步验证',
  'objection.investigate': '举报调查结论',
  'audit.failed': '审计记录失败',
  staff_login: '工作人员登录',
  login: '登录',
  logout: '退出登录',
  login_failed: '登录失败',
  'staff.login': '工作人员登录',
  'publicity.create': '创建公示',
  publicity_create: '创建公示',
  'publicity.close': '结束公示',
  publicity_close: '结束公示',
  'objection.file': '提交实名举报',
  'objection.investigation': '举报调查结论',
  'application.reveal': '查看完整证件号',
  'export.summary': '导出汇总表',
  'export.letter': '导出推荐承诺书',
  'export.approved': '导出终审名单',
  export: '导出',
  totp_enable: '启用动态验证码',
  'totp.enable': '启用动态验证码',
  'approval.approve': '终审批准',
};

const TARGET = { application: '申报', publicity: '公示', objection: '举报', applications: '申报', export: '导出' };
const EXPORT = { summary: '汇总表', letter: '推荐承诺书', approved: '批准名单' };

/** "application:12" → "申报 12"; "export:summary:P:ORG" → "导出 汇总表 P ORG". */
export function auditTargetText(t) {
  if (t === undefined || t === null) return '';
  if (typeof t === 'object') return Object.entries(t).map(([k, v]) => `${k}: ${v}`).join('，');
  const parts = String(t).split(':');
  if (parts.length > 1 && TARGET[parts[0]]) {
    const rest = parts.slice(1).map((x) => EXPORT[x] || x);
    return `${TARGET[parts[0]]} ${rest.join(' ')}`;
  }
  return TARGET[t] || String(t);
}

const DETAIL = {
  program: '项目',
  stage: '环节',
  from: '原状态',
  to: '新状态',
  entries: '名单人数',
  starts_on: '公示开始',
  ends_on: '公示结束',
  application: '申报',
  finding: '结论',
  advanced: '进入下一环节',
  requested: '提交',
  applied: '生效',
  approved: '批准人数',
  amount_fen: '金额',
  rows: '行数',
};

/** An audit entry's detail object as short Chinese text. */
export function auditDetailText(d) {
  if (d === undefined || d === null || d === '') return '';
  if (typeof d !== 'object') return String(d);
  return Object.entries(d)
    .map(([k, v]) => {
      let val = v;
      if (k === 'from' || k === 'to') val = statusText(v);
      else if (k === 'finding') val = FINDING[v] || v;
      else if (k === 'amount_fen' && typeof v === 'number') val = yuan(v);
      else if (k === 'stage' && typeof v === 'number') val = `第 ${v + 1} 环节`;
      else if (v && typeof v === 'object') val = JSON.stringify(v);
      return `${DETAIL[k] || k}：${val}`;
    })
    .join('；');
}

export function auditActionText(a) {
  if (!a) return '';
  if (AUDIT_ACTION[a]) return AUDIT_ACTION[a];
  const last = String(a).split(/[.:/]/).pop();
  return AUDIT_ACTION[last] || a;
}

export const FINDING = { upheld: '属实', dismissed: '不属实' };

export function yuan(fen) {
  if (typeof fen !== 'number') return '';
  const y = fen / 100;
  return (Number.isInteger(y) ? y.toLocaleString('zh-CN') : y.toFixed(2)) + ' 元';
}

const fmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

/** "2022-10-17 08:00:03" in Beijing time; a bare date stays as it is. */
export function datetime(v) {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  const d = typeof v === 'number' ? new Date(v < 1e12 ? v * 1000 : v) : new Date(v);
  if (isNaN(d)) return String(v);
  const parts = Object.fromEntries(fmt.formatToParts(d).map((p) => [p.type, p.value]));
  const hour = parts.hour === '24' ? '00' : parts.hour;
  return `${parts.year}-${parts.month}-${parts.day} ${hour}:${parts.minute}:${parts.second}`;
}

/** Today in Beijing as YYYY-MM-DD. */
export function dateOf(d) {
  return datetime(d).slice(0, 10);
}

/** A program's title without the long parenthesis: "2022年云南省企业职工技能等级晋升补助". */
export function programLabel(p) {
  if (!p) return '';
  return String(p.title || p.id).replace(/（农民工[^）]*）/, '');
}

/** A stage's name short enough for tabs and steps. */
export function shortStage(s) {
  const name = (s && (s.name || s.key)) || '';
  return name
    .replace('州（市）总工会、省级产业系统公司工会', '州市/产业工会')
    .replace('省总工会主席办公会', '主席办公会');
}

/** A publicity's first and last day (YYYY-MM-DD), from starts_on/ends_on or starts_at/ends_at. */
export function pubDates(p) {
  if (!p) return { start: '', end: '' };
  const start = p.starts_on || (p.starts_at ? datetime(p.starts_at).slice(0, 10) : '');
  const end = p.ends_on || (p.ends_at ? datetime(p.ends_at).slice(0, 10) : '');
  return { start, end };
}

/** An objection's finding: "upheld", "dismissed" or '' while pending. */
export function findingOf(o) {
  if (!o) return '';
  if (o.finding) return o.finding;
  return o.status === 'upheld' || o.status === 'dismissed' ? o.status : '';
}

/** A correction deadline: an end-of-day instant (next day 00:00) reads as "YYYY-MM-DD 24:00". */
export function deadlineText(v) {
  if (!v) return '';
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return v + ' 24:00';
  const t = datetime(v);
  if (/ 00:00:00$/.test(t)) {
    const d = new Date(Date.parse(t.slice(0, 10) + 'T00:00:00Z') - 86400000);
    return d.toISOString().slice(0, 10) + ' 24:00';
  }
  return t;
}
