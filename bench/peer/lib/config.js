'use strict'
// Settings from the environment. Where crm has the same setting, the peer
// reads crm's variable too, so one environment configures both.

const os = require('node:os')

function int(name, fallback, min, max) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be an integer from ${min} to ${max}, not "${raw}"`)
  return n
}

// libpq's key=value conninfo ("host=/run/pg port=5432 dbname=crm user=x"),
// values optionally single-quoted with backslash escapes.
function parseKeyValue(text) {
  const out = {}
  const re = /\s*([A-Za-z_]+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S*))/gy
  let m
  while ((m = re.exec(text)) !== null && m[0] !== '') {
    out[m[1]] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]
  }
  if (re.lastIndex !== 0 && text.slice(re.lastIndex).trim() !== '')
    throw new Error('DATABASE_URL: cannot read "' + text.slice(re.lastIndex) + '"')
  return out
}

// postgres[ql]://user:password@host:port/dbname?host=/socket/dir&...
// (By hand: WHATWG URL refuses libpq's "postgresql://user@/db?host=/dir".)
function parseUrl(text) {
  const m = /^postgres(?:ql)?:\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?/.exec(text)
  if (!m) throw new Error('DATABASE_URL: not a postgres:// URL')
  const out = {}
  let authority = m[1]
  const at = authority.lastIndexOf('@')
  if (at >= 0) {
    const userinfo = authority.slice(0, at)
    authority = authority.slice(at + 1)
    const colon = userinfo.indexOf(':')
    out.user = decodeURIComponent(colon >= 0 ? userinfo.slice(0, colon) : userinfo)
    if (colon >= 0) out.password = decodeURIComponent(userinfo.slice(colon + 1))
  }
  const hp = /^(\[[^\]]*\]|[^:]*)(?::([0-9]*))?$/.exec(authority)
  if (!hp) throw new Error('DATABASE_URL: cannot read the host "' + authority + '"')
  if (hp[1]) out.host = decodeURIComponent(hp[1].replace(/^\[|\]$/g, ''))
  if (hp[2]) out.port = hp[2]
  if (m[2] && m[2] !== '/') out.dbname = decodeURIComponent(m[2].slice(1))
  for (const [k, v] of new URLSearchParams(m[3] || '')) out[k] = v
  for (const k of Object.keys(out)) if (out[k] === '') delete out[k]
  return out
}

// The options postgres.js takes, from a URL or a key=value conninfo. A host
// starting with "/" is a Unix socket directory, as in libpq.
function databaseOptions(text) {
  const c = /^postgres(ql)?:\/\//.test(text) ? parseUrl(text) : parseKeyValue(text)
  const host = c.host || c.hostaddr || process.env.PGHOST || 'localhost'
  const port = Number(c.port || process.env.PGPORT || 5432)
  const o = {
    port,
    database: c.dbname || process.env.PGDATABASE,
    username: c.user || process.env.PGUSER,
    password: c.password || process.env.PGPASSWORD,
  }
  if (host.startsWith('/')) o.path = `${host}/.s.PGSQL.${port}`
  else o.host = host
  if (c.sslmode && c.sslmode !== 'disable' && c.sslmode !== 'allow' && c.sslmode !== 'prefer')
    o.ssl = c.sslmode
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k]
  return o
}

function load() {
  const url = process.env.DATABASE_URL || process.env.CRM_DATABASE_URL
  if (!url) throw new Error('set DATABASE_URL (a postgres:// URL or a libpq key=value conninfo)')
  const cursorKey = process.env.CRM_CURSOR_KEY || ''
  if (cursorKey && !/^[0-9a-fA-F]{64}$/.test(cursorKey))
    throw new Error('CRM_CURSOR_KEY must be 64 hex characters')
  return {
    host: process.env.HOST || '127.0.0.1',
    port: int('PORT', 8090, 0, 65535),
    workers: int('WORKERS', os.availableParallelism(), 1, 256),
    // Connections per worker. Each carries one request's transaction at a
    // time, sent as one pipelined batch, so it is busy for about one round
    // trip plus PostgreSQL's work; 4 per worker (8 on this 2-core box) keep
    // PostgreSQL's cores busy while more only add backends competing for them
    // (see README.md for the measurements).
    pool: int('POOL', 4, 1, 1000),
    // "pipeline": BEGIN, the session check, the query and COMMIT written at
    // once on a reserved connection (one round trip); "begin": postgres.js's
    // sql.begin() with the two statements pipelined inside (three round trips).
    txMode: process.env.TX_MODE === 'begin' ? 'begin' : 'pipeline',
    db: databaseOptions(url),
    statementTimeoutMs: int('CRM_DB_STATEMENT_TIMEOUT_MS', 5000, 0, 86400000),
    sessionIdleS: int('CRM_SESSION_IDLE_S', 1800, 1, 86400 * 30),
    sessionLifetimeS: int('CRM_SESSION_LIFETIME_S', 43200, 1, 86400 * 365),
    loginMaxFailures: int('CRM_LOGIN_MAX_FAILURES', 5, 1, 1000),
    loginMaxFailuresAddress: int('CRM_LOGIN_MAX_FAILURES_ADDRESS', 20, 1, 100000),
    loginBackoffMaxS: int('CRM_LOGIN_BACKOFF_MAX_S', 900, 1, 86400),
    hashMaxInFlight: int('CRM_HASH_MAX_IN_FLIGHT', 128, 1, 100000),
    cursorKey,
    log: process.env.LOG === '1',
  }
}

module.exports = { load, databaseOptions }
