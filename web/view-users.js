// Users (admin): GET /api/v1/users (keyset paging), POST /api/v1/users (username, display name,
// role, unit, password), and disabling / enabling a user with PATCH and If-Match.

import * as api from './api.js';
import { h, table, fillRows, field, select, setReady, showError, status, clearFieldErrors, clear, submitting } from './ui.js';
import { roleName, ROLE_NAMES, dateTime } from './format.js';
import { unitMap, unitOptions } from './scope.js';

export async function mount(ctx) {
  const { session } = ctx;
  const units = unitMap(session);
  const keyFor = api.operationKey();

  const username = h('input', { type: 'text', testid: 'user-username', autocomplete: 'off', autocapitalize: 'none',
    spellcheck: 'false', maxlength: '64', placeholder: '小写字母、数字、. _ -', required: true });
  const displayName = h('input', { type: 'text', testid: 'user-display-name', maxlength: '100', placeholder: '例如：西社镇招商专员' });
  const role = select({ testid: 'user-role' }, Object.entries(ROLE_NAMES).map(([value, text]) => ({ value, text: `${text}（${value}）` })), 'unit');
  const unit = select({ testid: 'user-unit' }, unitOptions(session, (u) => !u.retired), session.me.unit_id);
  const password = h('input', { type: 'password', testid: 'user-password', autocomplete: 'new-password', maxlength: '1024', required: true });
  const submit = h('button.btn.btn-primary', { type: 'submit', testid: 'user-submit' }, '创建用户');
  const form = h('form.card', { novalidate: true },
    h('h2', '新建用户'),
    h('div.form-grid',
      field('用户名', 'username', username),
      field('姓名/显示名', 'display_name', displayName),
      field('角色', 'role', role),
      field('所属单位', 'unit_id', unit),
      field('初始密码', 'password', password, '至少 8 个字符，不能是常见密码或与用户名相同')),
    submit);

  const cols = [
    { title: 'ID', cell: (u) => String(u.id), class: 'num' },
    { title: '用户名', cell: (u) => u.username },
    { title: '姓名', cell: (u) => u.display_name },
    { title: '角色', cell: (u) => roleName(u.role) },
    { title: '单位', cell: (u) => (units.get(u.unit_id) ? units.get(u.unit_id).name : `#${u.unit_id}`) },
    { title: '状态', cell: (u) => (u.disabled ? h('span.tag.tag-grey', '已停用') : h('span.tag.tag-green', '正常')) },
    { title: '创建时间', cell: (u) => dateTime(u.created_at) },
    { title: '操作', cell: (u) => toggleButton(u) },
  ];
  const listBox = h('div');
  const more = h('button.btn.btn-block', { type: 'button', hidden: true, testid: 'users-more' }, '加载更多');
  ctx.root.append(h('div.view-head', h('h1', '用户管理')), form, h('section.card', h('h2', '用户'), listBox, more));

  let cursor = null;
  let tbody = null;
  async function load(first) {
    setReady('users', false);
    try {
      const page = await api.get('/users', { limit: 100, cursor: first ? null : cursor });
      if (!ctx.alive()) return;
      if (first) {
        const t = table(cols, [], { testid: 'users-table' });
        clear(listBox).append(t);
        tbody = t.querySelector('tbody');
      }
      fillRows(tbody, cols, page.items, { rowTestid: 'user-row', rowAttrs: (u) => ({ dataset: { id: u.id, username: u.username } }), empty: '没有用户。' });
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) {
      if (ctx.alive()) showError(err);
    } finally {
      if (ctx.alive()) setReady('users', true);
    }
  }
  more.addEventListener('click', () => load(false));

  function toggleButton(u) {
    if (u.id === session.me.id) return h('span.muted', '本人');
    const b = h('button.btn.btn-small', { type: 'button', testid: 'user-toggle' }, u.disabled ? '启用' : '停用');
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        // If-Match with the version as read: 412 when someone changed the user meanwhile.
        await api.patch(`/users/${u.id}`, { disabled: !u.disabled }, `"${u.version}"`);
        if (!ctx.alive()) return;
        status(`已${u.disabled ? '启用' : '停用'}用户 ${u.username}。`, 'ok');
        await load(true);
      } catch (err) {
        if (!ctx.alive()) return;
        if (err.status === 412) {
          status(`用户 ${u.username} 已被他人修改，列表已刷新，请再试一次。`, 'error');
          await load(true);
          return;
        }
        showError(err);
        b.disabled = false;
      }
    });
    return b;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const body = {
      username: username.value.trim().toLowerCase(),
      display_name: displayName.value.trim(),
      role: role.value,
      unit_id: Number(unit.value),
      password: password.value,
    };
    await submitting(ctx, form, submit, null, async () => {
      const r = await api.request('POST', '/users', { body, idempotencyKey: keyFor(body) });
      if (!ctx.alive()) return;
      status(r.replayed ? `用户 ${body.username} 已经创建过。` : `已创建用户 ${r.data.username}。`, 'ok');
      username.value = '';
      displayName.value = '';
      password.value = '';
      await load(true);
      // The list is in id order, a page at a time: show the new user even when it is not on the first page.
      if (ctx.alive() && tbody && !tbody.querySelector(`tr[data-id="${r.data.id}"]`)) {
        fillRows(tbody, cols, [r.data], { rowTestid: 'user-row', rowAttrs: (x) => ({ dataset: { id: x.id, username: x.username } }) });
      }
    });
  });

  await load(true);
  return undefined;
}
