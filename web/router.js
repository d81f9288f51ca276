// Hash routes: #/name/arg?key=value. The token never goes into a URL; the hash holds only the
// view and its filters.

const ROUTES = [
  { name: 'login', pattern: /^\/login$/ },
  { name: 'board', pattern: /^\/board$/ },
  { name: 'scorecard', pattern: /^\/scorecard(?:\/(\d+))?$/, params: ['unitId'] },
  { name: 'projects', pattern: /^\/projects$/ },
  { name: 'project', pattern: /^\/projects\/(\d+)$/, params: ['id'] },
  { name: 'log', pattern: /^\/log$/ },
  { name: 'report', pattern: /^\/report$/ },
  { name: 'queue', pattern: /^\/queue$/ },
  { name: 'users', pattern: /^\/admin\/users$/ },
  { name: 'units', pattern: /^\/admin\/units$/ },
];

/** The route of a hash: {name, params, query, path}; name is null for an unknown or empty one. */
export function parse(hash = location.hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const [path, qs = ''] = raw.split('?');
  const query = Object.fromEntries(new URLSearchParams(qs));
  for (const r of ROUTES) {
    const m = r.pattern.exec(path);
    if (m) {
      const params = {};
      (r.params || []).forEach((p, i) => { if (m[i + 1] !== undefined) params[p] = m[i + 1]; });
      return { name: r.name, params, query, path };
    }
  }
  return { name: null, params: {}, query, path };
}

/** A hash for a path and query: href('/projects', {stage: 'signed'}) -> "#/projects?stage=signed". */
export function href(path, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') q.append(k, String(v));
  }
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

/** Goes to a hash; when it is already the current one, calls onChange again (a reload). */
let onChange = () => {};
export function navigate(hash) {
  if (location.hash === hash) onChange(parse(hash));
  else location.hash = hash;
}

/** Starts listening: fn(route) on every change of the hash, and once now. */
export function start(fn) {
  onChange = fn;
  window.addEventListener('hashchange', () => onChange(parse()));
  onChange(parse());
}
