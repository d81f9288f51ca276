// A project: its data and stage (GET /api/v1/projects/{id}, with its ETag), its claims
// (contracts and starts, each reported / verified / revoked), its interactions, its history (the
// audit log, GET /api/v1/projects/{id}/history) and buttons for the stage moves the lifecycle
// allows (POST /api/v1/projects/{id}/transitions; the database has the last word and its refusal
// is shown). The plan and dates are edited with PATCH and If-Match (412 when someone changed the
// project meanwhile).

import * as api from './api.js';
import { h, clear, add, table, facts, setReady, showError, status, field, clearFieldErrors, link } from './ui.js';
import {
  yi, yuanFull, date, dateTime, stageName, contractKindName, claimStateName, interactionKindName,
  TABLE_NAMES, ACTION_NAMES, brief, today, thisYear,
} from './format.js';
import { loadLeaders } from './scope.js';

const WRITERS = new Set(['admin', 'bureau', 'unit']);
const LADDER = ['planned', 'lead', 'negotiating', 'signed', 'started', 'in_production', 'at_capacity'];

/**
 * The stages a project may move to from where it is (DESIGN.md section 3, as the database's
 * project_check_transition enforces it): one step up, never skipping; back down only before
 * signing; stalled from any active stage but at_capacity, and from stalled only back to the stage
 * it stalled from; terminated from anything but terminated.
 */
export function allowedMoves(p) {
  if (p.stage === 'terminated') return [];
  if (p.stage === 'stalled') return [p.stalled_from, 'terminated'].filter(Boolean);
  const rank = LADDER.indexOf(p.stage);
  const moves = [];
  if (rank >= 0 && rank < 3) moves.push(...LADDER.slice(0, rank).reverse());
  if (rank >= 0 && rank + 1 < LADDER.length) moves.unshift(LADDER[rank + 1]);
  if (p.stage !== 'at_capacity') moves.push('stalled');
  moves.push('terminated');
  return moves;
}

const MOVE_HINTS = {
  signed: '需已上报有效的正式合同，且项目有责任单位、包联领导、投资方和计划投资',
  started: '需已上报开工',
  in_production: '投产日期见右侧',
  at_capacity: '达产日期见右侧',
  terminated: '终止后不可恢复，须填写原因',
};

export async function mount(ctx) {
  const id = Number(ctx.route.params.id);
  const role = ctx.session.me.role;
  const state = { project: null, etag: null };

  const head = h('div.view-head',
    h('h1', { testid: 'project-name' }, '项目'),
    h('div.view-tools', h('span.stage', { testid: 'project-stage' }, '')));
  const body = h('div', h('p.muted', '加载中…'));
  ctx.root.append(head, body);

  async function load() {
    setReady('project', false);
    try {
      const [proj, contracts, starts, interactions, history, leaders] = await Promise.all([
        api.getWithEtag(`/projects/${id}`),
        api.getAll('/contracts', { project_id: id }, 1000),
        api.getAll('/starts', { project_id: id }, 1000),
        api.getAll('/interactions', { project_id: id }, 1000),
        api.get(`/projects/${id}/history`),
        leaderNames(),
      ]);
      if (!ctx.alive()) return;
      state.project = proj.data;
      state.etag = proj.etag;
      render(proj.data, contracts.items, starts.items, interactions.items, history.items, leaders);
    } catch (err) {
      if (!ctx.alive()) return;
      if (err.status === 404) clear(body).append(h('p.muted', '没有这个项目，或它不在您的权限范围内。'));
      showError(err);
    } finally {
      if (ctx.alive()) setReady('project', true);
    }
  }

  function render(p, contracts, starts, interactions, history, leaders) {
    const nameEl = head.querySelector('[data-testid="project-name"]');
    nameEl.textContent = `${p.code} ${p.name}`;
    const stageEl = head.querySelector('[data-testid="project-stage"]');
    stageEl.textContent = p.stage === 'stalled' ? `停滞（原为${stageName(p.stalled_from)}）` : stageName(p.stage);
    stageEl.className = `stage stage-${p.stage}`;
    stageEl.dataset.stage = p.stage;

    const actions = WRITERS.has(role) || role === 'leader'
      ? h('div.actions',
        role !== 'viewer' ? link(`#/log?project=${p.id}`, '记录洽谈', { class: 'btn' }) : null,
        WRITERS.has(role) ? link(`#/report?project=${p.id}`, '上报签约/开工', { class: 'btn' }) : null)
      : null;

    clear(body,
      actions,
      h('section.card', h('h2', '阶段变更'), transitions(p)),
      h('section.card', h('h2', '项目信息'), info(p), WRITERS.has(role) ? editForm(p) : null),
      h('section.card', h('h2', `签约与开工（${contracts.length + starts.length}）`), claims(contracts, starts)),
      h('section.card', h('h2', `洽谈记录（${interactions.length}）`), interactionList(interactions, leaders)),
      h('section.card', h('h2', `变更历史（${history.length}）`), historyList(history)));
  }

  function transitions(p) {
    const box = h('div.transitions', { testid: 'project-transitions' });
    if (!WRITERS.has(role)) {
      box.append(h('p.muted', '您的角色只能查看项目，不能变更阶段。'));
      return box;
    }
    const moves = allowedMoves(p);
    if (!moves.length) {
      box.append(h('p.muted', p.stage === 'terminated' ? `项目已终止：${p.terminated_reason || ''}` : '没有可执行的阶段变更。'));
      return box;
    }
    const needsDate = moves.includes('in_production') || moves.includes('at_capacity');
    const onInput = h('input', { type: 'date', max: today(), value: today(), testid: 'transition-on' });
    const reasonPanel = h('div.inline-panel', { hidden: true });
    const buttons = h('div.button-row', moves.map((to) => {
      const b = h('button.btn', {
        type: 'button', testid: 'transition', dataset: { to },
        title: MOVE_HINTS[to] || '', class: to === 'terminated' ? 'btn-danger' : (LADDER.indexOf(to) > LADDER.indexOf(p.stage) ? 'btn-primary' : null),
      }, `${LADDER.indexOf(to) > LADDER.indexOf(p.stage) && p.stage !== 'stalled' ? '推进到' : '转为'}「${stageName(to)}」`);
      b.addEventListener('click', () => {
        if (to === 'terminated') { openReason(); return; }
        const body = { to };
        if (to === 'in_production' || to === 'at_capacity') body.on = onInput.value || today();
        move(body, b);
      });
      return b;
    }));

    function openReason() {
      const reason = h('textarea', { rows: '2', maxlength: '2000', testid: 'transition-reason', placeholder: '例如：企业资金链断裂，项目终止' });
      const confirm = h('button.btn.btn-danger', { type: 'button', testid: 'transition-confirm' }, '确认终止');
      const cancel = h('button.btn.btn-quiet', { type: 'button' }, '取消');
      const form = h('div', field('终止原因（必填）', 'reason', reason), h('div.button-row', confirm, cancel));
      clear(reasonPanel).append(form);
      reasonPanel.hidden = false;
      reason.focus();
      cancel.addEventListener('click', () => { reasonPanel.hidden = true; clear(reasonPanel); });
      confirm.addEventListener('click', () => {
        if (!reason.value.trim()) {
          showError({ problem: { detail: '请填写终止原因。' }, errors: [{ field: 'reason', message: '必填' }] }, form);
          return;
        }
        move({ to: 'terminated', reason: reason.value.trim() }, confirm, form);
      });
    }

    add(box,
      h('p.muted', `当前阶段：${stageName(p.stage)}。阶段只能逐级推进；签约前可回退，签约后不能回退。`),
      buttons,
      needsDate ? h('label.inline', '投产/达产日期 ', onInput) : null,
      reasonPanel);
    return box;
  }

  async function move(body, button, form) {
    button.disabled = true;
    try {
      const r = await api.request('POST', `/projects/${id}/transitions`, { body });
      if (!ctx.alive()) return;
      status(`已将项目转为「${stageName(r.data.stage)}」。`, 'ok');
      await load();
    } catch (err) {
      if (!ctx.alive()) return;
      showError(err, form);
      button.disabled = false;
    }
  }

  function editForm(p) {
    const plan = h('textarea', { rows: '3', maxlength: '4000', value: p.plan || '' });
    const plannedStart = h('input', { type: 'date', value: p.planned_start_on || '' });
    const expectedSign = h('input', { type: 'date', value: p.expected_sign_on || '' });
    const save = h('button.btn.btn-primary', { type: 'submit' }, '保存');
    const form = h('form.edit-form',
      field('推进计划', 'plan', plan),
      h('div.form-row', field('计划开工日期', 'planned_start_on', plannedStart),
        field('预计签约日期', 'expected_sign_on', expectedSign)),
      save);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearFieldErrors(form);
      const changes = {};
      if (plan.value !== (p.plan || '')) changes.plan = plan.value;
      if (plannedStart.value !== (p.planned_start_on || '')) changes.planned_start_on = plannedStart.value || null;
      if (expectedSign.value !== (p.expected_sign_on || '')) changes.expected_sign_on = expectedSign.value || null;
      if (!Object.keys(changes).length) { status('没有改动。', 'info'); return; }
      save.disabled = true;
      try {
        await api.patch(`/projects/${id}`, changes, state.etag);
        if (!ctx.alive()) return;
        status('已保存项目信息。', 'ok');
        await load();
      } catch (err) {
        if (!ctx.alive()) return;
        save.disabled = false;
        if (err.status === 412) {
          status('项目已被他人修改，已重新载入最新内容，请核对后再保存。', 'error');
          await load();
          return;
        }
        showError(err, form);
      }
    });
    return h('details.edit', h('summary', '编辑推进计划与日期'), form);
  }

  await load();
  return undefined;
}

function info(p) {
  const fiveOne = Object.entries(p.five_one || {});
  return h('div',
    facts([
      ['责任单位', p.unit_name],
      ['投资方', p.investor_name || (p.investor_id ? `#${p.investor_id}` : '')],
      ['包联领导', p.leader_name || (p.leader_id ? `#${p.leader_id}` : '')],
      ['计划投资', p.planned_investment_yuan ? `${yi(p.planned_investment_yuan)}（${yuanFull(p.planned_investment_yuan)}）` : ''],
      ['重点项目', p.is_key ? '是' : '否'],
      ['产业链', p.industry_chain],
      ['园区', p.park],
      ['计划开工', date(p.planned_start_on)],
      ['预计签约', date(p.expected_sign_on)],
      ['签约日期', date(p.signed_on)],
      ['开工日期', date(p.started_on)],
      ['投产日期', date(p.production_on)],
      ['达产日期', date(p.capacity_on)],
      ['最近进展', dateTime(p.last_progress_at)],
      p.terminated_reason ? ['终止原因', p.terminated_reason] : null,
    ].filter(Boolean)),
    p.plan ? h('div.plan', h('h3', '推进计划'), h('p.pre', p.plan)) : null,
    fiveOne.length ? h('div', h('h3', '五个一'), facts(fiveOne.map(([k, v]) => [k, v]))) : null);
}

function stateTag(s) {
  return h('span.tag', { class: s === 'verified' ? 'tag-green' : s === 'revoked' ? 'tag-grey' : 'tag-yellow', dataset: { state: s } },
    claimStateName(s));
}

function claims(contracts, starts) {
  const rows = [
    ...contracts.map((c) => ({ kind: 'contract', date: c.signed_on, c })),
    ...starts.map((s) => ({ kind: 'start', date: s.started_on, c: s })),
  ].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  return table([
    { title: '类别', cell: (r) => (r.kind === 'contract' ? `签约 · ${contractKindName(r.c.kind)}` : '开工'), class: 'nowrap' },
    { title: '日期', cell: (r) => date(r.date), class: 'nowrap' },
    { title: '金额', cell: (r) => (r.kind === 'contract' ? yi(r.c.amount_yuan) : ''), class: 'num' },
    { title: '状态', cell: (r) => stateTag(r.c.state), class: 'nowrap' },
    { title: '证据', cell: (r) => r.c.evidence, class: 'long' },
    { title: '上报', cell: (r) => dateTime(r.c.reported_at), class: 'nowrap' },
    { title: '认定', cell: (r) => dateTime(r.c.verified_at), class: 'nowrap' },
    { title: '撤销', cell: (r) => (r.c.revoked_at ? `${dateTime(r.c.revoked_at)} ${r.c.revoke_reason || ''}${r.c.revoke_falsified ? '（虚报）' : ''}` : '') },
  ], rows, {
    testid: 'project-claims', rowTestid: 'claim-row', empty: '还没有签约或开工记录。',
    rowAttrs: (r) => ({ dataset: { kind: r.kind, id: r.c.id, state: r.c.state } }),
  });
}

function interactionList(items, leaders) {
  const list = h('ul.timeline', { testid: 'project-interactions' });
  const sorted = [...items].sort((a, b) => (a.occurred_on < b.occurred_on ? 1 : a.occurred_on > b.occurred_on ? -1 : b.id - a.id));
  for (const i of sorted) {
    const names = (i.leader_ids || []).map((lid) => leaders.get(lid) || `领导#${lid}`);
    list.append(h('li', { testid: 'interaction-item', dataset: { id: i.id } },
      h('div.timeline-head', h('strong', date(i.occurred_on)), ' ', h('span.tag', interactionKindName(i.kind)),
        i.place ? ` ${i.place}` : ''),
      h('p.pre', i.summary),
      names.length ? h('p.muted', `县级领导：${names.join('、')}`) : null,
      (i.participants || []).length ? h('p.muted', `参加人员：${i.participants.join('、')}`) : null,
      i.next_step ? h('p', `下一步：${i.next_step}${i.next_step_due ? `（${date(i.next_step_due)} 前）` : ''}`) : null));
  }
  if (!sorted.length) list.append(h('li.muted', '还没有洽谈记录。'));
  return list;
}

function historyList(items) {
  const list = h('ol.timeline.history', { testid: 'project-history' });
  for (const e of [...items].reverse()) {
    const changes = [];
    if (e.action === 'update' && e.before && e.after) {
      for (const k of Object.keys(e.after)) {
        if (k === 'version' || k === 'updated_at' || k === 'last_progress_at') continue;
        changes.push(`${k}：${brief(e.before[k])} → ${brief(e.after[k])}`);
      }
    }
    const what = `${TABLE_NAMES[e.table] || e.table}${ACTION_NAMES[e.action] || e.action}${e.table !== 'project' ? ` #${e.row_id}` : ''}`;
    list.append(h('li', { testid: 'history-item' },
      h('div.timeline-head', h('strong', dateTime(e.at)), ` ${e.actor_name || (e.actor_id ? `用户#${e.actor_id}` : '系统')} · ${what}`),
      changes.length ? h('ul.changes', changes.map((c) => h('li', c))) : null,
      e.action === 'insert' && e.after ? h('p.muted', insertSummary(e)) : null));
  }
  if (!items.length) list.append(h('li.muted', '没有记录。'));
  return list;
}

function insertSummary(e) {
  const a = e.after;
  if (e.table === 'contract') return `${contractKindName(a.kind)} ${yi(a.amount_yuan)}，${date(a.signed_on)}`;
  if (e.table === 'project_start') return `开工日期 ${date(a.started_on)}`;
  if (e.table === 'interaction') return `${interactionKindName(a.kind)} ${date(a.occurred_on)}：${brief(a.summary)}`;
  if (e.table === 'project') return `${a.code || ''} ${a.name || ''}，阶段 ${stageName(a.stage)}`;
  return '';
}

/** Leader id -> name (see scope.js: loadLeaders). */
async function leaderNames() {
  const list = await loadLeaders(thisYear());
  return new Map(list.map((l) => [l.id, l.name]));
}
