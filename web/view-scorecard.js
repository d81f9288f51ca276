// A unit's scorecard (乡镇考核): GET /api/v1/units/{id}/scorecard?year= — quota, progress
// against the time progress (序时进度), rank among its siblings, score, alerts, the projects at
// risk and what would close the gap — with the unit's projects (GET /api/v1/projects?unit_id=).
// #/scorecard is the caller's own unit; #/scorecard/<id> any unit of their subtree.

import * as api from './api.js';
import { h, clear, table, figure, select, setReady, showError, link, facts } from './ui.js';
import { yi, pct, thisYear, date, stageName, alertKindName } from './format.js';
import { ownUnitId } from './scope.js';
import { href } from './router.js';

export async function mount(ctx) {
  const { session, route } = ctx;
  const unitId = Number(route.params.unitId) || ownUnitId(session);
  const year = Number(route.query.year) || thisYear();
  const path = route.params.unitId ? `/scorecard/${unitId}` : '/scorecard';

  const now = thisYear();
  const yearSelect = select({ testid: 'scorecard-year', 'aria-label': '年度' },
    Array.from({ length: 7 }, (_, i) => now + 1 - i).map((y) => ({ value: y, text: `${y}年` })), year);
  yearSelect.addEventListener('change', () => { location.hash = href(path, { year: yearSelect.value }); });

  const title = h('h1', { testid: 'scorecard-unit' }, '本单位考核');
  const body = h('div', h('p.muted', '加载中…'));
  ctx.root.append(h('div.view-head', title, h('div.view-tools', h('label.inline', '年度 ', yearSelect))), body);

  setReady('scorecard', false);
  try {
    const [card, projects] = await Promise.all([
      api.get(`/units/${unitId}/scorecard`, { year }),
      api.getAll('/projects', { unit_id: unitId }, 1000),
    ]);
    if (!ctx.alive()) return undefined;
    title.textContent = `${card.unit.name} ${card.year}年 招商考核`;
    render(body, card, projects);
  } catch (err) {
    if (!ctx.alive()) return undefined;
    clear(body).append(h('p.muted', err.status === 404 ? '没有这个单位，或它不在您的权限范围内。' : '数据加载失败。'));
    showError(err);
  } finally {
    if (ctx.alive()) setReady('scorecard', true);
  }
  return undefined;
}

function render(body, card, projects) {
  const q = card.quota;
  const v = card.actual.verified;
  const r = card.actual.reported;
  const p = card.progress || {};
  const behind = card.behind === true;
  const atRisk = new Map((card.projects_at_risk || []).map((x) => [x.id, x]));

  const figures = h('div.figures',
    figure('年度任务', q ? yi(q.signing_amount_yuan) : '未下达', 'scorecard-quota',
      q ? `签约项目 ${q.signed_count} 个 · 当年开工率 ${pct(q.start_rate, 0)}` : null),
    figure('签约完成率', pct(p.signing_progress), 'scorecard-progress',
      `已认定 ${yi(v.signing_amount_yuan)} · 序时进度 ${pct(p.time_progress ?? card.time_progress)}${behind ? ` · 落后 ${yi(p.behind_by_yuan)}` : ' · 不落后'}`),
    figure('排名', card.rank ? `第 ${card.rank.rank} 名 / ${card.rank.of}` : '—', 'scorecard-rank',
      card.rank && card.rank.parent ? `在${card.rank.parent.name}内` : null),
    figure('考核得分', card.score && card.score.score !== null ? card.score.score.toFixed(2) : '—', 'scorecard-score',
      card.score && card.score.deductions ? deductionText(card.score.deductions) : null),
    figure('当年开工率', pct(v.start_rate), null, `${v.started_count}/${v.signed_count} · 还需开工 ${v.needed_starts ?? '—'} 个`),
    figure('上报签约（含待认定）', yi(r.signing_amount_yuan), null, `${r.signed_count} 个项目`));
  figures.querySelector('[data-testid="scorecard-progress"]').parentElement.classList.toggle('warn', behind);

  const alerts = h('ul.alerts', { testid: 'scorecard-alerts' },
    (card.alerts || []).map((a) => h('li', { testid: 'alert-item', class: `alert alert-${a.level}` },
      h('span.tag', { class: a.level === 'red' ? 'tag-red' : 'tag-yellow' }, alertKindName(a.kind)), ' ',
      a.project_id ? link(`#/projects/${a.project_id}`, `${a.project_code || ''} ${a.project_name || ''}`.trim()) : h('strong', a.unit_name),
      h('span', `：${a.message}`))));
  if (!card.alerts || !card.alerts.length) alerts.append(h('li.muted', '没有预警。'));

  const projectCols = [
    { title: '编号', cell: (x) => x.code, class: 'nowrap' },
    { title: '项目', cell: (x) => link(`#/projects/${x.id}`, x.name), class: 'name' },
    { title: '阶段', cell: (x) => stageName(x.stage) },
    { title: '计划投资', cell: (x) => yi(x.planned_investment_yuan), class: 'num' },
    { title: '签约日期', cell: (x) => date(x.signed_on) },
    { title: '计划开工', cell: (x) => date(x.planned_start_on) },
    {
      title: '风险', cell: (x) => {
        const risk = atRisk.get(x.id);
        if (!risk) return '';
        if (risk.start_reported) return h('span.tag.tag-yellow', '开工待认定');
        return h('span.tag', { class: risk.overdue ? 'tag-red' : 'tag-yellow' }, risk.overdue ? '逾期未开工' : '未开工');
      },
    },
  ];

  const gap = card.close_the_gap || {};
  const gapBox = h('section.card', h('h2', '补足差距'),
    facts([
      ['签约缺口', gap.signing_gap_yuan === null || gap.signing_gap_yuan === undefined ? '—' : yi(gap.signing_gap_yuan)],
      ['在谈项目可补', `${yi(gap.pipeline_total_yuan)}${gap.pipeline_covers_gap === true ? '（可覆盖缺口）' : gap.pipeline_covers_gap === false ? '（不足以覆盖缺口）' : ''}`],
      ['还需开工', gap.needed_starts === null || gap.needed_starts === undefined ? '—' : `${gap.needed_starts} 个`],
      ['全年预测', `${yi(card.forecast_yuan)}${card.forecast_under_target ? '（低于任务）' : ''}`],
    ]),
    (gap.pipeline || []).length ? h('div',
      h('h3', '预计年内签约的项目'),
      table([
        { title: '项目', cell: (x) => link(`#/projects/${x.id}`, `${x.code} ${x.name}`) },
        { title: '阶段', cell: (x) => stageName(x.stage) },
        { title: '预计签约', cell: (x) => date(x.expected_sign_on) },
        { title: '计划投资', cell: (x) => yi(x.planned_investment_yuan), class: 'num' },
      ], gap.pipeline)) : null);

  clear(body).append(
    figures,
    h('section.card', h('h2', '预警'), alerts),
    h('section.card', h('h2', `本单位项目（${projects.items.length}${projects.truncated ? '+' : ''}）`),
      table(projectCols, projects.items, {
        testid: 'scorecard-projects', rowTestid: 'scorecard-project-row', empty: '没有项目。',
        rowAttrs: (x) => ({ dataset: { id: x.id }, class: atRisk.has(x.id) ? 'row-warn' : null }),
      }),
      projects.truncated ? h('p', link(href('/projects', { unit_id: card.unit.id }), '在项目台账中查看全部')) : null),
    gapBox);
}

function deductionText(d) {
  const parts = [];
  if (d.overdue && d.overdue.count) parts.push(`逾期未开工扣 ${d.overdue.points}`);
  if (d.falsified && d.falsified.count) parts.push(`虚报扣 ${d.falsified.points}`);
  return parts.length ? parts.join('，') : '无扣分';
}
