import * as api from './api.js';

// The caller's units: the tree GET /api/v1/units gave at sign-in (their scope, in tree order),
// the county a board is about, and <option> lists for unit pickers.

/** The counties of the caller's scope; for a town user (whose list starts at the town), the
 *  town's parent, which the API lets them read figures of. */
export function counties(session) {
  const units = session.units || [];
  const found = units.filter((u) => u.kind === 'county');
  if (found.length) return found.map((u) => ({ id: u.id, name: u.name }));
  if (units.length && units[0].parent_id) return [{ id: units[0].parent_id, name: null }];
  return [{ id: session.me.scope_unit_id, name: null }];
}

/** The unit whose scorecard "my unit" means: the unit the caller's scope starts from. */
export function ownUnitId(session) {
  return session.me.scope_unit_id || session.me.unit_id;
}

/** A map id -> unit of the caller's scope. */
export function unitMap(session) {
  return new Map((session.units || []).map((u) => [u.id, u]));
}

/** The units as indented options ({value, text}); `filter` keeps some. */
export function unitOptions(session, filter = () => true) {
  const units = session.units || [];
  const base = units.length ? Math.min(...units.map((u) => u.depth)) : 0;
  return units.filter(filter).map((u) => ({
    value: String(u.id),
    text: `${'　'.repeat(Math.max(0, u.depth - base))}${u.name}${u.retired ? '（已撤并）' : ''}`,
  }));
}

/** The county leaders (包联领导) the caller can name: [{id, name}] from GET /api/v1/stats/leaders
 *  of this year and last (no other route lists leaders for non-admins; GET /users is admin-only).
 *  A leader whose name the caller may not see (null: a county leader seen by a town user) is
 *  listed as "领导#id". */
export async function loadLeaders(year) {
  const [a, b] = await Promise.all([
    api.get('/stats/leaders', { year }).catch(() => ({ leaders: [] })),
    api.get('/stats/leaders', { year: year - 1 }).catch(() => ({ leaders: [] })),
  ]);
  const byId = new Map();
  for (const l of [...b.leaders, ...a.leaders]) {
    if (!byId.has(l.leader_id) || l.name) byId.set(l.leader_id, l.name || `领导#${l.leader_id}`);
  }
  return [...byId.entries()].sort((x, y) => x[0] - y[0]).map(([id, name]) => ({ id, name }));
}
