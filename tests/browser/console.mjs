// The web console in a real browser (issue 14): playwright-core driving Debian's chromium,
// headless, through each scenario at two viewports, against the UI contract
// (data-testid attributes, hash routes, document.body.dataset.view / .ready,
// performance.mark('board-rendered')) and nothing else of the console's making.
//
// Run by tests/browser/run.sh, which starts crm with the demo and sets:
//   CRM_URL                 the crm to drive (http://127.0.0.1:PORT)
//   DEMO_LOGINS             the demo's "role username password" lines (this test's own copy)
//   CRM_SOURCE_DIR          the repository (playwright-core is in its .tools/)
//   CRM_BROWSER_ARTIFACTS   screenshots (<scenario>-<viewport>.png) and timings.json
//   CRM_CHROMIUM            the browser (default /usr/bin/chromium, Debian's)
//   BROWSER_SCENARIOS       optional: some of scorecard,log,verify,users,board (or "smoke")
//   BROWSER_VIEWPORTS       optional: some of desktop,phone
//
// Each scenario signs in through the login form as the demo user of its role, in a fresh
// browser context, does its task end to end, and checks the effect through the API. Any page
// error, console error, CSP violation (securitypolicyviolation) or 5xx answer fails it.
// Waits are for conditions (the view's name and ready flag, an element, a text), never sleeps.

import { createRequire } from 'node:module';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';

const SOURCE = process.env.CRM_SOURCE_DIR;
const BASE = (process.env.CRM_URL || '').replace(/\/$/, '');
const ARTIFACTS = process.env.CRM_BROWSER_ARTIFACTS;
const CHROMIUM = process.env.CRM_CHROMIUM || '/usr/bin/chromium';
if (!SOURCE || !BASE || !ARTIFACTS || !process.env.DEMO_LOGINS) {
  console.error('console.mjs: CRM_SOURCE_DIR, CRM_URL, CRM_BROWSER_ARTIFACTS and DEMO_LOGINS are needed (tests/browser/run.sh sets them)');
  process.exit(2);
}
const require = createRequire(path.join(SOURCE, '.tools', 'package.json'));
const { chromium } = require('playwright-core');

const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 },
  phone: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true },
};
const WAIT_MS = 20000;   // any one condition (a view loading, an element appearing)
const TIMING_LOADS = 5;  // fresh loads of #/board, for the median

mkdirSync(ARTIFACTS, { recursive: true });

// ---- small helpers ----

class Failure extends Error {}
function check(cond, message) {
  if (!cond) throw new Failure(message);
}

// Today and this year in China Standard Time, as crm counts them.
const TODAY = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' })
  .format(new Date());
const YEAR = Number(TODAY.slice(0, 4));
const RUN = Date.now().toString(36).slice(-6);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// A displayed amount: "¥19.27亿", "¥800,000,000元", "1,234万元" -> {value in yuan, step of the
// last digit shown}; null when the text holds no number.
function parseAmount(text) {
  const m = /([-−]?)\s*¥?\s*(\d[\d,]*)(?:\.(\d+))?\s*(亿|万)?/.exec(text || '');
  if (!m) return null;
  const unit = m[4] === '亿' ? 1e8 : m[4] === '万' ? 1e4 : 1;
  const decimals = m[3] ? m[3].length : 0;
  const n = Number(`${m[2].replace(/,/g, '')}${m[3] ? `.${m[3]}` : ''}`);
  return { value: (m[1] ? -1 : 1) * n * unit, step: unit / 10 ** decimals };
}

// Every percentage in a text: "74.1%" -> {value: 74.1, step: 0.1}.
function parsePercents(text) {
  return [...(text || '').matchAll(/(\d+(?:\.(\d+))?)\s*%/g)]
    .map((m) => ({ value: Number(m[1]), step: 1 / 10 ** (m[2] ? m[2].length : 0) }));
}

function expectAmount(what, text, yuan) {
  if (yuan === null || yuan === undefined) {
    check(!/\d/.test(text.replace(/20\d\d/g, '')), `${what}: the API has no figure, the page shows "${text}"`);
    return;
  }
  const a = parseAmount(text);
  check(a, `${what}: no amount in "${text}" (the API says ${yuan} yuan)`);
  check(Math.abs(a.value - yuan) <= a.step / 2 + 1,
    `${what}: the page shows "${text}" (${a.value} yuan), the API says ${yuan} yuan`);
}

function expectPercent(what, text, fraction) {
  if (fraction === null || fraction === undefined) {
    check(parsePercents(text).length === 0, `${what}: the API has no rate, the page shows "${text}"`);
    return;
  }
  const want = fraction * 100;
  const ps = parsePercents(text);
  check(ps.some((p) => Math.abs(p.value - want) <= p.step / 2 + 1e-6),
    `${what}: the page shows "${text}", the API says ${want.toFixed(3)}%`);
}

// ---- the API, as the console's users (to set up and to prove effects) ----

async function api(method, p, token, body) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method === 'POST') headers['Idempotency-Key'] = randomUUID();
  const res = await fetch(BASE + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = text;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, data, headers: res.headers };
}

async function apiOk(method, p, token, body) {
  const r = await api(method, p, token, body);
  if (r.status < 200 || r.status > 299) {
    throw new Error(`API ${method} ${p}: ${r.status} ${JSON.stringify(r.data).slice(0, 400)}`);
  }
  return r.data;
}

async function apiAll(p, token) {
  const items = [];
  let cursor = null;
  do {
    const sep = p.includes('?') ? '&' : '?';
    const page = await apiOk('GET', `${p}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, token);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

// The demo users, one per role, with the passwords of this test's demo load.
const demo = {};
for (const line of readFileSync(process.env.DEMO_LOGINS, 'utf8').split('\n')) {
  const [role, username, password] = line.trim().split(/\s+/);
  if (role && username && password) demo[role] = { role, username, password };
}
for (const role of ['admin', 'leader', 'bureau', 'unit', 'viewer']) {
  check(demo[role], `no demo user of role ${role} in ${process.env.DEMO_LOGINS}`);
}

async function apiLogin(username, password) {
  const r = await api('POST', '/api/v1/auth/login', null, { username, password });
  if (r.status !== 200) throw new Error(`API login of ${username}: ${r.status} ${JSON.stringify(r.data)}`);
  return r.data;
}

// Tokens, ids and display names of the demo users, and the units the scenarios use.
const ctx = {};
async function setUp() {
  for (const u of Object.values(demo)) {
    const s = await apiLogin(u.username, u.password);
    u.token = s.token;
    u.id = s.user.id;
    u.display = s.user.display_name;
    u.me = await apiOk('GET', '/api/v1/me', u.token);
  }
  ctx.county = demo.leader.me.scope_unit_id;
  ctx.unit = demo.unit.me.unit_id;
  ctx.unitName = demo.unit.me.unit_name;
}

// ---- the browser ----

// Landing after sign-in by role (the contract).
const LANDING = { leader: 'board', viewer: 'board', bureau: 'queue', unit: 'scorecard', admin: 'board' };

async function viewState(page) {
  return page.evaluate(() => ({
    view: document.body && document.body.dataset.view,
    ready: document.body && document.body.dataset.ready,
    hash: location.hash,
    status: (document.querySelector('[data-testid="status"]') || {}).innerText || '',
  })).catch((e) => ({ error: e.message }));
}

// Waits until the view VIEW has loaded and rendered (dataset.view and dataset.ready "1").
async function waitView(page, view, timeout = WAIT_MS) {
  try {
    await page.waitForFunction((v) => document.body && document.body.dataset.view === v && document.body.dataset.ready === '1',
      view, { timeout });
  } catch (e) {
    throw new Failure(`view "${view}" not ready within ${timeout} ms; the page is at ${JSON.stringify(await viewState(page))}`);
  }
}

// Arms the watch of a reload: after a write the view goes ready "0" then "1".
async function armReload(page) {
  await page.evaluate(() => {
    window.__crmCycled = false;
    if (window.__crmObserver) window.__crmObserver.disconnect();
    window.__crmObserver = new MutationObserver((records) => {
      if (records.some((r) => r.oldValue === '0') || document.body.dataset.ready === '0') window.__crmCycled = true;
    });
    window.__crmObserver.observe(document.body, { attributes: true, attributeFilter: ['data-ready'], attributeOldValue: true });
  });
}

async function waitReloaded(page, view) {
  try {
    await page.waitForFunction((v) => window.__crmCycled && document.body.dataset.ready === '1' && document.body.dataset.view === v,
      view, { timeout: WAIT_MS });
  } catch (e) {
    throw new Failure(`view "${view}" did not reload after the write; the page is at ${JSON.stringify(await viewState(page))}`);
  }
}

// The text of an element by test id: a form control's value (a select's chosen option's text
// and value), otherwise what it shows.
async function readTestId(scope, testid) {
  const loc = scope.getByTestId(testid).first();
  try {
    await loc.waitFor({ state: 'attached', timeout: WAIT_MS });
  } catch {
    throw new Failure(`no element data-testid="${testid}"`);
  }
  return loc.evaluate((el) => {
    if (el.tagName === 'SELECT') return `${el.selectedOptions[0] ? el.selectedOptions[0].textContent : ''} ${el.value}`;
    if (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') return el.value;
    return el.innerText;
  });
}

// Sets a form control by test id: a select gets the first option PICK accepts
// (pick({value, label}) -> bool), anything else is filled with VALUE.
async function setField(page, testid, value, pick) {
  const loc = page.getByTestId(testid).first();
  try {
    await loc.waitFor({ state: 'visible', timeout: WAIT_MS });
  } catch {
    throw new Failure(`no visible form control data-testid="${testid}"`);
  }
  const info = await loc.evaluate((el) => ({
    tag: el.tagName, type: el.type || '', multiple: Boolean(el.multiple),
    options: el.tagName === 'SELECT' ? [...el.options].map((o) => ({ value: o.value, label: o.textContent.trim() })) : [],
  }));
  if (info.tag === 'SELECT') {
    const accept = pick || ((o) => o.value === String(value) || o.label === String(value));
    const chosen = info.options.filter(accept);
    check(chosen.length > 0, `${testid}: no option fits ${JSON.stringify(value)} among ${JSON.stringify(info.options.slice(0, 30))}`);
    await loc.selectOption(info.multiple ? chosen.map((o) => ({ value: o.value })) : { value: chosen[0].value });
    return chosen;
  }
  if (info.tag === 'INPUT' && (info.type === 'checkbox' || info.type === 'radio')) {
    await loc.setChecked(Boolean(value));
    return value;
  }
  check(['INPUT', 'TEXTAREA'].includes(info.tag), `${testid}: a ${info.tag}, not a form control`);
  await loc.fill(String(value));
  return value;
}

// Goes to a view through the menu: its link when it shows; on a phone the menu may sit behind
// a toggle (data-testid nav-toggle, not in the contract: then the hash is set instead, and
// said so).
async function goTo(page, navTestid, hash, view, notes) {
  const link = page.getByTestId(navTestid).first();
  if (!(await link.isVisible())) {
    const toggle = page.getByTestId('nav-toggle').first();
    if (await toggle.count() && await toggle.isVisible()) await toggle.click();
  }
  if (await link.isVisible()) {
    await link.click();
  } else {
    notes.push(`${navTestid} not visible: went to ${hash} by the address`);
    await page.evaluate((h) => { location.hash = h; }, hash);
  }
  await waitView(page, view);
}

async function signIn(page, user, landing) {
  await page.goto(`${BASE}/#/login`);
  await waitView(page, 'login');
  await page.getByTestId('login-username').fill(user.username);
  await page.getByTestId('login-password').fill(user.password);
  await page.getByTestId('login-submit').click();
  await waitView(page, landing);
  const who = await readTestId(page, 'whoami');
  check(who.includes(user.display), `whoami shows "${who}", not the user's name "${user.display}"`);
}

async function signOut(page, notes) {
  const out = page.getByTestId('logout').first();
  if (!(await out.isVisible())) {
    const toggle = page.getByTestId('nav-toggle').first();
    if (await toggle.count() && await toggle.isVisible()) await toggle.click();
  }
  if (!(await out.isVisible())) notes.push('logout not visible: clicked through the DOM');
  await out.dispatchEvent('click');
  await waitView(page, 'login');
}

// The rows of a table (by its test id), its placeholder rows ("no data") left out.
async function tableRows(page, testid, rowTestid) {
  const table = page.getByTestId(testid).first();
  await table.waitFor({ state: 'attached', timeout: WAIT_MS });
  const rows = rowTestid ? table.getByTestId(rowTestid) : table.locator('tbody tr:not(.empty)');
  return rows.allInnerTexts();
}

async function statusText(page) {
  const s = page.getByTestId('status').first();
  try {
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="status"]');
      return el && !el.hidden && el.innerText.trim() !== '';
    }, null, { timeout: WAIT_MS });
  } catch {
    throw new Failure('no message in the status region after the write');
  }
  return s.innerText();
}

// ---- the scenarios ----

// A township head reads their scorecard: the unit, its quota, progress and rank as the API
// has them, and its projects, only theirs.
async function scorecard(page, vp, notes) {
  const u = demo.unit;
  await signIn(page, u, LANDING.unit);
  const sc = await apiOk('GET', `/api/v1/units/${ctx.unit}/scorecard?year=${YEAR}`, u.token);
  const unitText = await readTestId(page, 'scorecard-unit');
  check(unitText.includes(sc.unit.name), `scorecard-unit shows "${unitText}", not ${sc.unit.name}`);
  expectAmount('scorecard-quota', await readTestId(page, 'scorecard-quota'), sc.quota && sc.quota.signing_amount_yuan);
  // Progress: the signing progress against the quota (a percentage; none without a quota),
  // and the verified amount when it shows one.
  const progress = await readTestId(page, 'scorecard-progress');
  expectPercent('scorecard-progress', progress, sc.progress.signing_progress);
  if (progress.includes('¥')) expectAmount('scorecard-progress', progress, sc.actual.verified.signing_amount_yuan);
  if (sc.rank) {
    const rank = await readTestId(page, 'scorecard-rank');
    check(new RegExp(`(^|\\D)${sc.rank.rank}(\\D|$)`).test(rank), `scorecard-rank shows "${rank}", the API says ${sc.rank.rank} of ${sc.rank.of}`);
  }
  // The projects: as many rows as the unit's projects the API gives this user, each one of
  // them, none of another unit's (the county's other projects, as the admin sees them).
  const mine = await apiAll('/api/v1/projects', u.token);
  check(mine.length > 0 && mine.every((p) => p.unit_id === ctx.unit || p.unit_name === ctx.unitName),
    `the API gives ${u.username} projects of other units (${mine.length})`);
  const others = (await apiAll('/api/v1/projects', demo.admin.token)).filter((p) => !mine.some((m) => m.id === p.id));
  check(others.length > 0, 'the demo has no projects outside the township: the scope check would prove nothing');
  const rows = await tableRows(page, 'scorecard-projects');
  check(rows.length === mine.length, `scorecard-projects has ${rows.length} rows, the API gives ${u.username} ${mine.length} projects`);
  for (const p of mine) {
    check(rows.some((r) => r.includes(p.code) || r.includes(p.name)), `scorecard-projects misses ${p.code} ${p.name}`);
  }
  for (const p of others) {
    check(!rows.some((r) => r.includes(p.code)), `scorecard-projects shows ${p.code} ${p.name} of ${p.unit_name}`);
  }
  notes.push(`${rows.length} projects, quota ${await readTestId(page, 'scorecard-quota')}`);
}

// A squad member (the investment-promotion centre) logs a meeting from #/log; the
// interaction is then in the API with what was typed.
async function logMeeting(page, vp, notes) {
  const u = demo.bureau;
  await signIn(page, u, LANDING.bureau);
  const projects = (await apiAll('/api/v1/projects', u.token)).filter((p) => p.unit_id === ctx.unit);
  check(projects.length > 0, `no project of unit ${ctx.unit} for the meeting`);
  const project = projects[0];
  await goTo(page, 'nav-log', '#/log', 'log', notes);
  const summary = `浏览器测试 ${RUN}-${vp}：与客商会见，商谈二期扩产与用地指标。`;
  const place = `县政府第三会议室 ${vp}`;
  const nextStep = `报送用地预审材料 ${RUN}`;
  const participants = `客商代表王某 ${vp}`;
  await setField(page, 'log-project', project.id,
    (o) => o.value === String(project.id) || o.label.includes(project.code) || o.label.includes(project.name));
  await setField(page, 'log-kind', 'meeting', (o) => o.value === 'meeting' || o.label === '会见');
  await setField(page, 'log-date', TODAY);
  await setField(page, 'log-place', place);
  await setField(page, 'log-summary', summary);
  // A county leader present: the demo leader when the list has them, else its first.
  const leaderOptions = await page.getByTestId('log-leaders').first().evaluate((el) =>
    [...el.querySelectorAll('option')].filter((o) => o.value && !o.disabled).map((o) => o.value));
  check(leaderOptions.length > 0, 'log-leaders offers no leader');
  const leaderId = leaderOptions.includes(String(demo.leader.id)) ? String(demo.leader.id) : leaderOptions[0];
  await setField(page, 'log-leaders', leaderId, (o) => o.value === leaderId);
  await setField(page, 'log-participants', participants);
  await setField(page, 'log-next-step', nextStep);
  await setField(page, 'log-next-due', TODAY);
  await armReload(page);
  await page.getByTestId('log-submit').click();
  await waitReloaded(page, 'log');
  const msg = await statusText(page);
  const found = await apiOk('GET', `/api/v1/interactions?project_id=${project.id}&q=${encodeURIComponent(`${RUN}-${vp}`)}`, u.token);
  check(found.items.length === 1, `the API has ${found.items.length} interactions of project ${project.id} with "${RUN}-${vp}" after the form said "${msg}"`);
  const it = found.items[0];
  check(it.summary === summary, `the summary saved is "${it.summary}", typed "${summary}"`);
  check(it.kind === 'meeting', `kind ${it.kind}, not meeting`);
  check(it.occurred_on === TODAY, `occurred_on ${it.occurred_on}, not ${TODAY}`);
  check(it.place === place, `place "${it.place}", typed "${place}"`);
  check(it.next_step === nextStep, `next_step "${it.next_step}", typed "${nextStep}"`);
  check(it.next_step_due === TODAY, `next_step_due ${it.next_step_due}, not ${TODAY}`);
  check(it.participants.some((x) => x.includes('客商代表王某')), `participants ${JSON.stringify(it.participants)}`);
  check(JSON.stringify(it.leader_ids) === JSON.stringify([Number(leaderId)]), `leader_ids ${JSON.stringify(it.leader_ids)}, chose ${leaderId}`);
  check(it.created_by === u.id, `created_by ${it.created_by}, not ${u.username} (${u.id})`);
  notes.push(`interaction ${it.id} on ${project.code}; status "${msg.trim().slice(0, 60)}"`);
}

// A claim reported by the township (through the API), verified by the investment-promotion
// centre in #/queue: the county's verified signing moves by its amount, on the board and in
// the API.
async function verifyClaim(page, vp, notes) {
  const reporter = demo.unit;
  const u = demo.bureau;
  const amount = vp === 'desktop' ? 123450000 : 234560000;  // ¥1.23亿 and ¥2.35亿: they show on the board
  const investors = await apiAll('/api/v1/investors', reporter.token);
  check(investors.length > 0, `no investor in ${reporter.username}'s scope`);
  const project = await apiOk('POST', '/api/v1/projects', reporter.token, {
    code: `T-BR-${RUN}-${vp}`, name: `浏览器测试认定项目 ${RUN} ${vp}`, unit_id: ctx.unit,
    investor_id: investors[0].id, leader_id: demo.leader.id, planned_investment_yuan: amount, stage: 'negotiating',
  });
  const contract = await apiOk('POST', '/api/v1/contracts', reporter.token, {
    project_id: project.id, kind: 'formal', amount_yuan: amount, signed_on: TODAY, evidence: `正式投资合同 ${RUN}`,
  });
  await apiOk('POST', `/api/v1/projects/${project.id}/transitions`, reporter.token, { to: 'signed' });
  const statsPath = `/api/v1/stats/units/${ctx.county}?year=${YEAR}`;
  const before = (await apiOk('GET', statsPath, u.token)).verified.signing_amount_yuan;

  await signIn(page, u, LANDING.bureau);
  await goTo(page, 'nav-board', '#/board', 'board', notes);
  const boardBefore = await readTestId(page, 'board-signed-verified');
  expectAmount('board-signed-verified before', boardBefore, before);

  await goTo(page, 'nav-queue', '#/queue', 'queue', notes);
  const row = page.locator(`[data-testid="queue-row"][data-kind="contract"][data-id="${contract.id}"]`);
  check(await row.count() === 1, `queue-table has no row for contract ${contract.id} (rows: ${(await tableRows(page, 'queue-table', 'queue-row')).length})`);
  const rowText = await row.innerText();
  expectAmount(`the queue row of contract ${contract.id}`, rowText.slice(rowText.indexOf('¥') >= 0 ? rowText.indexOf('¥') : 0), amount);
  await armReload(page);
  await row.getByTestId('verify').click();
  await waitReloaded(page, 'queue');
  const msg = await statusText(page);
  check(await row.count() === 0, `contract ${contract.id} is still in the queue after it was verified`);

  const c = await apiOk('GET', `/api/v1/contracts/${contract.id}`, u.token);
  check(c.state === 'verified' && c.verified_by === u.id, `contract ${contract.id} is ${c.state}, verified by ${c.verified_by}, after the queue said "${msg}"`);
  const after = (await apiOk('GET', statsPath, u.token)).verified.signing_amount_yuan;
  check(after - before === amount, `the county's verified signing moved from ${before} to ${after}, not by ${amount}`);

  await goTo(page, 'nav-board', '#/board', 'board', notes);
  const boardAfter = await readTestId(page, 'board-signed-verified');
  expectAmount('board-signed-verified after', boardAfter, after);
  const a = parseAmount(boardBefore);
  const b = parseAmount(boardAfter);
  check(Math.abs(b.value - a.value - amount) <= b.step, `the board moved from "${boardBefore}" to "${boardAfter}", not by ${amount} yuan`);
  notes.push(`contract ${contract.id} (${amount} yuan): board ${boardBefore} -> ${boardAfter}`);

  // Live: a claim verified elsewhere (through the API) moves the open board, with no reload, on
  // the event stream (GET /api/v1/events).
  const project2 = await apiOk('POST', '/api/v1/projects', reporter.token, {
    code: `T-BL-${RUN}-${vp}`, name: `浏览器测试实时项目 ${RUN} ${vp}`, unit_id: ctx.unit,
    investor_id: investors[0].id, leader_id: demo.leader.id, planned_investment_yuan: amount, stage: 'negotiating',
  });
  const contract2 = await apiOk('POST', '/api/v1/contracts', reporter.token, {
    project_id: project2.id, kind: 'formal', amount_yuan: amount, signed_on: TODAY, evidence: `正式投资合同 实时 ${RUN}`,
  });
  await apiOk('POST', `/api/v1/projects/${project2.id}/transitions`, reporter.token, { to: 'signed' });
  const shown = await readTestId(page, 'board-signed-verified');
  const navigations = await page.evaluate(() => performance.getEntriesByType('navigation').length);
  const t0 = Date.now();
  await apiOk('POST', `/api/v1/contracts/${contract2.id}/verify`, u.token, {});
  await page.waitForFunction((text) => {
    const el = document.querySelector('[data-testid="board-signed-verified"]');
    return el && el.textContent !== text;
  }, shown, { timeout: 10000 }).catch(() => {
    throw new Failure(`the open board still shows "${shown}" 10 s after contract ${contract2.id} was verified`);
  });
  const live = await readTestId(page, 'board-signed-verified');
  expectAmount('board-signed-verified live', live, after + amount);
  check(await page.evaluate(() => performance.getEntriesByType('navigation').length) === navigations,
    'the board was reloaded, not refreshed in place');
  notes.push(`live: the open board showed ${live} ${Date.now() - t0} ms after contract ${contract2.id} was verified through the API`);
}

// An administrator creates a user in #/admin/users; the new user signs in.
async function createUser(page, vp, notes) {
  const u = demo.admin;
  await signIn(page, u, LANDING.admin);
  await goTo(page, 'nav-users', '#/admin/users', 'users', notes);
  const username = `br${RUN}.${vp}`;
  const display = `浏览器测试用户 ${vp}`;
  const password = `Jishan-${RUN}-Xs7`;
  await setField(page, 'user-username', username);
  await setField(page, 'user-display-name', display);
  await setField(page, 'user-role', 'unit', (o) => o.value === 'unit');
  await setField(page, 'user-unit', ctx.unit, (o) => o.value === String(ctx.unit) || o.label.includes(ctx.unitName));
  await setField(page, 'user-password', password);
  await armReload(page);
  await page.getByTestId('user-submit').click();
  await waitReloaded(page, 'users');
  const msg = await statusText(page);
  const rows = await tableRows(page, 'users-table', 'user-row');
  check(rows.some((r) => r.includes(username)), `users-table has no row for ${username} after "${msg}"`);
  const made = (await apiAll('/api/v1/users', u.token)).find((x) => x.username === username);
  check(made, `the API has no user ${username}`);
  check(made.role === 'unit' && made.unit_id === ctx.unit && made.display_name === display && !made.disabled,
    `user ${username} is ${JSON.stringify(made)}`);
  await signOut(page, notes);
  await signIn(page, { username, password, display }, LANDING.unit);
  const unitText = await readTestId(page, 'scorecard-unit');
  check(unitText.includes(ctx.unitName), `the new user's scorecard is of "${unitText}", not ${ctx.unitName}`);
  notes.push(`user ${made.id} ${username} signed in`);
}

// The county board for a leader: figures as the API has them, the ranking in its order,
// both charts drawn; then the timings of fresh loads.
async function board(page, vp, notes, timings) {
  const u = demo.leader;
  await signIn(page, u, LANDING.leader);
  const yearText = await readTestId(page, 'board-year');
  const ym = /(19|20)\d\d/.exec(yearText);
  check(ym, `board-year shows "${yearText}"`);
  const year = Number(ym[0]);
  if (year !== YEAR) notes.push(`the board opens on ${year}, not ${YEAR}`);
  const stats = await apiOk('GET', `/api/v1/stats/units/${ctx.county}?year=${year}`, u.token);
  const ranking = await apiOk('GET', `/api/v1/stats/ranking?year=${year}`, u.token);
  expectAmount('board-target', await readTestId(page, 'board-target'), stats.target && stats.target.signing_amount_yuan);
  expectAmount('board-signed-verified', await readTestId(page, 'board-signed-verified'), stats.verified.signing_amount_yuan);
  expectAmount('board-signed-reported', await readTestId(page, 'board-signed-reported'), stats.reported.signing_amount_yuan);
  expectPercent('board-time-progress', await readTestId(page, 'board-time-progress'), stats.time_progress);
  expectPercent('board-start-rate', await readTestId(page, 'board-start-rate'), stats.verified.start_rate);
  const needed = await readTestId(page, 'board-needed-starts');
  if (stats.verified.needed_starts === null || stats.verified.needed_starts === undefined) {
    check(!/\d/.test(needed), `board-needed-starts shows "${needed}", the API has none`);
  } else {
    check(new RegExp(`(^|\\D)${stats.verified.needed_starts}(\\D|$)`).test(needed),
      `board-needed-starts shows "${needed}", the API says ${stats.verified.needed_starts}`);
  }
  const rows = await tableRows(page, 'board-ranking', 'ranking-row');
  check(rows.length === ranking.units.length, `board-ranking has ${rows.length} rows, the API ranks ${ranking.units.length} units`);
  ranking.units.forEach((r, i) => {
    check(rows[i].includes(r.unit.name), `ranking row ${i + 1} is "${rows[i].replace(/\s+/g, ' ')}", the API ranks ${r.unit.name} there`);
  });
  for (const chart of ['chart-signing', 'chart-starts']) {
    const canvas = page.getByTestId(chart).locator('canvas').first();
    try {
      await canvas.waitFor({ state: 'visible', timeout: WAIT_MS });
    } catch {
      throw new Failure(`${chart} holds no visible <canvas>`);
    }
    // Drawn: a canvas of some size with more than a few colours on it.
    const drawn = await canvas.evaluate((c) => {
      const g = c.getContext('2d');
      if (!g || !c.width || !c.height) return { width: c.width, height: c.height, colours: 0 };
      const d = g.getImageData(0, 0, c.width, c.height).data;
      const colours = new Set();
      for (let i = 0; i < d.length && colours.size < 50; i += 4 * 7) if (d[i + 3]) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      return { width: c.width, height: c.height, colours: colours.size };
    });
    check(drawn.width > 100 && drawn.height > 100 && drawn.colours >= 3, `${chart}: the canvas looks blank: ${JSON.stringify(drawn)}`);
  }
  notes.push(`year ${year}, ${rows.length} ranked units, target ${await readTestId(page, 'board-target')}`);

  // Timings: fresh loads of #/board in the signed-in tab (the token survives a reload).
  const runs = [];
  for (let i = 0; i < TIMING_LOADS; i++) {
    await page.reload({ waitUntil: 'load' });
    await waitView(page, 'board');
    try {
      await page.waitForFunction(() => performance.getEntriesByName('board-rendered').length > 0
        && performance.getEntriesByName('first-contentful-paint').length > 0, null, { timeout: WAIT_MS });
    } catch {
      const marks = await page.evaluate(() => ({
        rendered: performance.getEntriesByName('board-rendered').length,
        paint: performance.getEntriesByType('paint').map((e) => e.name),
      }));
      throw new Failure(`no board-rendered mark or first-contentful-paint after a load: ${JSON.stringify(marks)}`);
    }
    runs.push(await page.evaluate(() => ({
      first_contentful_paint_ms: performance.getEntriesByName('first-contentful-paint')[0].startTime,
      board_rendered_ms: performance.getEntriesByName('board-rendered')[0].startTime,
      dom_content_loaded_ms: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
    })));
  }
  const round = (x) => Math.round(x * 10) / 10;
  timings[vp] = {
    loads: runs.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)]))),
    median_first_contentful_paint_ms: round(median(runs.map((r) => r.first_contentful_paint_ms))),
    median_board_rendered_ms: round(median(runs.map((r) => r.board_rendered_ms))),
  };
}

const SCENARIOS = { scorecard, log: logMeeting, verify: verifyClaim, users: createUser, board };

// ---- the harness's own check: crm serves the page, chromium starts, a screenshot ----

async function smoke(browser, vp) {
  const res = await fetch(`${BASE}/`, { headers: { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
  const type = res.headers.get('content-type') || '';
  const csp = res.headers.get('content-security-policy');
  await res.text();
  const context = await browser.newContext({ ...VIEWPORTS[vp], locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  const seen = [];
  await watchProblems(context, page, seen);
  try {
    const nav = await page.goto(`${BASE}/`);
    check(nav && nav.status() === 200, `GET / in the browser: ${nav && nav.status()}`);
    await page.screenshot({ path: path.join(ARTIFACTS, `smoke-${vp}.png`) });
    check(res.status === 200 && type.startsWith('text/html'), `GET / for a browser: ${res.status} ${type}, not an HTML page`);
    check(csp && /script-src/.test(csp), `GET /: no Content-Security-Policy with script-src (${csp})`);
    // The CSP watch can fail a test: an inline script is what the policy refuses.
    await page.evaluate(() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.head.append(s); });
    await expectSoon(() => seen.some((p) => p.startsWith('CSP violation')),
      `an inline script ran or was refused unnoticed: the CSP watch saw ${JSON.stringify(seen)}`);
    return `page ${type}, CSP "${csp.slice(0, 80)}…", inline script refused and reported`;
  } finally {
    await context.close();
  }
}

async function expectSoon(fn, message) {
  const deadline = Date.now() + 5000;
  while (!fn()) {
    check(Date.now() < deadline, message);
    await new Promise((r) => setTimeout(r, 20));  // polls the condition; it ends as soon as it holds
  }
}

// Page errors, console errors, CSP violations and 5xx answers, into PROBLEMS.
async function watchProblems(context, page, problems) {
  await context.exposeBinding('__crmCspViolation', (_src, v) => {
    problems.push(`CSP violation: ${v.directive} refused ${v.blocked || 'inline'} (${v.source}:${v.line}) ${v.sample || ''}`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__crmCspViolation({ directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile,
        line: e.lineNumber, sample: e.sample });
    }, true);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()} (${m.location().url || '?'}:${m.location().lineNumber})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 500) problems.push(`${r.status()} from ${r.request().method()} ${r.url()}`); });
  page.on('dialog', (d) => { problems.push(`unexpected ${d.type()} dialog: ${d.message()}`); d.dismiss().catch(() => {}); });
}

// ---- main ----

async function runOne(browser, name, vp, timings) {
  const context = await browser.newContext({ ...VIEWPORTS[vp], locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  const problems = [];
  const notes = [];
  await watchProblems(context, page, problems);
  const shot = path.join(ARTIFACTS, `${name}-${vp}.png`);
  const t0 = Date.now();
  let error = null;
  try {
    await SCENARIOS[name](page, vp, notes, timings);
  } catch (e) {
    error = e instanceof Failure ? e.message : (e.stack || String(e));
  }
  // A round trip after any pending violation event, so that its report is in before the end.
  await page.evaluate(() => new Promise((r) => { setTimeout(r, 0); })).catch(() => {});
  // From the top: a full-page shot of a scrolled page draws the sticky header mid-page.
  await page.evaluate(() => window.scrollTo(0, 0)).catch(() => {});
  await page.screenshot({ path: shot, fullPage: true }).catch((e) => notes.push(`no screenshot: ${e.message}`));
  await context.close();
  if (problems.length) error = [error, ...problems].filter(Boolean).join('\n      ');
  return { name, vp, ok: !error, error, notes, seconds: (Date.now() - t0) / 1000, shot };
}

const only = (process.env.BROWSER_SCENARIOS || Object.keys(SCENARIOS).join(',')).split(',').map((s) => s.trim()).filter(Boolean);
const viewports = (process.env.BROWSER_VIEWPORTS || 'desktop,phone').split(',').map((s) => s.trim()).filter(Boolean);
for (const n of only) if (n !== 'smoke' && !SCENARIOS[n]) { console.error(`no scenario ${n}`); process.exit(2); }
for (const v of viewports) if (!VIEWPORTS[v]) { console.error(`no viewport ${v}`); process.exit(2); }

// Headless, as root: Chromium's sandbox cannot run as root, so it is off (--no-sandbox;
// playwright-core passes it too unless chromiumSandbox is set). The pages are our own.
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'], timeout: 60000 });
console.log(`browser: ${CHROMIUM} ${browser.version()}, crm at ${BASE}, today ${TODAY}, run ${RUN}`);
const results = [];
const timings = {};
try {
  for (const vp of viewports) {
    try {
      const said = await smoke(browser, vp);
      results.push({ name: 'smoke', vp, ok: true, notes: [said], seconds: 0 });
    } catch (e) {
      results.push({ name: 'smoke', vp, ok: false, error: e instanceof Failure ? e.message : (e.stack || String(e)), notes: [] });
    }
  }
  if (!(only.length === 1 && only[0] === 'smoke')) {
    let ready = true;
    try {
      await setUp();
    } catch (e) {
      ready = false;
      results.push({ name: 'setup', vp: '-', ok: false, error: e.stack || String(e), notes: [] });
    }
    for (const name of ready ? only.filter((n) => n !== 'smoke') : []) {
      for (const vp of viewports) results.push(await runOne(browser, name, vp, timings));
    }
  }
} finally {
  await browser.close();
}

for (const r of results) {
  console.log(`${r.ok ? 'ok    ' : 'FAILED'} ${r.name.padEnd(9)} ${r.vp.padEnd(7)} ${r.seconds ? `${r.seconds.toFixed(1)} s` : ''}`);
  for (const n of r.notes || []) console.log(`       ${n}`);
  if (!r.ok) console.log(`       ${r.error}`);
}
if (Object.keys(timings).length) {
  const out = {
    measured_at: new Date().toISOString(), crm: BASE, chromium: CHROMIUM, loads: TIMING_LOADS,
    how: 'a reload of #/board in a signed-in tab (the HTTP cache as the browser keeps it); '
      + 'first-contentful-paint and the board-rendered mark, from the navigation start',
    viewports: timings,
  };
  writeFileSync(path.join(ARTIFACTS, 'timings.json'), `${JSON.stringify(out, null, 2)}\n`);
  for (const [vp, t] of Object.entries(timings)) {
    console.log(`timings ${vp}: first contentful paint ${t.median_first_contentful_paint_ms} ms, board rendered ${t.median_board_rendered_ms} ms (median of ${TIMING_LOADS})`);
  }
}
console.log(`screenshots in ${ARTIFACTS}`);
const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
