'use strict'
// The routes of the benchmark, answering as crm does (status, headers that
// matter, JSON bodies). Every authenticated request is one transaction
// holding crm's two statements: the session check (auth_session: token hash,
// request id, the route's roles, the idle timeout), which also sets the
// caller for row-level security, then the route's own statement.

const fastify = require('fastify')
const postgres = require('postgres')
const crm = require('./crm')
const passwords = require('./passwords')

const JSON_TYPE = 'application/json; charset=utf-8'
const PROBLEM_TYPE = 'application/problem+json'
const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  vary: 'Origin',
}

// Methods the peer serves per path (for 405 and OPTIONS), in crm's order.
const PATHS = [
  [/^\/healthz$/, ['GET', 'HEAD']],
  [/^\/api\/v1\/auth\/login$/, ['POST']],
  [/^\/api\/v1\/projects$/, ['GET', 'HEAD']],
  [/^\/api\/v1\/projects\/[^/]+$/, ['GET', 'HEAD']],
  [/^\/api\/v1\/interactions$/, ['POST']],
  [/^\/api\/v1\/stats\/units\/[^/]+$/, ['GET', 'HEAD']],
]

function buildApp(cfg, sql) {
  const app = fastify({
    logger: cfg.log,
    genReqId: req => crm.requestId(req.headers['x-request-id']),
    bodyLimit: 1024 * 1024,
    keepAliveTimeout: 30000,
    return503OnClosing: true,
  })
  app.decorateRequest('tokenHash', null)
  app.decorateRequest('roles', null)
  app.decorateRequest('authChecked', false)

  // Bodies as text: each handler checks the media type and parses JSON
  // itself, in crm's order (caller first, then media type, then JSON).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => done(null, body))

  app.addHook('onRequest', (req, reply, done) => {
    reply.headers(COMMON_HEADERS)
    reply.header('x-request-id', req.id)
    done()
  })

  // ---- answers ----

  function sendJson(reply, status, text) {
    reply.code(status).type(JSON_TYPE).send(text)
  }

  // A Buffer, so that fastify keeps the media type as it is (it would add
  // "; charset=utf-8" to a string's, which crm does not send for problems).
  function sendProblemNow(req, reply, status, detail, errors) {
    reply.code(status).type(PROBLEM_TYPE)
      .send(Buffer.from(JSON.stringify(crm.problem(status, detail, req.id, errors))))
  }

  // As crm: a 4xx (but 401) for a caller whose session was not checked yet
  // waits for the session check, so that a dead session still gets its 401.
  async function sendProblem(req, reply, status, detail, errors) {
    if (req.tokenHash && !req.authChecked && status >= 400 && status < 500 && status !== 401) {
      try {
        await crm.SQL.authSession(sql, ...authParams(req)).values()
        req.authChecked = true
      } catch (e) {
        return dbFailed(req, reply, e)
      }
    }
    sendProblemNow(req, reply, status, detail, errors)
  }

  function unauthorized(req, reply, detail) {
    reply.header('www-authenticate', 'Bearer realm="crm"')
    sendProblemNow(req, reply, 401, detail)
  }

  function unavailable(req, reply, detail) {
    reply.header('retry-after', '1')
    sendProblemNow(req, reply, 503, detail)
  }

  // crm/http/exchange.c exchange_db_failed.
  function dbFailed(req, reply, e) {
    if (!(e instanceof postgres.PostgresError)) {
      req.log.warn({ err: e }, 'db: unavailable')
      return unavailable(req, reply, 'The database is unavailable; retry shortly.')
    }
    req.authChecked = true
    const st = e.code
    if (st === 'CR401') return unauthorized(req, reply, 'The session is missing, expired or ended; log in again.')
    if (st === 'CR404') return sendProblemNow(req, reply, 404, 'No such resource.')
    if (st === 'CR403') return sendProblemNow(req, reply, 403, 'Your role may not do this.')
    if (st === '23505') return sendProblemNow(req, reply, 409, 'This conflicts with an existing record.')
    if (st.startsWith('23') || st.startsWith('22'))
      return sendProblemNow(req, reply, 422, 'The request breaks a rule of the data.')
    if (st === '57014' || st === '40001' || st === '40P01' || st.startsWith('57P') ||
        st.startsWith('08') || st === '53300')
      return unavailable(req, reply, 'The database could not answer in time; retry shortly.')
    console.error(JSON.stringify({ level: 'error', msg: 'db: query failed', request_id: req.id, sqlstate: st, error: e.message }))
    sendProblemNow(req, reply, 500, 'An unexpected error occurred.')
  }

  // crm/api/resources.c resource_write_refused: a write the data refuses.
  function writeRefused(req, reply, e, scopeField) {
    if (!(e instanceof postgres.PostgresError)) return false
    const st = e.code
    let status, field, message
    if (st === '42501' && e.message.includes('row-level security')) {
      status = 422
      field = scopeField || 'body'
      message = 'is not within what you may change'
    } else if (st === '23505') {
      status = 409
      field = e.column_name || fieldFromConstraint(e.constraint_name || '')
      message = e.column_name ? e.message : 'is already taken'
    } else if (st.startsWith('23') || st.startsWith('22')) {
      status = 422
      if (e.column_name) {
        field = e.column_name
        message = e.message
      } else if (e.constraint_name) {
        field = fieldFromConstraint(e.constraint_name)
        message = st === '23503' ? 'does not name a record you can see' : 'is not acceptable'
      } else {
        field = 'body'
        message = e.message
      }
    } else {
      return false
    }
    req.authChecked = true
    sendProblemNow(req, reply, status,
      status === 409 ? 'This conflicts with an existing record.' : 'The request breaks a rule of the data.',
      [{ field, message }])
    return true
  }

  // ---- the database ----

  function authParams(req) {
    return [req.tokenHash, req.id, req.roles, cfg.sessionIdleS]
  }

  // The session check and the route's statement in one transaction; resolves
  // to the route's rows, rejects with the first error.
  // The statement's rows as arrays of values, or (objects) as objects.
  async function pipelinedTx(req, statement, objects) {
    const c = await sql.reserve()
    const q = statement(c)
    const rs = await Promise.allSettled([
      c`begin`.execute(),
      crm.SQL.authSession(c, ...authParams(req)).values().execute(),
      (objects ? q : q.values()).execute(),
      c`commit`.execute(),
    ])
    const failed = rs.find(r => r.status === 'rejected')
    // postgres.js 3.4.9 has already taken a connection that died back to
    // its closed set; releasing it would put it among the open ones and
    // crash the process at the next write (porsager/postgres#1199, #1208).
    if (!failed || !connectionLost(failed.reason)) c.release()
    if (failed) throw failed.reason
    return rs[2].value
  }

  async function beginTx(req, statement, objects) {
    const [, rows] = await sql.begin(t => [
      crm.SQL.authSession(t, ...authParams(req)).values(),
      objects ? statement(t) : statement(t).values(),
    ])
    return rows
  }

  const tx = cfg.txMode === 'begin' ? beginTx : pipelinedTx

  // Runs the route's statement (a function of the connection) for the
  // caller: the text of its one value (null for no row or NULL), or
  // undefined after answering an error.
  async function query(req, reply, statement, scopeField) {
    let rows
    try {
      rows = await tx(req, statement)
    } catch (e) {
      if (scopeField === undefined || !writeRefused(req, reply, e, scopeField)) dbFailed(req, reply, e)
      return undefined
    }
    req.authChecked = true
    return rows.length > 0 ? rows[0][0] : null
  }

  // The same for a statement answering rows: them as objects (a column a
  // key, in order), or undefined after answering an error.
  async function queryRows(req, reply, statement) {
    try {
      const rows = await tx(req, statement, true)
      req.authChecked = true
      return rows
    } catch (e) {
      dbFailed(req, reply, e)
      return undefined
    }
  }

  // ---- the caller ----

  function authenticate(req, reply, done) {
    const q = req.query
    if (q.access_token !== undefined || q.token !== undefined)
      return unauthorized(req, reply, 'A token is accepted only in the Authorization header.')
    const header = req.headers.authorization
    const hash = crm.bearerHash(header)
    if (!hash)
      return unauthorized(req, reply, header !== undefined
        ? 'The Authorization header is not a valid Bearer token.'
        : 'This route needs an Authorization: Bearer token.')
    req.tokenHash = hash
    req.roles = req.routeOptions.config.roles
    done()
  }

  // The request body as an object, or undefined after answering 415/400/422.
  async function body(req, reply, fields) {
    const text = req.body
    if (text && !crm.contentTypeIsJson(req.headers['content-type'])) {
      await sendProblem(req, reply, 415, 'The request body must be application/json.')
      return undefined
    }
    const b = crm.bodyObject(text)
    if (b.problem) {
      await sendProblem(req, reply, 400, b.problem)
      return undefined
    }
    const errors = crm.bodyErrors(b.value, fields)
    if (errors) {
      await sendProblem(req, reply, 422, 'Some fields are not acceptable.', errors)
      return undefined
    }
    return b.value
  }

  function authed(roles) {
    return { onRequest: authenticate, config: { roles } }
  }

  // ---- routes ----

  app.get('/healthz', (req, reply) => {
    sendJson(reply, 200, '{"status":"ok"}')
  })

  // -- POST /api/v1/auth/login (crm/api/auth.c) --

  const throttle = new Map() // key -> { failures, last } (per worker)
  const THROTTLE_MAX = 8192

  function throttleRule(perAddress) {
    return {
      threshold: perAddress ? cfg.loginMaxFailuresAddress : cfg.loginMaxFailures,
      max: cfg.loginBackoffMaxS,
      window: cfg.loginBackoffMaxS * 2,
    }
  }

  function throttleWait(rule, key, now) {
    const e = throttle.get(key)
    if (!e || now - e.last > rule.window || e.failures < rule.threshold) return 0
    const shift = e.failures - rule.threshold
    const delay = Math.min(shift >= 30 ? rule.max : 2 ** shift, rule.max)
    return Math.max(0, e.last + delay - now)
  }

  function throttleFail(rule, key, now) {
    let e = throttle.get(key)
    if (!e) {
      if (throttle.size >= THROTTLE_MAX) throttle.delete(throttle.keys().next().value)
      e = { failures: 0, last: now }
      throttle.set(key, e)
    }
    if (now - e.last > rule.window) e.failures = 0
    e.failures++
    e.last = now
  }

  function loginFailed(req, reply, keys) {
    const now = Math.floor(Date.now() / 1000)
    throttleFail(throttleRule(false), keys[0], now)
    throttleFail(throttleRule(true), keys[1], now)
    unauthorized(req, reply, 'The username or password is not correct.')
  }

  app.post('/api/v1/auth/login', async (req, reply) => {
    const b = await body(req, reply, crm.LOGIN_FIELDS)
    if (!b) return reply
    const username = b.username.replace(/[A-Z]+/g, s => s.toLowerCase())
    const keys = ['u:' + username, 'a:' + req.socket.remoteAddress]
    const now = Math.floor(Date.now() / 1000)
    const wait = Math.max(throttleWait(throttleRule(false), keys[0], now),
      throttleWait(throttleRule(true), keys[1], now))
    if (wait) {
      reply.header('retry-after', String(wait))
      sendProblemNow(req, reply, 429, 'Too many failed logins; wait before trying again.')
      return reply
    }
    let user
    try {
      const rows = await crm.SQL.loginLookup(sql, username).values()
      user = rows.length === 1 ? rows[0] : null
    } catch (e) {
      dbFailed(req, reply, e)
      return reply
    }
    let v
    try {
      v = await passwords.verify(user ? user[1] : null, b.password, cfg.hashMaxInFlight)
    } catch (e) {
      unavailable(req, reply, 'The password could not be checked now; retry shortly.')
      return reply
    }
    if (v.outcome === 'busy') {
      unavailable(req, reply, 'Too many logins at once; retry shortly.')
      return reply
    }
    if (v.outcome !== 'match') {
      if (v.outcome === 'refused')
        console.error(JSON.stringify({ level: 'error', msg: 'login: stored password hash refused', request_id: req.id, user_id: user[0] }))
      loginFailed(req, reply, keys)
      return reply
    }
    let newHash = null
    if (v.needsRehash) {
      try {
        newHash = await passwords.hash(b.password)
      } catch {
        // a failed rehash is no reason to refuse a good password
      }
    }
    const { token, hash } = crm.tokenNew()
    let text
    try {
      const rows = await crm.SQL.sessionOpen(sql, user[0], hash, cfg.sessionLifetimeS, req.id, newHash).values()
      text = rows.length ? rows[0][0] : null
    } catch (e) {
      dbFailed(req, reply, e)
      return reply
    }
    if (!text) {
      loginFailed(req, reply, keys) // disabled since the lookup
      return reply
    }
    const answer = JSON.parse(text)
    answer.token = token
    throttle.delete(keys[0])
    sendJson(reply, 200, JSON.stringify(answer))
    return reply
  })

  // -- GET /api/v1/projects/{id} (resource_get) --

  app.get('/api/v1/projects/:id', authed(crm.ROLES.any), async (req, reply) => {
    const id = crm.pathId(req.params.id)
    if (!id) {
      await sendProblem(req, reply, 404, 'No such resource.')
      return reply
    }
    const text = await query(req, reply, c => crm.SQL.projectsGet(c, id))
    if (text === undefined) return reply
    if (text === null) {
      sendProblemNow(req, reply, 404, 'No such resource.')
      return reply
    }
    const version = JSON.parse(text).version
    if (Number.isInteger(version)) reply.header('etag', `"${version}"`)
    sendJson(reply, 200, text)
    return reply
  })

  // -- GET /api/v1/projects (resource_list) --

  function firstQuery(q, name) {
    const v = q[name]
    return Array.isArray(v) ? v[0] : v
  }

  app.get('/api/v1/projects', authed(crm.ROLES.any), async (req, reply) => {
    const f = crm.listFilters(req.query, crm.PROJECT_FILTERS)
    if (f.problem) {
      await sendProblem(req, reply, 400, f.problem)
      return reply
    }
    const limitText = firstQuery(req.query, 'limit')
    const limit = limitText === undefined ? 50n : crm.parseLL(limitText, 1n, 200n)
    if (limit === null) {
      await sendProblem(req, reply, 400, "The query parameter 'limit' must be an integer from 1 to 200.")
      return reply
    }
    const cursor = firstQuery(req.query, 'cursor')
    let after = null
    if (cursor !== undefined) {
      after = crm.cursorDecode('projects', cursor)
      if (after === null) {
        await sendProblem(req, reply, 400, 'The cursor is not one this list gave out.')
        return reply
      }
    }
    // Rows, one more than the page when another follows (as crm).
    const rows = await queryRows(req, reply, c => crm.SQL.projectsRows(c, f.json, after, Number(limit)))
    if (rows === undefined) return reply
    const items = rows.length > limit ? rows.slice(0, Number(limit)) : rows
    const page = {
      items,
      next_cursor: rows.length > limit ? crm.cursorEncode('projects', items[items.length - 1].id) : null,
    }
    sendJson(reply, 200, JSON.stringify(page))
    return reply
  })

  // -- POST /api/v1/interactions (resource_create) --
  // Idempotency-Key is not implemented (see README.md): the benchmark's
  // writes do not send it, and without it crm runs exactly this.

  app.post('/api/v1/interactions', authed(crm.ROLES.loggers), async (req, reply) => {
    const b = await body(req, reply, crm.INTERACTION_FIELDS)
    if (!b) return reply
    const text = await query(req, reply, c => crm.SQL.interactionsCreate(c, b), 'unit_id')
    if (text === undefined) return reply
    let doc
    try {
      doc = JSON.parse(text)
    } catch {
      doc = null
    }
    if (!doc) {
      sendProblemNow(req, reply, 500, 'An unexpected error occurred.')
      return reply
    }
    if (Number.isInteger(doc.version)) reply.header('etag', `"${doc.version}"`)
    reply.header('location', `/api/v1/interactions/${Number.isInteger(doc.id) ? doc.id : 0}`)
    sendJson(reply, 201, JSON.stringify(doc))
    return reply
  })

  // -- GET /api/v1/stats/units/{id}?year=&as_of= (stats_unit) --

  app.get('/api/v1/stats/units/:id', authed(crm.ROLES.any), async (req, reply) => {
    const id = crm.pathId(req.params.id)
    if (!id) {
      await sendProblem(req, reply, 404, 'No such resource.')
      return reply
    }
    const yearText = firstQuery(req.query, 'year')
    if (yearText === undefined) {
      await sendProblem(req, reply, 400, "The query parameter 'year' is required.")
      return reply
    }
    const year = crm.parseLL(yearText, 2000n, 2100n)
    if (year === null) {
      await sendProblem(req, reply, 400, "The query parameter 'year' must be an integer from 2000 to 2100.")
      return reply
    }
    const asOf = firstQuery(req.query, 'as_of')
    if (asOf !== undefined && !crm.dateValid(asOf)) {
      await sendProblem(req, reply, 400, "The query parameter 'as_of' must be a date written YYYY-MM-DD.")
      return reply
    }
    const text = await query(req, reply, c => crm.SQL.statsUnit(c, id, Number(year), asOf === undefined ? null : asOf))
    if (text === undefined) return reply
    if (text === null) {
      sendProblemNow(req, reply, 404, 'No such resource.')
      return reply
    }
    sendJson(reply, 200, text)
    return reply
  })

  // ---- everything else ----

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?', 1)[0]
    const known = PATHS.find(([re]) => re.test(path))
    if (known) {
      if (req.method === 'OPTIONS') {
        reply.header('allow', known[1].concat('OPTIONS').join(', '))
        return reply.code(204).send()
      }
      reply.header('allow', known[1].join(', '))
      return sendProblemNow(req, reply, 405, 'This method is not allowed on this resource.')
    }
    sendProblemNow(req, reply, 404, 'No such resource.')
  })

  app.setErrorHandler((err, req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return sendProblemNow(req, reply, 413, 'The request body exceeds 1 MiB.')
    if (err.statusCode >= 400 && err.statusCode < 500)
      return sendProblemNow(req, reply, err.statusCode, err.message)
    console.error(JSON.stringify({ level: 'error', msg: 'unexpected', request_id: req.id, error: String(err && err.stack) }))
    sendProblemNow(req, reply, 500, 'An unexpected error occurred.')
  })

  return app
}

// Whether an error means the connection is gone (not a refused statement).
function connectionLost(e) {
  if (!(e instanceof postgres.PostgresError))
    return typeof e.code === 'string' && (e.code.startsWith('CONNECT') || /^E[A-Z]+$/.test(e.code))
  return e.severity === 'FATAL' || e.severity === 'PANIC' || e.code.startsWith('08') ||
    e.code.startsWith('57P')
}

// crm/api/resources.c field_from_constraint: "project_code_check" -> "code".
function fieldFromConstraint(constraint) {
  const u = constraint.indexOf('_')
  let out = u >= 0 ? constraint.slice(u + 1) : constraint
  for (const suffix of ['_check', '_fkey', '_key', '_not_null']) {
    if (out.length > suffix.length && out.endsWith(suffix)) {
      out = out.slice(0, -suffix.length)
      break
    }
  }
  return out
}

module.exports = { buildApp }
