import { createRouter, createWebHistory } from 'vue-router';
import { ElMessage } from 'element-plus';
import { session, loadMe, hasRole } from './store.js';
import { setUnauthorizedHandler } from './api.js';
import Layout from './views/Layout.vue';
import Login from './views/Login.vue';

const ALL = ['reviewer', 'admin', 'finance', 'auditor'];

const routes = [
  { path: '/login', name: 'login', component: Login, meta: { public: true, title: '登录' } },
  {
    path: '/',
    component: Layout,
    children: [
      // Where each role starts; decided in beforeEach, once the staff member is known.
      { path: '', name: 'home', component: { render: () => null } },
      {
        path: 'queue',
        name: 'queue',
        component: () => import('./views/Queue.vue'),
        meta: { title: '审核队列', roles: ALL },
      },
      {
        path: 'applications/:id',
        name: 'application',
        component: () => import('./views/Detail.vue'),
        meta: { title: '申报详情', roles: ALL, menu: 'queue' },
      },
      {
        path: 'publicity',
        name: 'publicity',
        component: () => import('./views/Publicity.vue'),
        meta: { title: '公示管理', roles: ['reviewer', 'admin', 'auditor'] },
      },
      {
        path: 'publicity/:id',
        name: 'publicity-detail',
        component: () => import('./views/PublicityDetail.vue'),
        meta: { title: '公示详情', roles: ['reviewer', 'admin', 'auditor'], menu: 'publicity' },
      },
      {
        path: 'approval',
        name: 'approval',
        component: () => import('./views/Approval.vue'),
        meta: { title: '终审', roles: ['admin'] },
      },
      {
        path: 'exports',
        name: 'exports',
        component: () => import('./views/Exports.vue'),
        meta: { title: '导出', roles: ALL },
      },
      {
        path: 'audit',
        name: 'audit',
        component: () => import('./views/Audit.vue'),
        meta: { title: '审计日志', roles: ['auditor', 'admin'] },
      },
      {
        path: 'account',
        name: 'account',
        component: () => import('./views/Account.vue'),
        meta: { title: '账号安全', roles: ALL },
      },
      {
        path: ':rest(.*)*',
        name: 'not-found',
        component: () => import('./views/NotFound.vue'),
        meta: { title: '页面不存在', roles: ALL },
      },
    ],
  },
];

function homeFor() {
  const role = session.staff && session.staff.role;
  if (role === 'auditor') return { name: 'audit' };
  if (role === 'finance') return { name: 'exports' };
  return { name: 'queue' };
}

export const router = createRouter({
  history: createWebHistory('/console/'),
  routes,
  scrollBehavior: (to, from, saved) => saved || { top: 0 },
});

router.beforeEach(async (to) => {
  if (!session.loaded) await loadMe();
  if (to.meta.public) {
    if (to.name === 'login' && session.staff) return homeFor();
    return true;
  }
  if (!session.staff) {
    return { name: 'login', query: to.name !== 'home' ? { redirect: to.fullPath } : {} };
  }
  if (to.name === 'home') return homeFor();
  const roles = to.meta.roles;
  if (roles && !hasRole(...roles)) {
    ElMessage.warning('当前账号没有访问「' + (to.meta.title || '该页面') + '」的权限');
    return homeFor();
  }
  return true;
});

router.afterEach((to) => {
  document.title = (to.meta.title ? to.meta.title + ' - ' : '') + '工会补助审核管理平台';
});

setUnauthorizedHandler(() => {
  session.staff = null;
  session.loaded = true;
  const cur = router.currentRoute.value;
  if (cur.name !== 'login') {
    router.replace({ name: 'login', query: cur.fullPath && cur.fullPath !== '/' ? { redirect: cur.fullPath } : {} });
  }
});
