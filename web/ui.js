// Small DOM helpers. Everything is built with createElement and textContent, never innerHTML
// with data, so nothing the API returns can run as markup.

/**
 * h('tag.class1.class2', {attrs}, ...children). Attributes: `testid` -> data-testid,
 * `dataset: {}`, `on: {event: fn}`, `class`, `text`, boolean properties (disabled, hidden,
 * checked, selected, required, multiple), anything else through setAttribute. Children: nodes,
 * strings (text nodes), arrays, null/false (skipped).
 */
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.classList.add(...classes);
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'testid') el.dataset.testid = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'class') el.classList.add(...String(v).split(/\s+/).filter(Boolean));
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (['disabled', 'hidden', 'checked', 'selected', 'required', 'multiple', 'readOnly'].includes(k)) el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.append(c);
    else el.append(document.createTextNode(String(c)));
  }
}

/** Empties an element, then appends children (as h() takes them: null and false skipped). */
export function clear(el, ...children) {
  while (el.firstChild) el.firstChild.remove();
  append(el, children);
  return el;
}

/** Appends children as h() takes them (null and false skipped, arrays flattened). */
export function add(el, ...children) {
  append(el, children);
  return el;
}

/** A link to a hash route. */
export function link(hash, text, attrs = {}) {
  return h('a', { href: hash, ...attrs }, text);
}

/**
 * A table: columns [{title, cell: row => node|string, class}], rows; options: testid (table),
 * rowTestid, rowAttrs(row) -> attributes, empty (text when no rows).
 * Wrapped in a div that scrolls horizontally on a phone.
 */
export function table(columns, rows, opts = {}) {
  const thead = h('thead', h('tr', columns.map((c) => h('th', { scope: 'col', class: c.class }, c.title))));
  const tbody = h('tbody');
  fillRows(tbody, columns, rows, opts);
  const t = h('table.data', { testid: opts.testid, class: opts.class }, thead, tbody);
  return h('div.table-wrap', t);
}

/** Appends rows to a table's tbody (for "加载更多"). */
export function fillRows(tbody, columns, rows, opts = {}) {
  if (!rows.length && opts.empty && !tbody.children.length) {
    tbody.append(h('tr.empty', h('td', { colspan: columns.length }, opts.empty)));
    return;
  }
  for (const row of rows) {
    const attrs = { testid: opts.rowTestid, ...(opts.rowAttrs ? opts.rowAttrs(row) : {}) };
    tbody.append(h('tr', attrs, columns.map((c) => h('td', { class: c.class, 'data-label': c.title }, c.cell(row)))));
  }
}

/** A definition list of [label, value, testid?]. */
export function facts(pairs) {
  return h('dl.facts', pairs.map(([label, value, testid]) => [
    h('dt', label),
    h('dd', { testid }, value === null || value === undefined || value === '' ? '—' : value),
  ]));
}

/** A labelled figure card for the boards. */
export function figure(label, value, testid, sub) {
  return h('div.figure', h('div.figure-label', label), h('div.figure-value', { testid }, value),
    sub ? h('div.figure-sub', sub) : null);
}

/** A <select> from [{value, text}], with the given value selected. */
export function select(attrs, options, value) {
  const s = h('select', attrs, options.map((o) => h('option', { value: o.value }, o.text)));
  if (value !== undefined && value !== null) s.value = String(value);
  return s;
}

// ---- forms ----

let fieldSeq = 0;

/**
 * A labelled form field. `name` is the API's member name: errors[].field with that name are shown
 * under this field. The control gets an id, aria-describedby to its error, and data-field.
 */
export function field(label, name, control, hint) {
  fieldSeq += 1;
  const id = control.id || `f${fieldSeq}`;
  control.id = id;
  control.dataset.field = name;
  const err = h('div.field-error', { id: `${id}-err`, 'aria-live': 'polite' });
  control.setAttribute('aria-describedby', `${id}-err`);
  return h('div.field', { dataset: { field: name } }, h('label', { for: id }, label), control,
    hint ? h('div.field-hint', hint) : null, err);
}

/** Clears the errors shown on a form's fields. */
export function clearFieldErrors(form) {
  if (!form) return;
  for (const f of form.querySelectorAll('.field')) {
    f.classList.remove('invalid');
    const e = f.querySelector('.field-error');
    if (e) e.textContent = '';
    const c = f.querySelector('[data-field]');
    if (c) c.removeAttribute('aria-invalid');
  }
}

/** Shows errors [{field, message}] on the form's fields; returns those no field took. */
export function showFieldErrors(form, errors) {
  const rest = [];
  for (const e of errors) {
    const f = form && form.querySelector(`.field[data-field="${CSS.escape(e.field || '')}"]`);
    if (!f) { rest.push(e); continue; }
    f.classList.add('invalid');
    const c = f.querySelector('[data-field]');
    if (c) c.setAttribute('aria-invalid', 'true');
    const box = f.querySelector('.field-error');
    box.textContent = box.textContent ? `${box.textContent}；${e.message}` : e.message;
  }
  return rest;
}

function labelOf(form, name) {
  const f = form && form.querySelector(`.field[data-field="${CSS.escape(name || '')}"] label`);
  return f ? f.textContent : null;
}

// ---- the status region ----

let statusEl = null;
export function bindStatus(el) { statusEl = el; }

/** A message in the status region: kind 'ok', 'error' or 'info'. */
export function status(message, kind = 'info') {
  if (!statusEl) return;
  clear(statusEl);
  statusEl.className = `status status-${kind}`;
  if (message === null || message === undefined || message === '') { statusEl.hidden = true; return; }
  statusEl.hidden = false;
  // The close button's "×" is drawn by CSS, so the region's text is only the message.
  const close = h('button.status-close', { type: 'button', 'aria-label': '关闭提示', title: '关闭' });
  close.addEventListener('click', () => { statusEl.hidden = true; });
  statusEl.append(close, message instanceof Node ? message : h('p', message));
}

/**
 * Shows an ApiError (or any Error) in the status region: the problem's detail, then each
 * errors[].field and message; and when a form is given, each message on its field too.
 */
export function showError(err, form) {
  clearFieldErrors(form);
  const problem = (err && err.problem) || {};
  const errors = (err && err.errors) || [];
  if (form && errors.length) showFieldErrors(form, errors);
  const detail = problem.detail || problem.title || (err && err.message) || '出错了';
  const box = h('div',
    h('p.status-detail', err && err.status ? `${detail}（${err.status}）` : detail),
    errors.length ? h('ul.status-errors', errors.map((e) => {
      const label = labelOf(form, e.field);
      return h('li', { dataset: { field: e.field || '' } }, label ? `${label} ` : '', h('code', e.field || ''), `: ${e.message}`);
    })) : null,
    problem.request_id ? h('p.status-rid', `请求号 ${problem.request_id}`) : null);
  status(box, 'error');
  if (form && errors.length) {
    const first = form.querySelector('[aria-invalid="true"]');
    if (first) first.focus();
  }
}

/**
 * Runs one submission of a form: its button is disabled while work() runs (a second tap does
 * nothing) and shows `busy` meanwhile if given; an error is shown on the form's fields; the
 * button comes back as it was if the view is still open (ctx.alive()).
 */
export async function submitting(ctx, form, button, busy, work) {
  const label = button.textContent;
  button.disabled = true;
  if (busy) button.textContent = busy;
  try {
    await work();
  } catch (err) {
    if (ctx.alive()) showError(err, form);
  } finally {
    if (ctx.alive()) {
      button.disabled = false;
      button.textContent = label;
    }
  }
}

// ---- readiness (the tests' and timing's marker) ----

/** Marks the view as loading (ready "0") or loaded (ready "1"). */
export function setReady(view, ready) {
  document.body.dataset.view = view;
  document.body.dataset.ready = ready ? '1' : '0';
  const main = document.getElementById('main');
  if (main) main.setAttribute('aria-busy', ready ? 'false' : 'true');
}

/** A placeholder while a view loads. */
export function loadingBox(text = '加载中…') {
  return h('div.loading', { role: 'status' }, h('span.spinner', { 'aria-hidden': 'true' }), text);
}
