// Quick form, for a phone: log a meeting, site visit, negotiation, coordination or call
// (POST /api/v1/interactions) about a project and/or an investor. One Idempotency-Key per
// logical submission, so a double tap or a retry never logs it twice.

import * as api from './api.js';
import { h, field, setReady, showError, status, clearFieldErrors, select, link, submitting } from './ui.js';
import { today, thisYear, INTERACTION_KIND_NAMES } from './format.js';
import { loadLeaders, ownUnitId } from './scope.js';
import { projectPicker, investorPicker, pickerField } from './pickers.js';

export async function mount(ctx) {
  const { session, route } = ctx;
  setReady('log', false);
  const keyFor = api.operationKey();

  const projects = projectPicker({ testid: 'log-project', selected: route.query.project, optional: true, onChange: fillInvestor });
  const investors = investorPicker({ testid: 'log-investor' });
  const kind = select({ testid: 'log-kind' },
    Object.entries(INTERACTION_KIND_NAMES).map(([value, text]) => ({ value, text })), 'meeting');
  const occurred = h('input', { type: 'date', testid: 'log-date', value: today(), max: today(), required: true });
  const place = h('input', { type: 'text', testid: 'log-place', maxlength: '200', placeholder: '例如：县政府第一会议室' });
  const summary = h('textarea', { testid: 'log-summary', rows: '4', maxlength: '4000', required: true, placeholder: '洽谈的主要内容和结果' });
  const leaders = h('select', { testid: 'log-leaders', multiple: true, size: '4' });
  const participants = h('textarea', { testid: 'log-participants', rows: '2', placeholder: '多人用逗号或顿号分隔，例如：张三、李四' });
  const nextStep = h('input', { type: 'text', testid: 'log-next-step', maxlength: '2000', placeholder: '例如：报送投资协议' });
  const nextDue = h('input', { type: 'date', testid: 'log-next-due' });
  const submit = h('button.btn.btn-primary.btn-block.btn-big', { type: 'submit', testid: 'log-submit' }, '保存洽谈记录');

  const form = h('form.card.quick-form', { novalidate: true },
    pickerField('项目', 'project_id', projects),
    pickerField('客商', 'investor_id', investors, '项目和客商至少填一项'),
    h('div.form-row', field('方式', 'kind', kind), field('日期', 'occurred_on', occurred)),
    field('地点', 'place', place),
    field('内容摘要', 'summary', summary),
    field('出席的县级领导', 'leader_ids', leaders, '可多选（手机上点选，电脑上按住 Ctrl 多选）'),
    field('其他参加人员', 'participants', participants),
    field('下一步工作', 'next_step', nextStep),
    field('下一步完成时限', 'next_step_due', nextDue),
    submit);

  ctx.root.append(h('div.view-head', h('h1', '记录洽谈')), form);

  function fillInvestor(p) {
    if (p && p.investor_id && !investors.select.value && investors.investor(p.investor_id)) {
      investors.select.value = String(p.investor_id);
    }
  }

  try {
    const [, , leaderList] = await Promise.all([projects.ready, investors.ready, loadLeaders(thisYear())]);
    if (!ctx.alive()) return undefined;
    for (const l of leaderList) leaders.append(h('option', { value: l.id }, l.name));
    if (!leaderList.length) leaders.append(h('option', { value: '', disabled: true }, '（没有可选的县级领导）'));
    fillInvestor(projects.project(projects.select.value));
  } catch (err) {
    if (!ctx.alive()) return undefined;
    showError(err);
  }
  setReady('log', true);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const projectId = Number(projects.select.value) || null;
    const investorId = Number(investors.select.value) || null;
    const local = [];
    if (!projectId && !investorId) local.push({ field: 'project_id', message: '请选择项目或客商' });
    if (!occurred.value) local.push({ field: 'occurred_on', message: '请填写日期' });
    if (!summary.value.trim()) local.push({ field: 'summary', message: '请填写内容摘要' });
    if (local.length) {
      showError({ problem: { detail: '请补全必填项。' }, errors: local }, form);
      return;
    }
    const project = projectId ? projects.project(projectId) : null;
    const investor = investorId ? investors.investor(investorId) : null;
    const body = {
      // The interaction belongs to the project's unit, else the investor's, else the caller's.
      unit_id: (project && project.unit_id) || (investor && investor.unit_id) || ownUnitId(session),
      project_id: projectId,
      investor_id: investorId,
      kind: kind.value,
      occurred_on: occurred.value,
      place: place.value.trim(),
      summary: summary.value.trim(),
      leader_ids: [...leaders.selectedOptions].map((o) => Number(o.value)).filter(Boolean),
      participants: participants.value.split(/[,，、;；\n]+/).map((s) => s.trim()).filter(Boolean),
      next_step: nextStep.value.trim(),
      next_step_due: nextDue.value || null,
    };
    await submitting(ctx, form, submit, '正在保存…', async () => {
      const r = await api.request('POST', '/interactions', { body, idempotencyKey: keyFor(body) });
      if (!ctx.alive()) return;
      const msg = h('p', r.replayed ? '这条记录已经保存过，没有重复保存。' : '已保存洽谈记录。',
        projectId ? [' ', link(`#/projects/${projectId}`, '查看项目')] : null);
      status(msg, 'ok');
      // Ready for the next one: the same project and date stay, the rest is cleared.
      for (const el of [place, summary, participants, nextStep, nextDue]) el.value = '';
      for (const o of leaders.options) o.selected = false;
      setReady('log', false);
      await projects.reload().catch(() => {});
      if (ctx.alive()) setReady('log', true);
    });
  });
  return undefined;
}
