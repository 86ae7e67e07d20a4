// Field checks that mirror the server's (docs/program-spec.md, FIELD types), so
// that a worker sees what is wrong before tapping 提交审核. The server checks
// again; its 422 field errors are shown on the same fields.

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

export function realDate(y, m, d) {
  if (!(m >= 1 && m <= 12 && d >= 1)) return false;
  const dt = new Date(Date.UTC(y, m - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
}

export function idCheckDigit(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * ID_WEIGHTS[i];
  return ID_CHECK[sum % 11];
}

// Returns '' when the 18-character resident ID is valid, else a Chinese message.
export function checkIdNumber(v, today) {
  const s = String(v || '').trim().toUpperCase();
  if (s.length !== 18) return '身份证号应为18位';
  if (!/^\d{17}[\dX]$/.test(s)) return '身份证号格式不正确（前17位为数字，最后一位为数字或X）';
  const y = +s.slice(6, 10), m = +s.slice(10, 12), d = +s.slice(12, 14);
  if (y < 1900 || !realDate(y, m, d)) return '身份证号中的出生日期不正确';
  if (today && s.slice(6, 14) > today.replace(/-/g, '')) return '身份证号中的出生日期不正确';
  if (idCheckDigit(s) !== s[17]) return '身份证号校验位不正确，请核对';
  // a worker: at least 16 on the day (as the server checks)
  if (today) {
    const [ty, tm, td] = today.split('-').map(Number);
    if (ty - y - (tm < m || (tm === m && td < d) ? 1 : 0) < 16) return '身份证号显示未满16周岁，不是可申报的职工，请核对身份证号';
  }
  return '';
}

const charLen = (s) => Array.from(s).length;
const isEmpty = (v) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

// A mainland mobile number as people paste it ("+86 138-0000-0000"): spaces
// and dashes dropped, a leading +86 / 0086 / 86 dropped; the 11 digits, or ''
// when it is not such a number. The server does the same (phone_normalize).
export function normalizePhone(v) {
  const s = String(v ?? '').trim();
  if (!/^\+?[\d -]*$/.test(s)) return '';
  const plus = s.startsWith('+');
  let d = s.replace(/[^\d]/g, '');
  if (d.length === 15 && d.startsWith('0086') && !plus) d = d.slice(4);
  else if (d.length === 13 && d.startsWith('86')) d = d.slice(2);
  else if (plus || d.length !== 11) return '';
  return /^1[3-9]\d{9}$/.test(d) ? d : '';
}

export function isPickerType(t) {
  return t === 'select' || t === 'date' || t === 'org';
}

// field: a FIELD of the schema; ctx: {orgCodes: Set, today: 'YYYY-MM-DD'}
export function validateField(field, value, ctx = {}) {
  const required = field.required !== false;
  const label = field.label || field.key;
  if (isEmpty(value)) {
    if (!required) return '';
    return (isPickerType(field.type) ? '请选择' : '请填写') + label;
  }
  const s = typeof value === 'string' ? value.trim() : String(value);
  switch (field.type) {
    case 'text':
    case 'textarea': {
      const max = field.max_len || (field.type === 'textarea' ? 500 : 100);
      const ctl = field.type === 'textarea' ? /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/ : /[\u0000-\u001f\u007f]/;
      if (ctl.test(s)) return label + '含有不能识别的字符';
      if (field.min_len && charLen(s) < field.min_len) return label + '至少' + field.min_len + '个字';
      if (charLen(s) > max) return label + '不能超过' + max + '个字';
      if (field.pattern) {
        try {
          if (!new RegExp(field.pattern).test(s)) return label + '格式不正确';
        } catch { /* pattern the browser cannot read: leave it to the server */ }
      }
      return '';
    }
    case 'select':
      if (Array.isArray(field.options) && field.options.length && !field.options.includes(s)) return '请从列表中选择' + label;
      return '';
    case 'integer': {
      if (!/^-?\d+$/.test(s)) return label + '请填写整数';
      const n = parseInt(s, 10);
      if (field.min !== undefined && field.min !== null && n < field.min) return label + '不能小于' + field.min;
      if (field.max !== undefined && field.max !== null && n > field.max) return label + '不能大于' + field.max;
      return '';
    }
    case 'date': {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
      if (!m || !realDate(+m[1], +m[2], +m[3])) return label + '不是有效日期';
      if (field.min && s < field.min) return label + '不能早于' + field.min;
      if (field.max && s > field.max) return label + '不能晚于' + field.max;
      return '';
    }
    case 'email': {
      if (s.length > 254) return '电子邮箱过长';
      const parts = s.split('@');
      if (parts.length !== 2 || !parts[0] || /\s/.test(s)) return '电子邮箱格式不正确';
      const labels = parts[1].split('.');
      if (labels.length < 2 || labels.some((l) => !l)) return '电子邮箱格式不正确';
      return '';
    }
    case 'phone':
      return normalizePhone(s) ? '' : '请填写11位手机号码';
    case 'id_number':
      return checkIdNumber(s, ctx.today);
    case 'bank_account':
      return /^\d{12,30}$/.test(s.replace(/\s+/g, '')) ? '' : '银行账号应为12至30位数字';
    case 'org':
      if (ctx.orgCodes && ctx.orgCodes.size && !ctx.orgCodes.has(s)) return '请从列表中选择' + label;
      return '';
    default:
      return '';
  }
}

// Values as the server wants them: trimmed strings, integers as numbers, ID in
// upper case, bank account without spaces, empty optional fields left out.
export function normalizeFields(schemaFields, values) {
  const out = {};
  for (const f of schemaFields) {
    let v = values[f.key];
    if (isEmpty(v)) continue;
    if (typeof v === 'string') v = v.trim();
    if (f.type === 'integer' && /^-?\d+$/.test(String(v))) v = parseInt(v, 10);
    else if (f.type === 'id_number') v = String(v).toUpperCase();
    else if (f.type === 'bank_account') v = String(v).replace(/\s+/g, '');
    else if (f.type === 'phone') v = normalizePhone(v) || v;
    out[f.key] = v;
  }
  return out;
}

export function validateAll(schemaFields, values, ctx) {
  const errors = {};
  for (const f of schemaFields) {
    const msg = validateField(f, values[f.key], ctx);
    if (msg) errors[f.key] = msg;
  }
  return errors;
}
