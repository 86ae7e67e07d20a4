// Shared state: the signed-in staff member, and cached reference data
// (programs with their review stages, the union tree).
import { reactive } from 'vue';
import { api, getToken, setToken } from './api.js';

export const session = reactive({
  staff: null, // {username, role, org, org_name, org_level, totp_enabled}
  loaded: false,
});

export async function loadMe() {
  if (!getToken()) {
    session.staff = null;
    session.loaded = true;
    return null;
  }
  try {
    const me = await api.get('/api/v1/staff/me', null, { quiet: true, noRedirect: true });
    session.staff = me && me.staff ? me.staff : me;
  } catch {
    setToken('');
    session.staff = null;
  }
  session.loaded = true;
  return session.staff;
}

export function signIn(token, staff) {
  setToken(token);
  session.staff = staff || null;
  session.loaded = !!staff;
}

export async function signOut() {
  // The general logout ends any session, the staff's included.
  await api.post('/api/v1/auth/logout', {}, { quiet: true, noRedirect: true }).catch(() => {});
  setToken('');
  session.staff = null;
  session.loaded = true;
}

export function hasRole(...roles) {
  return !!session.staff && roles.includes(session.staff.role);
}

// ---- reference data -------------------------------------------------------

// The Yunnan 2022 pipeline of docs/review.md, used when a program does not
// publish its own `review.stages`.
export const DEFAULT_STAGES = [
  { key: 'initial', name: '基层单位初审', kind: 'review', levels: ['base'], pass_status: 'initial_passed' },
  { key: 'base_publicity', name: '基层单位公示', kind: 'publicity', levels: ['base'], days: 5, day_kind: 'calendar', pass_status: 'base_publicized' },
  { key: 'recheck', name: '州（市）总工会、省级产业系统公司工会复核', kind: 'review', levels: ['prefecture', 'industry'], pass_status: 'rechecked' },
  { key: 'province', name: '省总工会审核', kind: 'review', levels: ['province'], pass_status: 'province_passed' },
  { key: 'province_publicity', name: '省总工会公示', kind: 'publicity', levels: ['province'], days: 5, day_kind: 'calendar', pass_status: 'province_publicized' },
  { key: 'final', name: '省总工会主席办公会终审', kind: 'approval', levels: ['province'], pass_status: 'approved' },
];

const cache = { programs: null, details: new Map(), orgs: null };

/** Every program (GET /api/v1/programs), each with `stages` (from its spec when published). */
export async function programs() {
  if (!cache.programs) {
    cache.programs = api
      .get('/api/v1/programs')
      .then(async (r) => {
        const list = (r && r.programs) || [];
        const full = await Promise.all(list.map((p) => program(p.id).catch(() => p)));
        return full;
      })
      .catch((e) => {
        cache.programs = null;
        throw e;
      });
  }
  return cache.programs;
}

/** One program with its form schema and review stages. */
export async function program(id) {
  if (!cache.details.has(id)) {
    const p = api
      .get('/api/v1/programs/' + encodeURIComponent(id))
      .then((r) => {
        const prog = r && r.program && typeof r.program === 'object' ? r.program : r;
        const stages = prog.review && Array.isArray(prog.review.stages) ? prog.review.stages : prog.stages;
        prog.stages = Array.isArray(stages) && stages.length ? stages : DEFAULT_STAGES;
        return prog;
      })
      .catch((e) => {
        cache.details.delete(id);
        throw e;
      });
    cache.details.set(id, p);
  }
  return cache.details.get(id);
}

/**
 * Stages as a review list answer names them ({index,key,name,kind}), merged
 * with what the program spec (or the default pipeline) knows (levels, days).
 */
export function mergeStages(known, fromServer) {
  if (!Array.isArray(fromServer) || !fromServer.length) return known;
  return fromServer.map((s, i) => {
    const k = (known || []).find((x) => x.key === s.key) || DEFAULT_STAGES.find((x) => x.key === s.key) || {};
    return { ...k, ...s, levels: s.levels || k.levels || [], index: s.index ?? i };
  });
}

/** The union tree: {list, byCode, children(code)}. */
export async function orgs() {
  if (!cache.orgs) {
    cache.orgs = api
      .get('/api/v1/orgs')
      .then((r) => {
        const list = (r && r.orgs) || [];
        const byCode = new Map(list.map((o) => [o.code, o]));
        const kids = new Map();
        for (const o of list) {
          const k = o.parent || '';
          if (!kids.has(k)) kids.set(k, []);
          kids.get(k).push(o);
        }
        return { list, byCode, children: (code) => kids.get(code || '') || [] };
      })
      .catch((e) => {
        cache.orgs = null;
        throw e;
      });
  }
  return cache.orgs;
}

/** Cascader options for the subtree rooted at `root` (the staff's own union). */
export function subtreeOptions(tree, root) {
  const build = (o) => {
    const kids = tree.children(o.code);
    const node = { value: o.code, label: o.name, level: o.level };
    if (kids.length) node.children = kids.map(build);
    return node;
  };
  const top = root ? tree.byCode.get(root) : null;
  if (top) return [build(top)];
  return tree.children('').map(build);
}

/** Is `code` inside the subtree of `root`? */
export function inSubtree(tree, code, root) {
  let o = tree.byCode.get(code);
  for (let i = 0; o && i < 32; i++) {
    if (o.code === root) return true;
    o = o.parent ? tree.byCode.get(o.parent) : null;
  }
  return false;
}

/** The server's clock, for "after the end date" checks. */
export async function serverNow() {
  try {
    const r = await api.get('/api/v1/time', null, { quiet: true });
    if (r && r.now) return new Date(r.now);
    if (r && r.now_ms) return new Date(r.now_ms);
  } catch {
    /* use the local clock */
  }
  return new Date();
}
