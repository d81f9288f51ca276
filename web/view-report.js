// Quick form, for a phone: report a signing (POST /api/v1/contracts: kind, amount in yuan, date,
// evidence) or a start (POST /api/v1/starts: date, evidence) of a project. The claim is
// `reported` until another user verifies it (认定). One Idempotency-Key per logical submission.

import * as api from './api.js';
import { h, field, setReady, showError, status, clearFieldErrors, select, link, submitting } from './ui.js';
import { today, yi, CONTRACT_KIND_NAMES } from './format.js';
import { projectPicker, pickerField } from './pickers.js';

export async function mount(ctx) {
  const { route } = ctx;
  setReady('report', false);
  const keyFor = api.operationKey();

  const kind = select({ testid: 'report-kind' },
    [{ value: 'contract', text: '签约（合同）' }, { value: 'start', text: '开工' }],
    route.query.kind === 'start' ? 'start' : 'contract');
  const projects = projectPicker({ testid: 'report-project', selected: route.query.project });
  const contractKind = select({ testid: 'report-contract-kind' },
    Object.entries(CONTRACT_KIND_NAMES).map(([value, text]) => ({ value, text })), 'formal');
  const amount = h('input', {
    type: 'text', inputmode: 'numeric', autocomplete: 'off', testid: 'report-amount', placeholder: '例如 800000000（即 8 亿元）',
  });
  const amountEcho = h('div.field-hint', { 'aria-live': 'polite' });
  const dateInput = h('input', { type: 'date', testid: 'report-date', value: today(), max: today(), required: true });
  const evidence = h('textarea', { testid: 'report-evidence', rows: '3', maxlength: '2000', required: true,
    placeholder: '例如：正式投资合同扫描件、合同编号；开工报告、施工许可证、现场照片' });
  const submit = h('button.btn.btn-primary.btn-block.btn-big', { type: 'submit', testid: 'report-submit' }, '上报');

  const contractKindField = field('合同类型', 'kind', contractKind, '意向/框架协议不计入签约额；增资只计增量');
  const amountField = field('金额（元）', 'amount_yuan', amount);
  amountField.querySelector('.field-error').before(amountEcho);
  const dateField = field('签约日期', 'signed_on', dateInput);

  const form = h('form.card.quick-form', { novalidate: true },
    field('上报类别', 'report_kind', kind),
    pickerField('项目', 'project_id', projects),
    contractKindField,
    amountField,
    dateField,
    field('证明材料', 'evidence', evidence),
    submit);
  ctx.root.append(h('div.view-head', h('h1', '上报签约 / 开工')),
    h('p.note', '上报后须由投促中心或考核办认定，认定后才计入考核。'), form);

  function syncKind() {
    const isContract = kind.value === 'contract';
    contractKindField.hidden = !isContract;
    amountField.hidden = !isContract;
    // The date's API member differs: signed_on for a contract, started_on for a start.
    dateField.dataset.field = isContract ? 'signed_on' : 'started_on';
    dateInput.dataset.field = dateField.dataset.field;
    dateField.querySelector('label').textContent = isContract ? '签约日期' : '开工日期';
    clearFieldErrors(form);
  }
  kind.addEventListener('change', syncKind);
  syncKind();

  amount.addEventListener('input', () => {
    const digits = amount.value.replace(/[,，\s]/g, '');
    amountEcho.textContent = /^\d+$/.test(digits) ? `即 ${yi(Number(digits))}` : '';
  });

  try {
    await projects.ready;
  } catch (err) {
    if (ctx.alive()) showError(err);
  }
  if (!ctx.alive()) return undefined;
  setReady('report', true);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const isContract = kind.value === 'contract';
    const projectId = Number(projects.select.value) || null;
    const local = [];
    if (!projectId) local.push({ field: 'project_id', message: '请选择项目' });
    let amountYuan = null;
    if (isContract) {
      const digits = amount.value.replace(/[,，\s]/g, '');
      if (!/^\d+$/.test(digits) || Number(digits) <= 0) local.push({ field: 'amount_yuan', message: '请填写金额，单位元，正整数' });
      else if (!Number.isSafeInteger(Number(digits))) local.push({ field: 'amount_yuan', message: '金额过大' });
      else amountYuan = Number(digits);
    }
    if (!dateInput.value) local.push({ field: isContract ? 'signed_on' : 'started_on', message: '请填写日期' });
    if (!evidence.value.trim()) local.push({ field: 'evidence', message: '请填写证明材料' });
    if (local.length) {
      showError({ problem: { detail: '请补全必填项。' }, errors: local }, form);
      return;
    }
    const path = isContract ? '/contracts' : '/starts';
    const body = isContract
      ? { project_id: projectId, kind: contractKind.value, amount_yuan: amountYuan, signed_on: dateInput.value, evidence: evidence.value.trim() }
      : { project_id: projectId, started_on: dateInput.value, evidence: evidence.value.trim() };
    await submitting(ctx, form, submit, '正在上报…', async () => {
      const r = await api.request('POST', path, { body: { ...body }, idempotencyKey: keyFor({ path, body }) });
      if (!ctx.alive()) return;
      const what = isContract ? `签约（${CONTRACT_KIND_NAMES[body.kind]} ${yi(body.amount_yuan)}）` : '开工';
      status(h('p', r.replayed ? `这条${what}已经上报过，没有重复上报。` : `已上报${what}，编号 ${r.data.id}，等待认定。`,
        ' ', link(`#/projects/${projectId}`, '查看项目')), 'ok');
      amount.value = '';
      amountEcho.textContent = '';
      evidence.value = '';
      setReady('report', false);
      await projects.reload().catch(() => {});
      if (ctx.alive()) setReady('report', true);
    });
  });
  return undefined;
}
