'use strict'
// What the peer must do exactly as crm does: the statement texts
// (crm/db/statements.c), the roles of each route (crm/api/routes.c), tokens
// and cursors (crm/auth/token.c, crm/http/query.c), request ids, problem
// documents (crm/http/problem.c) and the checks of query parameters and
// bodies (crm/api/resources.c, crm/http/body.c).

const crypto = require('node:crypto')
const sodium = require('sodium-native')

// ---- statements, as crm prepares them ----
// Tagged templates: postgres.js sends each as a named prepared statement
// whose text ("$1", "$2", ...) is exactly crm's, described once per
// connection and then only bound and executed. `s` is the pool, a reserved
// connection or a transaction.

const SQL = {
  authSession: (s, hash, requestId, roles, idleS) =>
    s`SELECT user_id, username, display_name, role, unit_id, expires_at FROM auth_session(${hash}::bytea, ${requestId}, ${roles}::text[], ${idleS}::integer)`,
  loginLookup: (s, username) =>
    s`SELECT user_id, password_hash FROM auth_login_lookup(${username})`,
  sessionOpen: (s, userId, hash, lifetimeS, requestId, newHash) =>
    s`SELECT json_build_object('expires_at', s.expires_at, 'user', json_build_object('id', s.user_id, 'username', s.username, 'display_name', s.display_name, 'role', s.role, 'unit_id', s.unit_id))::text FROM auth_session_open(${userId}::bigint, ${hash}::bytea, ${lifetimeS}::integer, ${requestId}, ${newHash}) s`,
  projectsGet: (s, id) => s`SELECT (SELECT row_to_json(r)::text FROM project_out r WHERE r.id = ${id}::bigint)`,
  projectsRows: (s, filters, after, limit) =>
    s`SELECT * FROM projects_rows(${filters}::jsonb, ${after}::bigint, ${limit}::integer)`,
  interactionsCreate: (s, body) => s`SELECT interactions_create(${body}::jsonb)::text`,
  statsUnit: (s, id, year, asOf) => s`SELECT stats_unit(${id}::bigint, ${year}::integer, ${asOf}::date)::text`,
}

// ---- roles (crm/auth/roles.c order) ----

const ROLES = {
  any: ['admin', 'leader', 'bureau', 'unit', 'viewer'],
  loggers: ['admin', 'leader', 'bureau', 'unit'], // ADMIN | BUREAU | UNIT | LEADER
}

// ---- problems ----

const REASONS = {
  200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request',
  401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  408: 'Request Timeout', 409: 'Conflict', 412: 'Precondition Failed', 413: 'Content Too Large',
  415: 'Unsupported Media Type', 422: 'Unprocessable Content', 428: 'Precondition Required',
  429: 'Too Many Requests', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error',
  501: 'Not Implemented', 503: 'Service Unavailable',
}

function problem(status, detail, requestId, errors) {
  const p = { type: 'about:blank', title: REASONS[status] || 'Error', status }
  if (detail) p.detail = detail
  if (requestId) p.request_id = requestId
  if (errors) p.errors = errors
  return p
}

// ---- request ids ----

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

function requestId(header) {
  if (typeof header === 'string' && REQUEST_ID.test(header)) return header
  return crypto.randomBytes(10).toString('hex')
}

// ---- tokens: 32 random bytes, base64url; the database keeps BLAKE2b-256 ----

const BASE64URL = /^[A-Za-z0-9_-]*$/

// Bytes of a base64url text without padding, or null where libsodium's
// sodium_base642bin (URLSAFE_NO_PADDING) would refuse it.
function base64urlStrict(text) {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return null
  const raw = Buffer.from(text, 'base64url')
  return raw.toString('base64url') === text ? raw : null // non-zero padding bits
}

function tokenHash(raw) {
  const out = Buffer.allocUnsafe(32)
  sodium.crypto_generichash(out, raw)
  return out
}

function tokenNew() {
  const raw = crypto.randomBytes(32)
  const token = raw.toString('base64url')
  const hash = tokenHash(raw)
  raw.fill(0)
  return { token, hash }
}

// The token hash of an Authorization header (crm/auth/token.c), or null.
function bearerHash(header) {
  if (typeof header !== 'string' || header.length < 7 || header.slice(0, 7).toLowerCase() !== 'bearer ')
    return null
  const t = header.slice(7).replace(/^ +/, '').replace(/ +$/, '')
  if (t.length !== 43) return null
  const raw = base64urlStrict(t)
  if (!raw || raw.length !== 32) return null
  return tokenHash(raw)
}

// ---- cursors: base64url("kind:key" + a 16-byte keyed BLAKE2b tag) ----

const CURSOR_MAC_BYTES = 16
const CURSOR_CHARS = 200
const CURSOR_KEY_MAX = 96
let cursorKey = null

function cursorKeySet(hex) {
  cursorKey = Buffer.from(hex, 'hex')
}

function cursorMac(payload) {
  const mac = Buffer.allocUnsafe(CURSOR_MAC_BYTES)
  sodium.crypto_generichash(mac, payload, cursorKey)
  return mac
}

function cursorEncode(kind, key) {
  const payload = Buffer.from(`${kind}:${key}`)
  return Buffer.concat([payload, cursorMac(payload)]).toString('base64url')
}

// The id after which the page starts, as a decimal text, or null when the
// cursor is not one this list gave out.
function cursorDecode(kind, text) {
  if (text.length === 0 || text.length >= CURSOR_CHARS) return null
  const raw = base64urlStrict(text)
  if (!raw || raw.length <= CURSOR_MAC_BYTES) return null
  const payload = raw.subarray(0, raw.length - CURSOR_MAC_BYTES)
  if (!crypto.timingSafeEqual(cursorMac(payload), raw.subarray(raw.length - CURSOR_MAC_BYTES)))
    return null
  const s = payload.toString('latin1')
  if (!s.startsWith(kind + ':') || s.includes('\0') || s.length - kind.length - 1 > CURSOR_KEY_MAX)
    return null
  const key = parseLL(s.slice(kind.length + 1), 1n, INT64_MAX)
  return key === null ? null : key.toString()
}

// ---- numbers as strtoll reads them ----

const INT64_MAX = 9223372036854775807n
const INT64_MIN = -9223372036854775808n
const STRTOLL = /^[ \t\n\v\f\r]*([+-]?[0-9]+)$/

// strtoll with the whole text consumed; clamps like strtoll (ERANGE).
function strtoll(text) {
  const m = STRTOLL.exec(text)
  if (!m) return null
  let n = BigInt(m[1])
  let range = false
  if (n > INT64_MAX) n = INT64_MAX, range = true
  if (n < INT64_MIN) n = INT64_MIN, range = true
  return { n, range }
}

// crm's parse_ll: the whole text, no overflow, within [min, max].
function parseLL(text, min, max) {
  const r = strtoll(text)
  if (!r || r.range || r.n < min || r.n > max) return null
  return r.n
}

// A path id as handler_path_id takes it: a positive integer, no sign, no
// leading zero, at most 31 characters; else null (404).
function pathId(raw) {
  if (typeof raw !== 'string' || raw.length > 31 || !/^[1-9][0-9]*$/.test(raw)) return null
  return BigInt(raw) <= INT64_MAX ? raw : null
}

// ---- dates ----

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function dateValid(t) {
  if (typeof t !== 'string' || !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(t)) return false
  const y = +t.slice(0, 4), m = +t.slice(5, 7), d = +t.slice(8, 10)
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
  return y >= 1900 && y <= 2999 && m >= 1 && m <= 12 && d >= 1 &&
    d <= DAYS[m - 1] + (m === 2 && leap ? 1 : 0)
}

// ---- list filters of GET /projects (crm/api/resources.c) ----

const STAGES = ['planned', 'lead', 'negotiating', 'signed', 'started', 'in_production',
  'at_capacity', 'stalled', 'terminated']

const PROJECT_FILTERS = [
  ['unit_id', 'id'], ['stage', 'enum', STAGES], ['chain', 'text'], ['is_key', 'bool'],
  ['leader_id', 'id'], ['investor_id', 'id'], ['year', 'year'], ['q', 'text'],
]

// The filters as crm's JSON object (postgres.js serializes it for the jsonb
// parameter), or { problem } naming the first bad one.
function listFilters(query, filters) {
  const json = {}
  for (const [name, type, values] of filters) {
    let v = query[name]
    if (v === undefined) continue
    if (Array.isArray(v)) v = v[0] // evhttp_find_header: the first
    let problemText = null
    switch (type) {
      case 'id':
      case 'year': {
        const r = strtoll(v)
        const lo = type === 'year' ? 1900n : 1n
        const hi = type === 'year' ? 2999n : INT64_MAX
        if (v === '' || !r || r.n < lo || r.n > hi)
          problemText = type === 'year' ? 'must be a year' : 'must be a positive integer'
        else json[name] = Number(r.n)
        break
      }
      case 'bool':
        if (v === 'true' || v === 'false') json[name] = v === 'true'
        else problemText = 'must be true or false'
        break
      case 'enum':
        if (values.includes(v)) json[name] = v
        else problemText = 'is not one of its values'
        break
      case 'text':
        if (Buffer.byteLength(v) <= 200) json[name] = v
        else problemText = 'must be UTF-8 text of at most 200 bytes'
        break
    }
    if (problemText) return { problem: `The query parameter '${name}' ${problemText}.` }
  }
  return { json }
}

// ---- bodies (crm/http/body.c) ----

const INTERACTION_KINDS = ['meeting', 'site_visit', 'negotiation', 'coordination', 'call']

// name, type, required, max, nullable, values
const INTERACTION_FIELDS = [
  ['unit_id', 'integer', true, 0, false],
  ['project_id', 'integer', false, 0, true],
  ['investor_id', 'integer', false, 0, true],
  ['kind', 'enum', true, 0, false, INTERACTION_KINDS],
  ['occurred_on', 'date', true, 0, false],
  ['place', 'string', false, 600, false],
  ['summary', 'string', true, 12000, false],
  ['leader_ids', 'id_array', false, 20, false],
  ['participants', 'string_array', false, 50, false],
  ['next_step', 'string', false, 6000, false],
  ['next_step_due', 'date', false, 0, true],
]

const LOGIN_FIELDS = [
  ['username', 'string', true, 64, false],
  ['password', 'string', true, 1024, false],
]

function fieldError(spec, value) {
  const [, type, , max, nullable, values] = spec
  if (value === null) return nullable ? null : 'must not be null'
  switch (type) {
    case 'string':
      if (typeof value !== 'string') return 'must be a string'
      if (max && Buffer.byteLength(value) > max) return `must be at most ${max} bytes`
      return null
    case 'integer':
      if (!Number.isInteger(value)) return 'must be an integer'
      if (max && (value < 1 || value > max)) return `must be from 1 to ${max}`
      return null
    case 'date':
      return dateValid(value) ? null : 'must be a date written YYYY-MM-DD'
    case 'enum':
      if (typeof value === 'string' && values.includes(value)) return null
      return 'must be one of: ' + values.join(' ')
    case 'id_array':
    case 'string_array':
      if (!Array.isArray(value)) return 'must be an array'
      if (max && value.length > max) return `must have at most ${max} items`
      for (const v of value) {
        if (type === 'id_array' && !(Number.isInteger(v) && v > 0)) return 'must hold positive integers'
        if (type === 'string_array' && !(typeof v === 'string' && Buffer.byteLength(v) <= 200))
          return 'must hold strings of at most 200 bytes'
      }
      return null
  }
  return 'is not acceptable'
}

// crm's body_check: the members in their order, then the missing ones.
// Returns the errors array, or null when the body is acceptable.
function bodyErrors(obj, specs) {
  const errors = []
  for (const key of Object.keys(obj)) {
    const spec = specs.find(s => s[0] === key)
    const msg = spec ? fieldError(spec, obj[key]) : 'is not a field of this request'
    if (msg) errors.push({ field: key, message: msg })
  }
  for (const s of specs)
    if (s[2] && !Object.prototype.hasOwnProperty.call(obj, s[0]))
      errors.push({ field: s[0], message: 'is required' })
  return errors.length ? errors : null
}

// The body as crm's body_object reads it: { value } or { problem }.
function bodyObject(text) {
  if (!text) return { problem: 'A JSON object is required as the request body.' }
  let v
  try {
    v = JSON.parse(text)
  } catch (e) {
    return { problem: `The body is not valid JSON: ${e.message}` }
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    return { problem: 'The body must be a JSON object.' }
  return { value: v }
}

// crm's content_type_is_json: application/json or application/*+json.
function contentTypeIsJson(ct) {
  if (!ct) return false
  const t = ct.split(';', 1)[0].replace(/ +$/, '')
  if (t.length === 16 && t.toLowerCase() === 'application/json') return true
  return t.length > 17 && t.slice(0, 12).toLowerCase() === 'application/' &&
    t.slice(-5).toLowerCase() === '+json'
}

module.exports = {
  SQL, ROLES, REASONS, problem, requestId, tokenNew, bearerHash, cursorKeySet, cursorEncode,
  cursorDecode, parseLL, pathId, dateValid, listFilters, PROJECT_FILTERS, bodyErrors, bodyObject,
  INTERACTION_FIELDS, LOGIN_FIELDS, contentTypeIsJson, INT64_MAX,
}
