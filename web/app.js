// The console's entry: the session (who is signed in, their units), the menu, and the router
// that mounts one view at a time.

import * as api from './api.js';
import { parse, start, navigate } from './router.js';
import { h, clear, bindStatus, status, showError, setReady, loadingBox } from './ui.js';
import { roleName } from './format.js';
import * as login from './view-login.js';
import * as board from './view-board.js';
import * as scorecard from './view-scorecard.js';
import * as ledger from './view-ledger.js';
import * as project from './view-project.js';
import * as log from './view-log.js';
import * as report from './view-report.js';
import * as queue from './view-queue.js';
import * as users from './view-users.js';
import * as units from './view-units.js';

const VIEWS = { login, board, scorecard, projects: ledger, project, log, report, queue, users, units };

// Which roles see which menu entry (the API decides what each may really do).
const MENU = [
  { view: 'board', hash: '#/board', text: '县级看板', testid: 'nav-board', roles: ['admin', 'leader', 'bureau', 'viewer'] },
  { view: 'scorecard', hash: '#/scorecard', text: '本单位考核', testid: 'nav-scorecard', roles: ['unit'] },
  { view: 'projects', hash: '#/projects', text: '项目台账', testid: 'nav-projects', roles: ['admin', 'leader', 'bureau', 'unit', 'viewer'] },
  { view: 'log', hash: '#/log', text: '记录洽谈', testid: 'nav-log', roles: ['admin', 'leader', 'bureau', 'unit'] },
  { view: 'report', hash: '#/report', text: '上报签约/开工', testid: 'nav-report', roles: ['admin', 'bureau', 'unit'] },
  { view: 'queue', hash: '#/queue', text: '认定队列', testid: 'nav-queue', roles: ['bureau', 'viewer'] },
  { view: 'users', hash: '#/admin/users', text: '用户管理', testid: 'nav-users', roles: ['admin'] },
  { view: 'units', hash: '#/admin/units', text: '单位管理', testid: 'nav-units', roles: ['admin'] },
];

const LANDING = { leader: '#/board', viewer: '#/board', admin: '#/board', bureau: '#/queue', unit: '#/scorecard' };
const ADMIN_ONLY = new Set(['users', 'units']);

const main = document.getElementById('main');
const topbar = document.getElementById('topbar');
const menuToggle = document.getElementById('menu-toggle');

let session = null; // {me, units}
let current = null; // {name, unmount, generation}
let generation = 0;
let flash = null; // a status message to show after the next navigation

/** The session of the signed-in user, loaded once after sign-in or on start-up. */
async function loadSession() {
  const [me, unitList] = await Promise.all([api.get('/me'), api.get('/units')]);
  session = { me, units: unitList.items };
  renderMenu();
  return session;
}

function landing() {
  return (session && LANDING[session.me.role]) || '#/projects';
}

function renderMenu() {
  topbar.classList.remove('menu-open');
  menuToggle.setAttribute('aria-expanded', 'false');
  if (!session) { topbar.hidden = true; return; }
  const { me } = session;
  topbar.hidden = false;
  const ul = clear(document.getElementById('menu-links'));
  for (const m of MENU) {
    if (!m.roles.includes(me.role)) continue;
    ul.append(h('li', h('a.menu-link', { href: m.hash, testid: m.testid, dataset: { view: m.view } }, m.text)));
  }
  const who = document.getElementById('whoami');
  who.textContent = [me.display_name || me.username, roleName(me.role), me.unit_name].filter(Boolean).join(' · ');
  who.dataset.role = me.role;
  who.dataset.username = me.username;
  const root = session.units[0];
  document.getElementById('brand').textContent = `${root ? root.name : ''}招商引资管理平台`;
}

function markMenu(viewName) {
  for (const a of document.querySelectorAll('.menu-link')) {
    if (a.dataset.view === viewName) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  topbar.classList.remove('menu-open');
  menuToggle.setAttribute('aria-expanded', 'false');
}

function unmountCurrent() {
  if (current && current.unmount) {
    try { current.unmount(); } catch { /* a view failing to clean up does not stop the next */ }
  }
  current = null;
}

async function onRoute(route) {
  generation += 1;
  const gen = generation;
  const hasToken = Boolean(api.getToken());

  if (!hasToken) {
    session = null;
    renderMenu();
    if (route.name !== 'login') {
      if (route.name && route.name !== 'login') sessionStorage.setItem('crm.next', location.hash);
      navigate('#/login');
      return;
    }
  } else if (!session) {
    unmountCurrent();
    setReady(route.name || 'loading', false);
    clear(main).append(loadingBox('正在载入用户信息…'));
    try {
      await loadSession();
    } catch (err) {
      if (gen !== generation) return;
      if (err.status === 401) return; // the 401 handler has gone to the sign-in page
      clear(main).append(h('div.card', h('h1', '无法载入'), h('p', '无法读取当前用户信息。'),
        h('button.btn', { type: 'button', on: { click: () => onRoute(parse()) } }, '重试')));
      showError(err);
      setReady(route.name || 'loading', true);
      return;
    }
    if (gen !== generation) return;
  }

  if (hasToken && (route.name === 'login' || route.name === null)) {
    navigate(landing());
    return;
  }

  const isReload = current && current.hash === location.hash;
  unmountCurrent();
  if (!isReload) status(null);
  if (flash) { status(flash.text, flash.kind); flash = null; }
  markMenu(route.name);

  const view = VIEWS[route.name];
  setReady(route.name, false);
  clear(main);
  main.scrollTop = 0;
  if (!isReload) window.scrollTo(0, 0);

  if (ADMIN_ONLY.has(route.name) && session && session.me.role !== 'admin') {
    main.append(h('div.card', h('h1', '没有权限'), h('p', '只有系统管理员可以使用此页面。')));
    setReady(route.name, true);
    current = { name: route.name, hash: location.hash };
    return;
  }

  const ctx = {
    route,
    root: main,
    session,
    /** False once the user has gone to another view: late answers are dropped. */
    alive: () => gen === generation,
    afterLogin,
    landing,
  };
  const mounted = { name: route.name, hash: location.hash, unmount: null };
  current = mounted;
  try {
    const result = await view.mount(ctx);
    if (result && typeof result.unmount === 'function') {
      if (gen === generation) mounted.unmount = result.unmount;
      else result.unmount();
    }
  } catch (err) {
    if (gen !== generation) return;
    showError(err);
    setReady(route.name, true);
  }
}

api.setUnauthorizedHandler(() => {
  if (session) flash = { text: '登录已失效或已在别处退出，请重新登录。', kind: 'error' };
  session = null;
  unmountCurrent();
  renderMenu();
  const r = parse();
  if (r.name && r.name !== 'login') sessionStorage.setItem('crm.next', location.hash);
  navigate('#/login');
});

api.setBusyHandler((busy) => document.body.classList.toggle('busy', busy));

menuToggle.addEventListener('click', () => {
  const open = !topbar.classList.contains('menu-open');
  topbar.classList.toggle('menu-open', open);
  menuToggle.setAttribute('aria-expanded', String(open));
});

document.getElementById('logout').addEventListener('click', async () => {
  try {
    await api.request('POST', '/auth/logout');
  } catch { /* the session may be gone already: sign out here all the same */ }
  api.clearToken();
  session = null;
  unmountCurrent();
  renderMenu();
  flash = { text: '已退出登录。', kind: 'ok' };
  sessionStorage.removeItem('crm.next');
  navigate('#/login');
});

/** After a successful sign-in (called by the login view): load the session and go on. */
async function afterLogin() {
  await loadSession();
  const next = sessionStorage.getItem('crm.next');
  sessionStorage.removeItem('crm.next');
  navigate(next && next !== '#/login' ? next : landing());
}

bindStatus(document.getElementById('status'));
start(onRoute);
