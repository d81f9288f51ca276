// The verification queue (认定队列, for the investment-promotion centre and the assessment office):
// the reported contracts and starts (GET /api/v1/contracts|starts?state=reported), each verified
// (POST .../verify) or revoked with a reason (POST .../revoke). Claims carry only project_id, so
// each project's code, name and unit are read once (GET /api/v1/projects/{id}) and kept.
// Refreshes every 60 s and when the tab is shown again (live.js), unless a revocation is being
// written.

import * as api from './api.js';
import { h, clear, table, setReady, showError, status, field, link } from './ui.js';
import { yi, date, dateTime, contractKindName } from './format.js';
import { subscribe } from './live.js';

const VERIFIERS = new Set(['bureau', 'viewer']);
const REVOKERS = new Set(['admin', 'bureau', 'unit', 'viewer']);

export async function mount(ctx) {
  const me = ctx.session.me;
  const projects = new Map(); // id -> project (or null when unreadable)
  const keys = new Map(); // "contract:12:v1:verify" -> Idempotency-Key
  let busy = false;
  let panelOpen = false;
  let signature = '';

  const summary = h('p.muted', '加载中…');
  const box = h('div');
  ctx.root.append(
    h('div.view-head', h('h1', '认定队列'), h('div.view-tools', h('span.muted', '每分钟自动刷新'))),
    h('p.note', '认定后计入考核；不能认定本人上报或修改过的记录。撤销须写明原因，虚报将扣减该单位考核分。'),
    summary, box);

  async function projectsOf(ids) {
    const missing = [...new Set(ids)].filter((id) => !projects.has(id));
    for (let i = 0; i < missing.length; i += 6) {
      await Promise.all(missing.slice(i, i + 6).map(async (id) => {
        try { projects.set(id, await api.get(`/projects/${id}`)); } catch (err) {
          if (err.status === 401) throw err;
          projects.set(id, null);
        }
      }));
    }
  }

  async function load(quiet) {
    if (quiet && (busy || panelOpen)) return;
    if (!quiet) setReady('queue', false);
    try {
      const [contracts, starts] = await Promise.all([
        api.getAll('/contracts', { state: 'reported' }, 1000),
        api.getAll('/starts', { state: 'reported' }, 1000),
      ]);
      const rows = [
        ...contracts.items.map((c) => ({ kind: 'contract', c, date: c.signed_on })),
        ...starts.items.map((s) => ({ kind: 'start', c: s, date: s.started_on })),
      ].sort((a, b) => (a.c.reported_at < b.c.reported_at ? -1 : a.c.reported_at > b.c.reported_at ? 1 : 0));
      await projectsOf(rows.map((r) => r.c.project_id));
      if (!ctx.alive()) return;
      const sig = rows.map((r) => `${r.kind}:${r.c.id}:${r.c.version}`).join(',');
      if (quiet && sig === signature) return;
      signature = sig;
      summary.textContent = `待认定：签约 ${contracts.items.length} 条，开工 ${starts.items.length} 条${contracts.truncated || starts.truncated ? '（仅显示前 1000 条）' : ''}。`;
      render(rows);
    } catch (err) {
      if (!ctx.alive()) return;
      showError(err);
    } finally {
      if (ctx.alive() && !quiet) setReady('queue', true);
    }
  }

  function render(rows) {
    const cols = [
      { title: '类别', cell: (r) => (r.kind === 'contract' ? `签约 · ${contractKindName(r.c.kind)}` : '开工'), class: 'nowrap' },
      {
        title: '项目', cell: (r) => {
          const p = projects.get(r.c.project_id);
          return link(`#/projects/${r.c.project_id}`, p ? `${p.code} ${p.name}` : `项目#${r.c.project_id}`);
        },
        class: 'name',
      },
      { title: '单位', cell: (r) => { const p = projects.get(r.c.project_id); return p ? p.unit_name : ''; }, class: 'nowrap' },
      { title: '金额', cell: (r) => (r.kind === 'contract' ? yi(r.c.amount_yuan) : ''), class: 'num' },
      { title: '日期', cell: (r) => date(r.date), class: 'nowrap' },
      { title: '证明材料', cell: (r) => r.c.evidence, class: 'long' },
      { title: '上报时间', cell: (r) => dateTime(r.c.reported_at), class: 'nowrap' },
      { title: '操作', cell: (r) => actions(r), class: 'actions-cell' },
    ];
    clear(box).append(table(cols, rows, {
      testid: 'queue-table', rowTestid: 'queue-row', empty: '没有待认定的记录。',
      rowAttrs: (r) => ({ dataset: { kind: r.kind, id: r.c.id } }),
    }));
  }

  function keyFor(r, action) {
    const k = `${r.kind}:${r.c.id}:v${r.c.version}:${action}`;
    if (!keys.has(k)) keys.set(k, api.newIdempotencyKey());
    return keys.get(k);
  }

  function actions(r) {
    const own = r.c.reported_by === me.id;
    const verify = h('button.btn.btn-primary.btn-small', {
      type: 'button', testid: 'verify', disabled: !VERIFIERS.has(me.role) || own,
      title: own ? '本人上报的记录不能由本人认定' : '',
    }, '认定');
    const revoke = h('button.btn.btn-danger.btn-small', { type: 'button', testid: 'revoke', disabled: !REVOKERS.has(me.role) }, '撤销');
    verify.addEventListener('click', () => doVerify(r, verify));
    revoke.addEventListener('click', () => openRevoke(r, revoke));
    return h('div.button-row', verify, revoke, own ? h('span.muted.small', '本人上报') : null);
  }

  const path = (r) => `/${r.kind === 'contract' ? 'contracts' : 'starts'}/${r.c.id}`;
  const label = (r) => (r.kind === 'contract' ? `签约 #${r.c.id}` : `开工 #${r.c.id}`);

  async function doVerify(r, button) {
    busy = true;
    button.disabled = true;
    try {
      await api.request('POST', `${path(r)}/verify`, { idempotencyKey: keyFor(r, 'verify') });
      if (!ctx.alive()) return;
      status(`已认定${label(r)}。`, 'ok');
      await load(false);
    } catch (err) {
      if (!ctx.alive()) return;
      showError(err);
      button.disabled = false;
    } finally {
      busy = false;
    }
  }

  function openRevoke(r, button) {
    for (const old of box.querySelectorAll('tr.revoke-row')) old.remove();
    const tr = button.closest('tr');
    const reason = h('textarea', { testid: 'revoke-reason', rows: '2', maxlength: '2000', placeholder: '例如：复核发现合同未经企业股东会授权' });
    const falsified = h('input', { type: 'checkbox', testid: 'revoke-falsified' });
    const confirm = h('button.btn.btn-danger', { type: 'button', testid: 'revoke-confirm' }, '确认撤销');
    const cancel = h('button.btn.btn-quiet', { type: 'button' }, '取消');
    const form = h('div.inline-panel',
      h('p', `撤销${label(r)}：撤销后不可恢复。`),
      field('撤销原因（必填）', 'reason', reason),
      h('label.check', falsified, ' 属于虚报（扣减该单位考核分）'),
      h('div.button-row', confirm, cancel));
    const row = h('tr.revoke-row', h('td', { colspan: tr.children.length }, form));
    tr.after(row);
    panelOpen = true;
    reason.focus();
    cancel.addEventListener('click', () => { row.remove(); panelOpen = false; });
    confirm.addEventListener('click', async () => {
      const body = { reason: reason.value.trim(), falsified: falsified.checked };
      if (!body.reason) {
        showError({ problem: { detail: '请填写撤销原因。' }, errors: [{ field: 'reason', message: '必填' }] }, form);
        return;
      }
      busy = true;
      confirm.disabled = true;
      try {
        // The same revocation again (a double tap, a retry) reuses its key; another reason gets a new one.
        const key = keyFor(r, `revoke:${body.falsified}:${body.reason}`);
        await api.request('POST', `${path(r)}/revoke`, { body, idempotencyKey: key });
        if (!ctx.alive()) return;
        panelOpen = false;
        status(`已撤销${label(r)}。`, 'ok');
        await load(false);
      } catch (err) {
        if (!ctx.alive()) return;
        showError(err, form);
        confirm.disabled = false;
      } finally {
        busy = false;
      }
    });
  }

  await load(false);
  const stop = subscribe('queue', () => load(true));
  return { unmount: stop };
}
