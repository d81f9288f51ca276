'use strict'
// The peer of crm's benchmark (issue 6): fastify + postgres.js, one worker
// per core (node:cluster). See README.md.
//
//   PORT=8090 DATABASE_URL=postgres://crm_app@127.0.0.1:5432/crm node bench/peer/server.js

const cluster = require('node:cluster')
const crypto = require('node:crypto')
const { load } = require('./lib/config')

function log(msg, fields) {
  console.error(JSON.stringify({ ts: new Date().toISOString(), level: 'info', msg, pid: process.pid, ...fields }))
}

let cfg
try {
  cfg = load()
} catch (e) {
  console.error(`crm-peer: ${e.message}`)
  process.exit(2)
}

if (cluster.isPrimary) {
  // Cursors must verify in every worker: without CRM_CURSOR_KEY, one random
  // key for all of them (cursors then do not outlive this process, as in crm).
  if (!cfg.cursorKey) process.env.CRM_CURSOR_KEY = crypto.randomBytes(32).toString('hex')
  let stopping = false
  let listening = 0
  for (let i = 0; i < cfg.workers; i++) cluster.fork()
  cluster.on('listening', () => {
    if (++listening === cfg.workers)
      log('serving', { host: cfg.host, port: cfg.port, workers: cfg.workers, pool: cfg.pool, tx: cfg.txMode })
  })
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers).length === 0) process.exit(0)
      return
    }
    log('worker died; starting another', { worker: worker.process.pid, code, signal })
    setTimeout(() => cluster.fork(), 500)
  })
  const stop = () => {
    if (stopping) return
    stopping = true
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM')
    if (Object.keys(cluster.workers).length === 0) process.exit(0)
    setTimeout(() => process.exit(0), 10000).unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
} else {
  start().catch(e => {
    console.error(`crm-peer worker ${process.pid}: ${e.stack || e}`)
    process.exit(1)
  })
}

async function start() {
  const postgres = require('postgres')
  const { buildApp } = require('./lib/app')
  const crm = require('./lib/crm')
  const passwords = require('./lib/passwords')

  crm.cursorKeySet(process.env.CRM_CURSOR_KEY)
  await passwords.init()
  const sql = postgres({
    ...cfg.db,
    max: cfg.pool,
    prepare: true,
    idle_timeout: 0,
    max_lifetime: null,
    connection: {
      application_name: 'crm-peer',
      statement_timeout: String(cfg.statementTimeoutMs),
    },
    onnotice: () => {},
    // Rows answer as crm writes them (db/rows_json.c), which is PostgreSQL's
    // own JSON: int8 as a number (ids and yuan stay below 2^53), dates and
    // timestamps as PostgreSQL's ISO text with a 'T' and the offset's
    // minutes, not JavaScript Dates.
    types: {
      bigint: { to: 20, from: [20], serialize: x => x.toString(), parse: x => Number(x) },
      date: {
        to: 1184,
        from: [1082, 1114, 1184],
        serialize: x => (x instanceof Date ? x.toISOString() : x),
        parse: x => {
          const sp = x.indexOf(' ')
          if (sp < 0) return x
          const t = x.slice(0, sp) + 'T' + x.slice(sp + 1)
          return /[+-]\d\d$/.test(t) ? t + ':00' : t
        },
      },
    },
  })
  const app = buildApp(cfg, sql)
  await app.listen({ host: cfg.host, port: cfg.port })

  let closing = false
  const stop = async () => {
    if (closing) return
    closing = true
    const force = setTimeout(() => process.exit(0), 10000)
    force.unref()
    await app.close()
    await sql.end({ timeout: 5 })
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
