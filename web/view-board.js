// The county board (县级看板). Charts: Apache ECharts 5.6.0, vendored from the npm package
// echarts@5.6.0 (dist/echarts.min.js -> /assets/echarts.min.js, loaded as a classic script that
// defines window.echarts; licence in /assets/LICENSE-echarts.txt). It runs under the console's
// CSP: it never evals (its one `new Function` is a fallback for parsing GeoJSON maps, unused here).
//
// Figures: GET /api/v1/stats/units/{county}?year= (target, verified and reported signing, time
// progress, start rate, needed starts) and GET /api/v1/stats/ranking?year=&parent={county}.
//
// Monthly series: the API has no monthly series (stats/units gives year-to-date totals only), so
// the charts derive them from the verified claims the caller can read, paging through
// GET /api/v1/contracts?state=verified and GET /api/v1/starts?state=verified (unit_id = the
// county) with the KPI definitions of DESIGN.md section 5: a project's signing counts at its first
// verified formal contract (over all years, so a project signed in an earlier year does not count
// again), capital increases count in their own year, intent contracts never; a start counts for
// the rate when its project was signed in the same year. The derived year total is checked
// against stats/units and a note is shown when they differ (e.g. claims verified after a unit
// moved, which the server attributes by the placement at the time).

import * as api from './api.js';
import { h, clear, table, figure, select, setReady, showError, link } from './ui.js';
import { yi, yiNumber, pct, thisYear, monthOf, date } from './format.js';
import { counties } from './scope.js';
import { subscribe } from './live.js';
import { href } from './router.js';

const MONTHS = Array.from({ length: 12 }, (_, i) => `${i + 1}月`);

export async function mount(ctx) {
  const { session, route } = ctx;
  const all = counties(session);
  const year = Number(route.query.year) || thisYear();
  const countyId = Number(route.query.unit) || all[0].id;

  const yearSelect = select({ testid: 'board-year', 'aria-label': '年度' },
    yearOptions(year), year);
  yearSelect.addEventListener('change', () => {
    location.hash = href('/board', { year: yearSelect.value, unit: all.length > 1 ? countyId : null });
  });
  const unitSelect = all.length > 1
    ? select({ testid: 'board-unit', 'aria-label': '县' }, all.map((c) => ({ value: c.id, text: c.name || `#${c.id}` })), countyId)
    : null;
  if (unitSelect) {
    unitSelect.addEventListener('change', () => { location.hash = href('/board', { year, unit: unitSelect.value }); });
  }

  const title = h('h1', '县级看板');
  const asOf = h('span.muted');
  const figures = h('div.figures', h('p.muted', '加载中…'));
  const signingChart = h('div.chart', { testid: 'chart-signing', role: 'img', 'aria-label': '月度签约额' });
  const startsChart = h('div.chart', { testid: 'chart-starts', role: 'img', 'aria-label': '月度开工' });
  const signingTable = h('div');
  const startsTable = h('div');
  const chartNote = h('p.note');
  const ranking = h('div');

  ctx.root.append(
    h('div.view-head', title, h('div.view-tools', unitSelect, h('label.inline', '年度 ', yearSelect), asOf)),
    figures,
    h('div.grid-2',
      h('section.card', h('h2', '月度签约额（已认定，亿元）'), signingChart, h('details', h('summary', '按月数据'), signingTable)),
      h('section.card', h('h2', '月度开工（已认定，个）'), startsChart, h('details', h('summary', '按月数据'), startsTable))),
    chartNote,
    h('section.card', h('h2', '乡镇（园区）排名'), ranking));

  const charts = { signing: null, starts: null };
  const onResize = () => { for (const c of Object.values(charts)) if (c) c.resize(); };
  window.addEventListener('resize', onResize);

  async function load(quiet) {
    if (!quiet) setReady('board', false);
    try {
      const [stats, rank, monthly] = await Promise.all([
        api.get(`/stats/units/${countyId}`, { year }),
        api.get('/stats/ranking', { year, parent: countyId }),
        monthlySeries(countyId, year),
      ]);
      if (!ctx.alive()) return;
      title.textContent = `${stats.unit.name} ${year}年 招商引资看板`;
      asOf.textContent = `数据截至 ${date(stats.as_of)}`;
      renderFigures(figures, stats);
      renderRanking(ranking, rank);
      drawCharts(charts, signingChart, startsChart, monthly, stats);
      renderMonthlyTables(signingTable, startsTable, monthly);
      const derived = monthly.signing.reduce((a, b) => a + b, 0);
      const official = stats.verified.signing_amount_yuan;
      clear(chartNote).append(
        '月度数据由可见的已认定签约、开工记录逐月汇总（接口暂无月度序列）。',
        derived !== official ? ` 注意：按月汇总 ${yi(derived)} 与统计口径 ${yi(official)} 不一致，以统计口径为准。` : '',
        monthly.truncated ? ' 记录过多，只汇总了前 5000 条。' : '',
        session.me.role === 'unit' ? ' 乡镇账号只能看到本单位的记录，月度图仅含本单位。' : '');
      if (!quiet) performance.mark('board-rendered');
    } catch (err) {
      if (!ctx.alive()) return;
      showError(err);
      if (!quiet) clear(figures).append(h('p.muted', '数据加载失败。'));
    } finally {
      if (ctx.alive()) setReady('board', true);
    }
  }

  await load(false);
  const stop = subscribe('board', () => load(true));
  return {
    unmount() {
      stop();
      window.removeEventListener('resize', onResize);
      for (const c of Object.values(charts)) if (c) c.dispose();
    },
  };
}

function yearOptions(year) {
  const now = thisYear();
  const years = new Set([year]);
  for (let y = now + 1; y >= now - 5; y -= 1) years.add(y);
  return [...years].sort((a, b) => b - a).map((y) => ({ value: y, text: `${y}年` }));
}

function renderFigures(box, s) {
  const t = s.target;
  const v = s.verified;
  const r = s.reported;
  const behind = v.behind === true;
  clear(box).append(
    figure('年度签约目标', t ? yi(t.signing_amount_yuan) : '未设定', 'board-target',
      t ? `签约项目 ${t.signed_count} 个 · 当年开工率 ${pct(t.start_rate, 0)}` : null),
    figure('已认定签约额', yi(v.signing_amount_yuan), 'board-signed-verified',
      `完成 ${pct(v.signing_progress)} · ${v.signed_count} 个项目`),
    figure('上报签约额', yi(r.signing_amount_yuan), 'board-signed-reported',
      `含待认定 · ${r.signed_count} 个项目`),
    figure('序时进度', pct(s.time_progress), 'board-time-progress',
      v.behind === null ? null : (behind ? `落后序时进度（差 ${yi(v.signing_gap_yuan)} 完成全年）` : '不落后于序时进度')),
    figure('当年签约当年开工率', pct(v.start_rate), 'board-start-rate',
      `${v.started_count}/${v.signed_count} · 目标 ${t ? pct(t.start_rate, 0) : '—'}`),
    figure('还需开工项目', v.needed_starts === null ? '—' : `${v.needed_starts} 个`, 'board-needed-starts',
      v.start_rate_met ? '开工率已达标' : '达到目标开工率所需'),
    figure('全年预测签约额', yi(s.forecast_yuan), null, s.forecast_under_target ? '预测低于目标' : null));
  box.querySelector('[data-testid="board-time-progress"]').parentElement.classList.toggle('warn', behind);
  box.querySelector('[data-testid="board-signed-verified"]').parentElement.classList.toggle('warn', behind);
}

function renderRanking(box, rank) {
  const cols = [
    { title: '排名', cell: (u) => String(u.rank), class: 'num' },
    { title: '单位', cell: (u) => link(href(`/scorecard/${u.unit.id}`, { year: rank.year }), u.unit.name) },
    { title: '任务', cell: (u) => (u.target ? yi(u.target.signing_amount_yuan) : '—'), class: 'num' },
    { title: '已认定签约', cell: (u) => yi(u.signing_amount_yuan), class: 'num' },
    { title: '完成率', cell: (u) => pct(u.signing_progress), class: 'num' },
    { title: '上报签约', cell: (u) => yi(u.reported_signing_amount_yuan), class: 'num' },
    { title: '签约项目', cell: (u) => String(u.signed_count), class: 'num' },
    { title: '当年开工', cell: (u) => String(u.started_count), class: 'num' },
    { title: '开工率', cell: (u) => pct(u.start_rate), class: 'num' },
    { title: '序时', cell: (u) => (u.behind === null ? '—' : (u.behind ? h('span.tag.tag-red', '落后') : h('span.tag.tag-green', '正常'))) },
  ];
  clear(box).append(
    h('p.muted', `序时进度 ${pct(rank.time_progress)}，按完成率排名。`),
    table(cols, rank.units, {
      testid: 'board-ranking', rowTestid: 'ranking-row', empty: '没有下级单位。', class: 'nowrap',
      rowAttrs: (u) => ({ dataset: { unitId: u.unit.id }, class: u.behind ? 'row-warn' : null }),
    }));
}

/** Monthly verified signing (yuan) and starts of a county's subtree in a year, from the claims. */
async function monthlySeries(unitId, year) {
  const [formal, increases, starts] = await Promise.all([
    api.getAll('/contracts', { state: 'verified', kind: 'formal', unit_id: unitId }),
    api.getAll('/contracts', { state: 'verified', kind: 'capital_increase', unit_id: unitId, year }),
    api.getAll('/starts', { state: 'verified', unit_id: unitId, year }),
  ]);
  // The first verified formal contract of each project (by date, then id), over all years.
  const first = new Map();
  for (const c of formal.items) {
    const f = first.get(c.project_id);
    if (!f || c.signed_on < f.signed_on || (c.signed_on === f.signed_on && c.id < f.id)) first.set(c.project_id, c);
  }
  const signing = new Array(12).fill(0);
  const signedProjects = new Array(12).fill(0);
  for (const c of first.values()) {
    if (Number(c.signed_on.slice(0, 4)) !== year) continue;
    signing[monthOf(c.signed_on) - 1] += c.amount_yuan;
    signedProjects[monthOf(c.signed_on) - 1] += 1;
  }
  for (const c of increases.items) {
    if (first.has(c.project_id)) signing[monthOf(c.signed_on) - 1] += c.amount_yuan;
  }
  const sameYear = new Array(12).fill(0);
  const other = new Array(12).fill(0);
  const counted = new Set();
  for (const s of starts.items) {
    const f = first.get(s.project_id);
    const signedThisYear = f && Number(f.signed_on.slice(0, 4)) === year;
    if (signedThisYear && !counted.has(s.project_id)) {
      counted.add(s.project_id);
      sameYear[monthOf(s.started_on) - 1] += 1;
    } else {
      other[monthOf(s.started_on) - 1] += 1;
    }
  }
  return {
    signing, signedProjects, sameYear, other,
    truncated: formal.truncated || increases.truncated || starts.truncated,
  };
}

function drawCharts(charts, signingEl, startsEl, m, stats) {
  if (!window.echarts) {
    for (const el of [signingEl, startsEl]) {
      clear(el).append(h('p.muted', '图表组件未能加载，请查看下方按月数据。'));
    }
    return;
  }
  if (!charts.signing) charts.signing = window.echarts.init(signingEl, null, { renderer: 'canvas' });
  if (!charts.starts) charts.starts = window.echarts.init(startsEl, null, { renderer: 'canvas' });
  let run = 0;
  const cumulative = m.signing.map((v) => { run += v; return yiNumber(run); });
  const target = stats.target ? yiNumber(stats.target.signing_amount_yuan) : null;
  const base = {
    animation: false,
    grid: { left: 8, right: 8, top: 40, bottom: 8, containLabel: true },
    // richText: the tooltip is drawn on the canvas. The default HTML tooltip writes markup with
    // style="" attributes through innerHTML, which the console's CSP (style-src 'self') refuses.
    tooltip: { trigger: 'axis', renderMode: 'richText' },
    legend: { top: 0, itemWidth: 14, textStyle: { fontSize: 12 } },
    xAxis: { type: 'category', data: MONTHS, axisLabel: { fontSize: 11 } },
  };
  charts.signing.setOption({
    ...base,
    yAxis: [
      { type: 'value', name: '当月', axisLabel: { fontSize: 11 } },
      { type: 'value', name: '累计', axisLabel: { fontSize: 11 }, splitLine: { show: false } },
    ],
    series: [
      { name: '当月签约（亿元）', type: 'bar', data: m.signing.map(yiNumber), itemStyle: { color: '#c0392b' } },
      {
        name: '累计（亿元）', type: 'line', yAxisIndex: 1, data: cumulative, symbolSize: 5, itemStyle: { color: '#2c3e50' },
        markLine: target === null ? undefined : {
          symbol: 'none', lineStyle: { type: 'dashed', color: '#7f8c8d' }, label: { formatter: `目标 ${target}` },
          data: [{ yAxis: target }],
        },
      },
    ],
  }, true);
  charts.starts.setOption({
    ...base,
    yAxis: { type: 'value', minInterval: 1, axisLabel: { fontSize: 11 } },
    series: [
      { name: '当年签约项目开工', type: 'bar', stack: 's', data: m.sameYear, itemStyle: { color: '#27ae60' } },
      { name: '其他项目开工', type: 'bar', stack: 's', data: m.other, itemStyle: { color: '#95a5a6' } },
    ],
  }, true);
}

function renderMonthlyTables(signingBox, startsBox, m) {
  const rows = MONTHS.map((name, i) => ({ name, i }));
  clear(signingBox).append(table([
    { title: '月份', cell: (r) => r.name },
    { title: '签约额', cell: (r) => yi(m.signing[r.i]), class: 'num' },
    { title: '新签项目', cell: (r) => String(m.signedProjects[r.i]), class: 'num' },
  ], rows));
  clear(startsBox).append(table([
    { title: '月份', cell: (r) => r.name },
    { title: '当年签约项目开工', cell: (r) => String(m.sameYear[r.i]), class: 'num' },
    { title: '其他项目开工', cell: (r) => String(m.other[r.i]), class: 'num' },
  ], rows));
}
