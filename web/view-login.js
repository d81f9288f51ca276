// Sign-in: POST /api/v1/auth/login {username, password}; the token goes to sessionStorage
// (see api.js), then GET /api/v1/me and the landing view of the user's role.

import * as api from './api.js';
import { h, field, setReady, showError, clearFieldErrors, status } from './ui.js';

export async function mount(ctx) {
  const username = h('input', { type: 'text', name: 'username', autocomplete: 'username', autocapitalize: 'none',
    spellcheck: 'false', required: true, maxlength: '64', testid: 'login-username' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true,
    maxlength: '1024', testid: 'login-password' });
  const submit = h('button.btn.btn-primary.btn-block', { type: 'submit', testid: 'login-submit' }, '登录');
  const error = h('div.login-error', { testid: 'login-error', role: 'alert', hidden: true });

  const form = h('form.card.login-card', { novalidate: true },
    h('h1', '招商引资管理平台'),
    h('p.muted', '请使用分配给您的账号登录。'),
    field('用户名', 'username', username),
    field('密码', 'password', password),
    error,
    submit);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    error.hidden = true;
    error.textContent = '';
    if (!username.value.trim() || !password.value) {
      error.textContent = '请输入用户名和密码。';
      error.hidden = false;
      (username.value.trim() ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = '正在登录…';
    setReady('login', false);
    try {
      const r = await api.request('POST', '/auth/login', {
        body: { username: username.value.trim(), password: password.value },
        auth: false,
        idempotencyKey: false, // login is public and takes no key
      });
      api.setToken(r.data.token);
      password.value = '';
      status(null);
      await ctx.afterLogin();
    } catch (err) {
      if (!ctx.alive()) return;
      let text;
      if (err.status === 401) text = '用户名或密码不正确。';
      else if (err.status === 429) text = '登录失败次数过多，请稍后再试。';
      else if (err.status === 0) text = '无法连接服务器，请检查网络。';
      else text = '登录失败。';
      error.textContent = `${text}${err.problem && err.problem.detail ? ` ${err.problem.detail}` : ''}`;
      error.hidden = false;
      showError(err, form);
      password.select();
      submit.disabled = false;
      submit.textContent = '登录';
      setReady('login', true);
    }
  });

  ctx.root.append(h('div.login-wrap', form));
  setReady('login', true);
  username.focus();
}
