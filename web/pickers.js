// Pickers for the quick forms: a project <select> (the first 200 projects of the caller's scope,
// or those a search finds through GET /api/v1/projects?q=) and an investor <select>.

import * as api from './api.js';
import { h, clear, field } from './ui.js';
import { stageName } from './format.js';

/**
 * A project picker: a search box and a <select> (data-testid = testid) whose values are project
 * ids. `selected` (an id) is kept in the list even when no search finds it.
 * Returns {search, count, select, project(id), reload(), ready (a Promise)}.
 */
export function projectPicker({ testid, selected, optional, onChange }) {
  const known = new Map();
  const sel = h('select', { testid });
  const search = h('input', { type: 'search', placeholder: '输入名称或编号搜索项目', 'aria-label': '搜索项目', maxlength: '200' });
  const found = h('span.muted.picker-count');

  function fill(items) {
    const keep = sel.options.length ? sel.value : (selected ? String(selected) : '');
    clear(sel);
    sel.append(h('option', { value: '' }, optional ? '— 不指定项目 —' : '— 请选择项目 —'));
    const ids = new Set();
    for (const p of items) {
      known.set(p.id, p);
      ids.add(p.id);
      sel.append(h('option', { value: p.id }, `${p.code} ${p.name}（${stageName(p.stage)}）`));
    }
    const k = Number(keep);
    if (k && !ids.has(k) && known.has(k)) {
      const p = known.get(k);
      sel.append(h('option', { value: p.id }, `${p.code} ${p.name}（${stageName(p.stage)}）`));
    }
    sel.value = keep;
  }

  async function load(q) {
    const page = await api.get('/projects', { q, limit: 200 });
    let items = page.items;
    if (selected && !known.has(Number(selected)) && !items.some((p) => p.id === Number(selected))) {
      try { items = [await api.get(`/projects/${selected}`), ...items]; } catch { /* not in scope */ }
    }
    fill(items);
    found.textContent = page.next_cursor ? `显示前 ${page.items.length} 个，可搜索缩小范围` : `${page.items.length} 个项目`;
  }

  let timer = null;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { load(search.value.trim()).catch(() => {}); }, 300);
  });
  sel.addEventListener('change', () => { if (onChange) onChange(known.get(Number(sel.value)) || null); });

  const ready = load('');
  return {
    search,
    count: found,
    select: sel,
    project: (id) => known.get(Number(id)) || null,
    /** Reads the list again (after a write: stages change), keeping the choice. */
    reload: () => { known.clear(); return load(search.value.trim()); },
    ready,
  };
}

/** An investor picker: the first 200 investors of the caller's scope, with a search. */
export function investorPicker({ testid }) {
  const known = new Map();
  const sel = h('select', { testid });
  const search = h('input', { type: 'search', placeholder: '搜索客商', 'aria-label': '搜索客商', maxlength: '200' });

  async function load(q) {
    const page = await api.get('/investors', { q, limit: 200 });
    const keep = sel.value;
    clear(sel);
    sel.append(h('option', { value: '' }, '— 不指定客商 —'));
    for (const i of page.items) {
      known.set(i.id, i);
      sel.append(h('option', { value: i.id }, i.name));
    }
    if (keep && known.has(Number(keep)) && ![...sel.options].some((o) => o.value === keep)) {
      sel.append(h('option', { value: keep }, known.get(Number(keep)).name));
    }
    sel.value = keep;
  }
  let timer = null;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { load(search.value.trim()).catch(() => {}); }, 300);
  });
  const ready = load('');
  return { search, select: sel, investor: (id) => known.get(Number(id)) || null, ready };
}

/** A form field for a picker: its label, the search box, the select, and the count. */
export function pickerField(label, name, picker, hint) {
  const f = field(label, name, picker.select, hint);
  f.insertBefore(picker.search, picker.select);
  if (picker.count) picker.select.after(picker.count);
  return f;
}
