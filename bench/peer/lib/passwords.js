'use strict'
// argon2id as crm/auth/hasher.c does it, with the same library (libsodium,
// through sodium-native): crypto_pwhash_str hashes, INTERACTIVE limits. The
// work runs on libuv's thread pool (the *_async functions), never on the
// event loop. A stored hash outside crm's limits is refused; an unknown user
// costs the same work as a wrong password (a dummy hash).

const crypto = require('node:crypto')
const sodium = require('sodium-native')

const STRBYTES = sodium.crypto_pwhash_STRBYTES
const OPSLIMIT = sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE
const MEMLIMIT = sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE
const MAX_MEM_KIB = 256 * 1024
const MAX_TIME = 10
const STORED = /^\$argon2id\$v=19\$m=([0-9]+),t=([0-9]+),p=([0-9]+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/

// { weak } when crm would accept the stored hash, else null ("refused").
function storedParams(stored) {
  const m = STORED.exec(stored)
  if (!m) return null
  const mem = Number(m[1]), t = Number(m[2]), p = Number(m[3])
  if (mem > MAX_MEM_KIB || mem < 8 || t > MAX_TIME || t < 1 || p !== 1) return null
  if (Buffer.from(m[4], 'base64').length !== 16 || Buffer.from(m[5], 'base64').length < 16) return null
  return { weak: mem < MEMLIMIT / 1024 || t < OPSLIMIT }
}

function strBuffer(text) {
  const b = Buffer.alloc(STRBYTES)
  b.write(text, 'latin1')
  return b
}

function cString(b) {
  const end = b.indexOf(0)
  return b.toString('latin1', 0, end < 0 ? b.length : end)
}

async function hash(password) {
  const out = Buffer.alloc(STRBYTES)
  await sodium.crypto_pwhash_str_async(out, Buffer.from(password), OPSLIMIT, MEMLIMIT)
  return cString(out)
}

let dummy = null
let inFlight = 0

async function init() {
  dummy = strBuffer(await hash(crypto.randomBytes(16).toString('hex')))
}

// "match" (with needsRehash), "mismatch", "refused", or "busy" when
// maxInFlight checks are already queued or running in this process.
async function verify(stored, password, maxInFlight) {
  if (inFlight >= maxInFlight) return { outcome: 'busy' }
  let params = null
  if (stored !== null) {
    params = storedParams(stored)
    if (!params) return { outcome: 'refused' }
  }
  // libsodium refuses an empty password outright; crm hashes it (and fails).
  const pw = Buffer.from(password.length ? password : '\0')
  inFlight++
  try {
    const ok = await sodium.crypto_pwhash_str_verify_async(stored === null ? dummy : strBuffer(stored), pw)
    if (stored === null || !ok || !password.length) return { outcome: 'mismatch' }
    return { outcome: 'match', needsRehash: params.weak }
  } finally {
    inFlight--
    pw.fill(0)
  }
}

module.exports = { init, verify, hash }
