// The project ledger (项目台账): GET /api/v1/projects with its filters (q, stage, unit_id, year:
// the year signed), keyset paging by the opaque next_cursor ("加载更多"), and the ledger as CSV or
// XLSX (GET /api/v1/exports/projects.csv|.xlsx, fetched with the Bearer header and saved from a Blob).
// The filters live in the hash (#/projects?stage=signed&unit_id=5), so a reload keeps them.

import * as api from './api.js';
import { h, table, fillRows, select, setReady, showError, status, link } from './ui.js';
import { yi, date, stageName, STAGES, thisYear } from './format.js';
import { unitOptions } from './scope.js';
import { href, navigate } from './router.js';

const PAGE = 50;

export async function mount(ctx) {
  const { session, route } = ctx;
  const f = {
    q: route.query.q || '',
    stage: route.query.stage || '',
    unit_id: route.query.unit_id || '',
    year: route.query.year || '',
  };

  const q = h('input', { type: 'search', testid: 'filter-q', placeholder: '项目名称或编号', value: f.q, maxlength: '200' });
  const stage = select({ testid: 'filter-stage' },
    [{ value: '', text: '全部阶段' }, ...STAGES.map((s) => ({ value: s, text: stageName(s) }))], f.stage);
  const unit = select({ testid: 'filter-unit' }, [{ value: '', text: '全部单位' }, ...unitOptions(session)], f.unit_id);
  const now = thisYear();
  const year = select({ testid: 'filter-year' },
    [{ value: '', text: '全部（签约年份）' }, ...Array.from({ length: 8 }, (_, i) => now - i).map((y) => ({ value: y, text: `${y}年签约` }))],
    f.year);
  const apply = h('button.btn.btn-primary', { type: 'submit', testid: 'filter-apply' }, '查询');
  const reset = h('a.btn.btn-quiet', { href: '#/projects' }, '清除');

  const filters = h('form.filters',
    h('label', h('span', '关键字'), q),
    h('label', h('span', '阶段'), stage),
    h('label', h('span', '责任单位'), unit),
    h('label', h('span', '签约年份'), year),
    h('div.filter-actions', apply, reset));
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = href('/projects', { q: q.value.trim(), stage: stage.value, unit_id: unit.value, year: year.value });
    navigate(next); // the same filters again reload the list
  });

  const csv = h('button.btn', { type: 'button', testid: 'export-csv' }, '导出 CSV');
  const xlsx = h('button.btn', { type: 'button', testid: 'export-xlsx' }, '导出 Excel');
  const exportNote = h('p.note', '导出按“阶段”“责任单位”筛选；关键字与签约年份不作用于导出（导出接口不支持）。');
  csv.addEventListener('click', () => exportLedger('csv', csv, f));
  xlsx.addEventListener('click', () => exportLedger('xlsx', xlsx, f));

  const cols = [
    { title: '编号', cell: (p) => p.code, class: 'nowrap' },
    { title: '项目名称', cell: (p) => link(`#/projects/${p.id}`, p.name), class: 'name' },
    { title: '责任单位', cell: (p) => p.unit_name, class: 'nowrap' },
    { title: '阶段', cell: (p) => h('span.stage', { class: `stage-${p.stage}` }, stageName(p.stage)), class: 'nowrap' },
    { title: '计划投资', cell: (p) => yi(p.planned_investment_yuan), class: 'num' },
    { title: '重点', cell: (p) => (p.is_key ? '是' : '') },
    { title: '包联领导', cell: (p) => p.leader_name || '' },
    { title: '签约', cell: (p) => date(p.signed_on), class: 'nowrap' },
    { title: '开工', cell: (p) => date(p.started_on), class: 'nowrap' },
  ];
  const rowOpts = { rowTestid: 'ledger-row', rowAttrs: (p) => ({ dataset: { id: p.id } }), empty: '没有符合条件的项目。' };
  const tableBox = table(cols, [], { testid: 'ledger-table' });
  const tbody = tableBox.querySelector('tbody');
  const more = h('button.btn.btn-block', { type: 'button', testid: 'ledger-more', hidden: true }, '加载更多');
  const count = h('p.muted');

  ctx.root.append(
    h('div.view-head', h('h1', '项目台账'), h('div.view-tools', csv, xlsx)),
    filters, exportNote, count, tableBox, more);

  let cursor = null;
  let shown = 0;
  const query = { q: f.q, stage: f.stage, unit_id: f.unit_id, year: f.year, limit: PAGE };

  async function loadPage(first) {
    setReady('projects', false);
    more.disabled = true;
    try {
      const page = await api.get('/projects', { ...query, cursor: first ? null : cursor });
      if (!ctx.alive()) return;
      fillRows(tbody, cols, page.items, rowOpts);
      shown += page.items.length;
      cursor = page.next_cursor;
      more.hidden = !cursor;
      count.textContent = cursor ? `已显示 ${shown} 个项目，还有更多。` : `共 ${shown} 个项目。`;
    } catch (err) {
      if (!ctx.alive()) return;
      showError(err);
    } finally {
      if (ctx.alive()) {
        more.disabled = false;
        setReady('projects', true);
      }
    }
  }
  more.addEventListener('click', () => loadPage(false));
  await loadPage(true);
  return undefined;
}

async function exportLedger(kind, button, f) {
  const text = button.textContent;
  button.disabled = true;
  button.textContent = '正在导出…';
  try {
    const r = await api.download(`/exports/projects.${kind}`, { unit_id: f.unit_id, stage: f.stage },
      kind === 'csv' ? '项目台账.csv' : '项目台账.xlsx');
    status(`已导出 ${r.name}（${Math.max(1, Math.round(r.size / 1024))} KB）。`, 'ok');
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
    button.textContent = text;
  }
}
