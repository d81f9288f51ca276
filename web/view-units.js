// Units (admin): the caller's unit tree (GET /api/v1/units, pre-order with depth, drawn indented)
// and POST /api/v1/units (name, code, kind, parent).

import * as api from './api.js';
import { h, clear, table, field, select, setReady, showError, status, clearFieldErrors, submitting } from './ui.js';
import { unitKindName, UNIT_KIND_NAMES, dateTime } from './format.js';
import { unitOptions } from './scope.js';

export async function mount(ctx) {
  const { session } = ctx;
  const keyFor = api.operationKey();

  const name = h('input', { type: 'text', testid: 'unit-name', maxlength: '200', placeholder: '例如：东风镇', required: true });
  const code = h('input', { type: 'text', testid: 'unit-code', maxlength: '64', autocapitalize: 'none', spellcheck: 'false',
    placeholder: '例如：sx.yc.js.dongfeng', required: true });
  const kind = select({ testid: 'unit-kind' }, Object.entries(UNIT_KIND_NAMES).map(([value, text]) => ({ value, text })), 'town');
  const parent = select({ testid: 'unit-parent' }, [], null);
  const submit = h('button.btn.btn-primary', { type: 'submit', testid: 'unit-submit' }, '创建单位');
  const form = h('form.card', { novalidate: true },
    h('h2', '新建单位'),
    h('div.form-grid',
      field('上级单位', 'parent_id', parent),
      field('名称', 'name', name),
      field('编码', 'code', code, '小写字母、数字、. _ -，通常为上级编码加“.”和简称'),
      field('类型', 'kind', kind)),
    submit);
  const listBox = h('div');
  ctx.root.append(h('div.view-head', h('h1', '单位管理')), form, h('section.card', h('h2', '单位树'), listBox));

  let codeTouched = false;
  code.addEventListener('input', () => { codeTouched = code.value !== ''; });
  parent.addEventListener('change', suggestCode);
  function suggestCode() {
    if (codeTouched) return;
    const p = session.units.find((u) => String(u.id) === parent.value);
    code.value = p ? `${p.code}.` : '';
  }

  function fillParents() {
    const keep = parent.value;
    clear(parent);
    for (const o of unitOptions(session, (u) => !u.retired && u.kind !== 'department')) parent.append(h('option', { value: o.value }, o.text));
    if (keep) parent.value = keep;
    suggestCode();
  }

  async function load() {
    setReady('units', false);
    try {
      const list = await api.get('/units');
      if (!ctx.alive()) return;
      session.units = list.items; // the other views' unit pickers see the new unit too
      fillParents();
      const base = list.items.length ? Math.min(...list.items.map((u) => u.depth)) : 0;
      clear(listBox).append(table([
        {
          title: '名称', cell: (u) => {
            const el = h('span.tree-name', u.name);
            el.style.paddingLeft = `${(u.depth - base) * 1.25}em`;
            return el;
          },
        },
        { title: '编码', cell: (u) => h('code', u.code) },
        { title: '类型', cell: (u) => unitKindName(u.kind) },
        { title: '状态', cell: (u) => (u.retired ? h('span.tag.tag-grey', '已撤并') : '') },
        { title: '创建时间', cell: (u) => dateTime(u.created_at) },
      ], list.items, {
        testid: 'units-table', rowTestid: 'unit-row', empty: '没有单位。',
        rowAttrs: (u) => ({ dataset: { id: u.id, depth: u.depth, code: u.code } }),
      }));
    } catch (err) {
      if (ctx.alive()) showError(err);
    } finally {
      if (ctx.alive()) setReady('units', true);
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const body = { parent_id: Number(parent.value), code: code.value.trim(), name: name.value.trim(), kind: kind.value };
    await submitting(ctx, form, submit, null, async () => {
      const r = await api.request('POST', '/units', { body, idempotencyKey: keyFor(body) });
      if (!ctx.alive()) return;
      status(r.replayed ? `单位 ${body.name} 已经创建过。` : `已创建单位 ${r.data.name}（${r.data.code}）。`, 'ok');
      name.value = '';
      code.value = '';
      codeTouched = false;
      await load();
    });
  });

  await load();
  return undefined;
}
