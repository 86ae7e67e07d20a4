// Calls to the Tisheng API with the staff session. The token lives in
// sessionStorage (one browser tab, gone when the tab closes) and goes out as
// `Authorization: Bearer`. Every error answer {"error":{"code","message"}} is
// shown with the server's own Chinese message; 401 sends the user back to
// the login page.
import { ElMessage } from 'element-plus';
import 'element-plus/es/components/message/style/css';

const TOKEN_KEY = 'tisheng.console.token';
let onUnauthorized = () => {};

export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the session lasts as long as the page */
  }
}

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

const FALLBACK = {
  400: '请求有误',
  401: '登录已失效，请重新登录',
  403: '没有权限进行此操作',
  404: '找不到该记录，或不在本单位的管辖范围内',
  405: '不支持此操作',
  409: '当前状态不允许此操作',
  413: '提交的内容过大',
  422: '填写的内容有误',
  429: '操作过于频繁，请稍后再试',
  500: '服务器内部错误，请稍后再试',
  502: '服务器暂时无法访问，请稍后再试',
  503: '服务暂时不可用，请稍后再试',
  504: '服务器响应超时，请稍后再试',
};

function query(params) {
  if (!params) return '';
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    q.set(k, v === true ? '1' : String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

/** The Chinese text of an error answer, with the field messages of a 422. */
export function errorText(status, body) {
  const e = body && typeof body === 'object' ? body.error : null;
  let msg = (e && typeof e.message === 'string' && e.message) || FALLBACK[status] || `请求失败（HTTP ${status}）`;
  const fields = (e && e.fields) || (body && body.fields);
  if (Array.isArray(fields) && fields.length) {
    const parts = fields.map((f) => f && f.message).filter(Boolean);
    if (parts.length) msg += '：' + parts.join('；');
  }
  return msg;
}

/**
 * request(method, path, {json, params, raw, quiet, signal})
 *  - raw: resolve with the Response (for file downloads) once it is 2xx.
 *  - quiet: an array of error codes (or true for all) not to show as a toast;
 *    the ApiError is thrown either way.
 */
export async function request(method, path, opts = {}) {
  const headers = { Accept: opts.raw ? '*/*' : 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = 'Bearer ' + token;
  let body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  let res;
  try {
    res = await fetch(path + query(opts.params), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    const e = new ApiError(0, 'network', '网络连接失败，请检查网络后重试', null);
    if (!opts.quiet) ElMessage.error(e.message);
    throw e;
  }
  if (res.ok && opts.raw) return res;
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.ok) return data;
  const code = data && data.error && data.error.code ? data.error.code : 'http_' + res.status;
  const err = new ApiError(res.status, code, errorText(res.status, data), data);
  const quiet = opts.quiet === true || (Array.isArray(opts.quiet) && opts.quiet.includes(code));
  if (res.status === 401 && !opts.noRedirect) {
    setToken('');
    if (!quiet) ElMessage.error(err.message);
    onUnauthorized(err);
    throw err;
  }
  if (!quiet) ElMessage.error({ message: err.message, duration: 5000, showClose: true });
  throw err;
}

export const api = {
  get: (path, params, opts = {}) => request('GET', path, { ...opts, params }),
  post: (path, json, opts = {}) => request('POST', path, { ...opts, json: json ?? {} }),
};

function filenameFrom(res, fallback) {
  const cd = res.headers.get('Content-Disposition') || '';
  const star = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(cd);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''));
    } catch {
      /* fall through */
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(cd);
  return plain ? plain[1] : fallback;
}

/**
 * Downloads a file with the Bearer token (fetch + blob). It is saved as
 * `name` (descriptive: union and program), with the server's extension; the
 * server's own file name is used when no name is given.
 */
export async function download(path, params, name) {
  const res = await request('GET', path, { params, raw: true });
  const blob = await res.blob();
  const served = filenameFrom(res, '');
  if (!name) name = served || path.split('/').pop();
  else if (served && /\.[a-z0-9]+$/i.test(served)) name = name.replace(/\.[a-z0-9]+$/i, '') + served.slice(served.lastIndexOf('.'));
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return { name, size: blob.size, type: blob.type };
}
