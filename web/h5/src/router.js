// History-mode routes; `tisheng serve` answers unknown non-API paths with
// index.html. Every page but the home page is its own chunk, loaded on demand.
import { createRouter, createWebHistory } from 'vue-router';
import Home from './pages/Home.vue';
import { session, setUnauthorizedHandler } from './api.js';

const routes = [
  { path: '/', name: 'home', component: Home, meta: { title: '职工补助申报' } },
  { path: '/login', name: 'login', component: () => import('./pages/Login.vue'), meta: { title: '登录' } },
  { path: '/apply/:program', name: 'apply', component: () => import('./pages/Apply.vue'), meta: { auth: true, title: '填写申报信息' } },
  { path: '/result', name: 'result', component: () => import('./pages/Result.vue'), meta: { title: '申报结果' } },
  { path: '/records', name: 'records', component: () => import('./pages/Records.vue'), meta: { auth: true, title: '申报记录' } },
  { path: '/records/:id', name: 'record', component: () => import('./pages/Record.vue'), meta: { auth: true, title: '申报详情' } },
  { path: '/records/:id/edit', name: 'edit', component: () => import('./pages/Apply.vue'), meta: { auth: true, title: '修改申报信息' } },
  // /public/publicity/:id itself is the server's own HTML page (src/api/publicity.c:
  // readable without JavaScript, printable); its 我要提出异议 link leads here,
  // to the list as cards and the objection form.
  { path: '/public/publicity/:id/objection', name: 'publicity', component: () => import('./pages/PublicPublicity.vue'), meta: { title: '公示' } },
  { path: '/:rest(.*)*', name: 'notfound', component: () => import('./pages/NotFound.vue'), meta: { title: '页面不存在' } },
];

export const router = createRouter({
  history: createWebHistory('/'),
  routes,
  scrollBehavior: (to, from, saved) => saved || { top: 0 },
});

router.beforeEach((to) => {
  if (to.meta.auth && !session.loggedIn) {
    return { name: 'login', query: { redirect: to.fullPath } };
  }
  return true;
});

router.afterEach((to) => {
  document.title = to.meta.title || '职工补助申报';
});

// A chunk that fails to load (slow or broken network, or a new deploy): reload once.
router.onError((err, to) => {
  if (/dynamically imported module|Importing a module script failed|Failed to fetch/i.test(String(err && err.message))) {
    if (!sessionStorage.getItem('tisheng.reloaded')) {
      sessionStorage.setItem('tisheng.reloaded', '1');
      window.location.assign(to.fullPath);
    }
  }
});

setUnauthorizedHandler(() => {
  session.clear();
  const cur = router.currentRoute.value;
  if (cur.name !== 'login') router.replace({ name: 'login', query: { redirect: cur.fullPath, expired: '1' } });
});
