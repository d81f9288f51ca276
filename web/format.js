// Formatting for people: money in ¥亿 from integer yuan, percentages from fractions, dates and
// times in China Standard Time (Asia/Shanghai), and the Chinese names of the API's enums.

const TZ = 'Asia/Shanghai';

function group(n) {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Integer yuan as ¥亿 with two decimals: 1927000000 -> "¥19.27亿". null/undefined -> "—". */
export function yi(yuan) {
  if (yuan === null || yuan === undefined || yuan === '') return '—';
  const n = Number(yuan);
  if (!Number.isFinite(n)) return '—';
  // Hundredths of 亿 (1 亿 = 10^8 yuan, so one hundredth is 10^6 yuan), rounded half up.
  const sign = n < 0 ? '-' : '';
  const hundredths = Math.round(Math.abs(n) / 1e6);
  const whole = Math.floor(hundredths / 100);
  const frac = String(hundredths % 100).padStart(2, '0');
  return `${sign}¥${group(whole)}.${frac}亿`;
}

/** The number of 亿 with two decimals, for charts (a Number). */
export function yiNumber(yuan) {
  return Math.round(Number(yuan || 0) / 1e6) / 100;
}

/** Integer yuan in full: 800000000 -> "¥800,000,000元". */
export function yuanFull(yuan) {
  if (yuan === null || yuan === undefined) return '—';
  return `¥${group(yuan)}元`;
}

/** A fraction as a percentage: 0.741154 -> "74.1%"; null -> "—". */
export function pct(fraction, digits = 1) {
  if (fraction === null || fraction === undefined || !Number.isFinite(Number(fraction))) return '—';
  return `${(Number(fraction) * 100).toFixed(digits)}%`;
}

const dateFmt = new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' });
const timeFmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false,
});

/** Today in Asia/Shanghai, YYYY-MM-DD. */
export function today() {
  return dateFmt.format(new Date());
}

/** The current year in Asia/Shanghai. */
export function thisYear() {
  return Number(today().slice(0, 4));
}

/** A calendar date (YYYY-MM-DD, already China Standard Time) as written; null -> "—". */
export function date(d) {
  return d ? String(d).slice(0, 10) : '—';
}

/** An RFC 3339 timestamp (any offset) shown in Asia/Shanghai: "2026/12/03 20:22". */
export function dateTime(ts) {
  if (!ts) return '—';
  const t = new Date(ts);
  if (Number.isNaN(t.getTime())) return String(ts);
  return timeFmt.format(t);
}

/** The month (1-12) of a YYYY-MM-DD date. */
export function monthOf(d) {
  return Number(String(d).slice(5, 7));
}

export const STAGES = ['planned', 'lead', 'negotiating', 'signed', 'started', 'in_production', 'at_capacity',
  'stalled', 'terminated'];
export const STAGE_NAMES = {
  planned: '谋划', lead: '线索', negotiating: '在谈', signed: '签约', started: '开工',
  in_production: '投产', at_capacity: '达产', stalled: '停滞', terminated: '终止',
};
export function stageName(s) { return STAGE_NAMES[s] || s || '—'; }

export const ROLE_NAMES = { admin: '管理员', leader: '县级领导', bureau: '投促中心', unit: '乡镇/园区', viewer: '考核办' };
export function roleName(r) { return ROLE_NAMES[r] || r; }

export const UNIT_KIND_NAMES = {
  province: '省', city: '市', county: '县', town: '镇', township: '乡', zone: '园区/开发区', department: '部门',
};
export function unitKindName(k) { return UNIT_KIND_NAMES[k] || k; }

export const CONTRACT_KIND_NAMES = { intent: '意向/框架协议', formal: '正式合同', capital_increase: '增资' };
export function contractKindName(k) { return CONTRACT_KIND_NAMES[k] || k; }

export const CLAIM_STATE_NAMES = { reported: '已上报', verified: '已认定', revoked: '已撤销' };
export function claimStateName(s) { return CLAIM_STATE_NAMES[s] || s; }

export const INTERACTION_KIND_NAMES = {
  meeting: '会见', site_visit: '考察/调研', negotiation: '洽谈', coordination: '协调', call: '电话',
};
export function interactionKindName(k) { return INTERACTION_KIND_NAMES[k] || k; }

export const ALERT_KIND_NAMES = {
  not_started: '逾期未开工', at_risk: '开工风险', no_progress: '无进展',
  behind_time_progress: '落后序时进度', forecast_under_target: '预测不达标',
};
export function alertKindName(k) { return ALERT_KIND_NAMES[k] || k; }
export const ALERT_LEVEL_NAMES = { red: '红色', yellow: '黄色' };

export const TABLE_NAMES = {
  project: '项目', contract: '签约', project_start: '开工', interaction: '洽谈记录', problem: '问题',
};
export const ACTION_NAMES = { insert: '新增', update: '修改', delete: '删除' };

/** Any JSON value, briefly, for the history's before/after. */
export function brief(v) {
  if (v === null || v === undefined) return '空';
  if (typeof v === 'string') return v.length > 60 ? `${v.slice(0, 60)}…` : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}
