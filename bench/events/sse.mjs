// bench/events/sse.mjs: the clients of bench/events/run.sh (issue 15), on
// Node's standard library only (http). Three modes, each writing one JSON
// file (--out) and ending by itself (--max-s bounds every mode):
//
//   delay    one SSE client (--watch TOKEN) on GET /api/v1/events; then,
//            one after the other, POST /api/v1/contracts/{id}/verify (as
//            --verifier TOKEN, a keep-alive connection, an Idempotency-Key
//            each) for every id of --ids FILE (one a line); each verify is
//            answered, and its contract.verified event (matched by
//            entity_id) received or given up after --timeout-ms, before the
//            next is sent. Per claim: the event's arrival minus the moment
//            the verify was sent (send_ms) and minus the moment its answer
//            arrived (answer_ms: negative when the event came first). Also
//            checks that each event came exactly once and that the stream's
//            ids only increase.
//   clients  --clients FILE (a line per client: "group root_unit_id token")
//            opened as that many SSE streams (at most --concurrency opening
//            at once, a failed open retried up to 5 times), each on its own
//            connection. Writes --status FILE every second ({connected,
//            failed, ended, verified, heartbeats, ...}). SIGUSR2 starts the
//            measuring window (heartbeats and the longest silence of each
//            stream counted from then); SIGTERM (or --max-s) ends: the
//            summary is written, checked against --expect FILE when given
//            ({claims: [{id, path}], units: {id: path}}, written by run.sh
//            after the verifies): every stream gets the contract.verified
//            event of each claim in its scope (path holds its root) exactly
//            once, no event of a unit outside its scope, ids increasing.
//   healthz  GET /healthz one after the other on one keep-alive connection
//            for --seconds, --gap-ms apart: the latencies (p50, p90, p99,
//            max), the count, the errors.
//
// usage: node sse.mjs delay --url URL --watch TOKEN --verifier TOKEN --ids FILE --out FILE
//        node sse.mjs clients --url URL --clients FILE --status FILE --out FILE [--expect FILE]
//        node sse.mjs healthz --url URL --seconds 20 --out FILE
import http from 'node:http';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

const mode = process.argv[2];
const opt = {};
for (let i = 3; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const num = (k, d) => (opt[k] === undefined ? d : Number(opt[k]));
const base = new URL(opt.url || 'http://127.0.0.1:8080');
const now = () => performance.now();
const maxS = num('max-s', 900);

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  let i = Math.ceil((p / 100) * sorted.length);
  if (i < 1) i = 1;
  return sorted[i - 1];
}
function summary(values) {
  const s = values.filter((v) => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  const r = (v) => (v === null ? null : Math.round(v * 1000) / 1000);
  return {
    n: s.length,
    min: r(s.length ? s[0] : null),
    p50: r(pct(s, 50)),
    p90: r(pct(s, 90)),
    p99: r(pct(s, 99)),
    max: r(s.length ? s[s.length - 1] : null),
    mean: r(s.length ? s.reduce((a, b) => a + b, 0) / s.length : null),
  };
}
function writeJson(file, obj) {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(obj, null, 1));
  fs.renameSync(tmp, file);
}
function die(msg) {
  process.stderr.write(`sse.mjs: ${msg}\n`);
  process.exit(1);
}

// An SSE parser: feed(chunk) calls onEvent({id, data}) per message and
// onComment() per comment line (the heartbeat ":").
function sseParser(onEvent, onComment) {
  let buf = '';
  let id = null;
  let data = [];
  return (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      let line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (data.length) onEvent({ id, data: data.join('\n') });
        id = null;
        data = [];
      } else if (line[0] === ':') {
        onComment(line);
      } else {
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        let value = c < 0 ? '' : line.slice(c + 1);
        if (value[0] === ' ') value = value.slice(1);
        if (field === 'id') id = value;
        else if (field === 'data') data.push(value);
      }
    }
  };
}

// openStream(token, handlers): GET /api/v1/events on a connection of its own;
// resolves {status, req, res} once the answer's head and first bytes came
// (or the status is not 200), rejects on a connection error or after 15 s.
function openStream(token, { onEvent, onComment, onEnd }) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (f, v) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        f(v);
      }
    };
    const req = http.request({
      host: base.hostname,
      port: base.port,
      path: '/api/v1/events',
      method: 'GET',
      agent: false,
      headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
    });
    const timer = setTimeout(() => {
      req.destroy(new Error('no answer within 15 s'));
    }, 15000);
    req.on('error', (e) => {
      if (settled) onEnd(e.message);
      done(reject, e);
    });
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => done(resolve, { status: res.statusCode, body }));
        return;
      }
      res.setEncoding('utf8');
      const feed = sseParser(onEvent, onComment);
      res.on('data', (c) => {
        feed(c);
        done(resolve, { status: 200, req, res });
      });
      res.on('end', () => onEnd('ended by the server'));
      res.on('error', (e) => onEnd(e.message));
    });
    req.end();
  });
}

setTimeout(() => {
  process.stderr.write(`sse.mjs: ${mode} stopped after --max-s ${maxS}\n`);
  if (finish) finish('max-s');
  else process.exit(2);
}, maxS * 1000).unref();
let finish = null;

// ---------------------------------------------------------------- delay
async function delay() {
  const ids = fs.readFileSync(opt.ids, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  const timeoutMs = num('timeout-ms', 5000);
  const tag = opt.tag || `evbench-${process.pid}`;
  const arrivals = new Map(); // entity_id -> [arrival times]
  const waiters = new Map(); // entity_id -> resolve
  let lastId = 0;
  let nonIncreasing = 0;
  let events = 0;
  let otherEvents = 0;
  let heartbeats = 0;
  let ended = null;
  const onEvent = ({ id, data }) => {
    const t = now();
    events++;
    const n = Number(id);
    if (!(n > lastId)) nonIncreasing++;
    lastId = Math.max(lastId, n);
    let e;
    try {
      e = JSON.parse(data);
    } catch {
      otherEvents++;
      return;
    }
    if (e.type !== 'contract.verified') {
      otherEvents++;
      return;
    }
    const list = arrivals.get(e.entity_id) || [];
    list.push(t);
    arrivals.set(e.entity_id, list);
    const w = waiters.get(e.entity_id);
    if (w) {
      waiters.delete(e.entity_id);
      w(t);
    }
  };
  const stream = await openStream(opt.watch, {
    onEvent,
    onComment: () => heartbeats++,
    onEnd: (why) => (ended = why),
  });
  if (stream.status !== 200) die(`the stream answered ${stream.status}: ${stream.body}`);

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const verify = (id) =>
    new Promise((resolve) => {
      const req = http.request(
        {
          host: base.hostname,
          port: base.port,
          path: `/api/v1/contracts/${id}/verify`,
          method: 'POST',
          agent,
          headers: {
            Authorization: `Bearer ${opt.verifier}`,
            'Idempotency-Key': `${tag}-${id}`,
            'Content-Length': 0,
          },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode, t: now(), body }));
        },
      );
      req.setTimeout(10000, () => req.destroy(new Error('timeout')));
      req.on('error', (e) => resolve({ status: 0, t: now(), body: e.message }));
      req.end();
    });
  const waitEvent = (id) =>
    new Promise((resolve) => {
      const got = arrivals.get(id);
      if (got) return resolve(got[0]);
      const timer = setTimeout(() => {
        waiters.delete(id);
        resolve(null);
      }, timeoutMs);
      waiters.set(id, (t) => {
        clearTimeout(timer);
        resolve(t);
      });
    });

  const rows = [];
  const failed = [];
  const t00 = now();
  let stop = false;
  finish = () => {
    stop = true;
  };
  for (const id of ids) {
    if (stop || ended) break;
    const t0 = now();
    const a = await verify(id);
    if (a.status !== 200) {
      failed.push({ id, status: a.status, body: a.body.slice(0, 300) });
      continue;
    }
    const t2 = await waitEvent(id);
    rows.push({
      id,
      verify_ms: +(a.t - t0).toFixed(3),
      send_ms: t2 === null ? null : +(t2 - t0).toFixed(3),
      answer_ms: t2 === null ? null : +(t2 - a.t).toFixed(3),
    });
  }
  const elapsed = (now() - t00) / 1000;
  await new Promise((r) => setTimeout(r, 1000)); // late or repeated events
  const missing = rows.filter((r) => r.send_ms === null).map((r) => r.id);
  const duplicates = [...arrivals.entries()].filter(([, l]) => l.length > 1).map(([k, l]) => [k, l.length]);
  const asked = new Set(ids);
  const strangers = [...arrivals.keys()].filter((k) => !asked.has(k));
  const out = {
    mode: 'delay',
    claims: ids.length,
    verified_200: rows.length,
    verify_failed: failed,
    received: rows.length - missing.length,
    missing,
    duplicates,
    unexpected_entity_ids: strangers,
    stream_events: events,
    other_events: otherEvents,
    ids_not_increasing: nonIncreasing,
    heartbeats,
    stream_ended: ended,
    seconds: +elapsed.toFixed(3),
    event_after_send_ms: summary(rows.map((r) => r.send_ms)),
    event_after_answer_ms: summary(rows.map((r) => r.answer_ms)),
    event_before_answer: rows.filter((r) => r.answer_ms !== null && r.answer_ms < 0).length,
    verify_ms: summary(rows.map((r) => r.verify_ms)),
    rows,
  };
  writeJson(opt.out, out);
  stream.req.destroy();
  agent.destroy();
  process.exit(0);
}

// ---------------------------------------------------------------- clients
async function clients() {
  const lines = fs.readFileSync(opt.clients, 'utf8').split('\n').filter((l) => l.trim());
  const conc = num('concurrency', 16);
  const t00 = now();
  let windowStart = null;
  const cs = lines.map((l, i) => {
    const [group, root, token] = l.trim().split(/\s+/);
    return {
      i, group, root: Number(root), token,
      state: 'waiting', attempts: 0, error: null, openMs: null,
      lastEventId: 0, notIncreasing: 0, events: [], heartbeats: 0,
      hbWindow: 0, last: null, maxGap: 0, req: null,
    };
  });
  const touch = (c) => {
    const t = now();
    if (windowStart !== null && c.last !== null) c.maxGap = Math.max(c.maxGap, t - Math.max(c.last, windowStart));
    c.last = t;
  };
  const open = async (c) => {
    for (;;) {
      c.attempts++;
      const t0 = now();
      try {
        const r = await openStream(c.token, {
          onEvent: ({ id, data }) => {
            touch(c);
            const n = Number(id);
            if (!(n > c.lastEventId)) c.notIncreasing++;
            c.lastEventId = Math.max(c.lastEventId, n);
            try {
              const e = JSON.parse(data);
              c.events.push([e.id, e.type, e.entity_id, e.unit_id]);
            } catch {
              c.events.push([n, 'unparsed', null, null]);
            }
          },
          onComment: () => {
            touch(c);
            c.heartbeats++;
            if (windowStart !== null) c.hbWindow++;
          },
          onEnd: (why) => {
            if (c.state === 'open') {
              c.state = 'ended';
              c.error = why;
              c.endedAt = (now() - t00) / 1000;
            }
          },
        });
        if (r.status === 200) {
          c.state = 'open';
          c.req = r.req;
          c.openMs = now() - t0;
          return;
        }
        c.error = `HTTP ${r.status} ${String(r.body).slice(0, 200)}`;
      } catch (e) {
        c.error = e.message;
      }
      if (c.attempts >= 5) {
        c.state = 'failed';
        return;
      }
      await new Promise((r) => setTimeout(r, 200 * c.attempts));
    }
  };
  let next = 0;
  const opener = async () => {
    while (next < cs.length) await open(cs[next++]);
  };
  const counts = () => {
    const k = { waiting: 0, open: 0, failed: 0, ended: 0 };
    let verified = 0;
    let events = 0;
    let heartbeats = 0;
    for (const c of cs) {
      k[c.state]++;
      events += c.events.length;
      heartbeats += c.heartbeats;
      for (const e of c.events) if (e[1] === 'contract.verified') verified++;
    }
    return { ...k, events, verified, heartbeats };
  };
  let openedAllS = null;
  const status = () =>
    writeJson(opt.status, {
      elapsed_s: +((now() - t00) / 1000).toFixed(2),
      clients: cs.length,
      opened_all_s: openedAllS,
      window: windowStart !== null,
      ...counts(),
    });
  const statusTimer = setInterval(status, 1000);
  status();
  process.on('SIGUSR2', () => {
    windowStart = now();
    for (const c of cs) c.hbWindow = 0;
  });
  let finished = false;
  finish = (why) => {
    if (finished) return;
    finished = true;
    clearInterval(statusTimer);
    const tEnd = now();
    for (const c of cs) if (c.state === 'open' && windowStart !== null && c.last !== null)
      c.maxGap = Math.max(c.maxGap, tEnd - Math.max(c.last, windowStart));
    status();
    writeJson(opt.out, report(cs, why, windowStart === null ? null : (tEnd - windowStart) / 1000, openedAllS));
    for (const c of cs) if (c.req) c.req.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', () => finish('SIGTERM'));
  process.on('SIGINT', () => finish('SIGINT'));
  await Promise.all(Array.from({ length: Math.min(conc, cs.length) }, opener));
  openedAllS = +((now() - t00) / 1000).toFixed(3);
  status();
}

function report(cs, why, windowS, openedAllS) {
  let expect = null;
  if (opt.expect && fs.existsSync(opt.expect)) expect = JSON.parse(fs.readFileSync(opt.expect, 'utf8'));
  const groups = {};
  const violations = [];
  let nViolations = 0;
  const violation = (v) => {
    nViolations++;
    if (violations.length < 50) violations.push(v);
  };
  for (const c of cs) {
    const g = (groups[c.group] ||= {
      clients: 0, roots: new Set(), open_at_end: 0, failed: 0, ended: 0, open_attempts_over_1: 0,
      open_ms: [], heartbeats_in_window: [], max_silence_ms: [], events: 0,
      verified_expected: 0, verified_received: 0, missing: 0, duplicates: 0, out_of_scope: 0, ids_not_increasing: 0,
    });
    g.clients++;
    g.roots.add(c.root);
    if (c.state === 'open') g.open_at_end++;
    if (c.state === 'failed') g.failed++;
    if (c.state === 'ended') g.ended++;
    if (c.attempts > 1) g.open_attempts_over_1++;
    if (c.openMs !== null) g.open_ms.push(c.openMs);
    if (windowS !== null && c.state !== 'failed') {
      g.heartbeats_in_window.push(c.hbWindow);
      g.max_silence_ms.push(c.maxGap);
    }
    g.events += c.events.length;
    g.ids_not_increasing += c.notIncreasing;
    if (c.notIncreasing) violation({ client: c.i, group: c.group, what: 'event ids not increasing', count: c.notIncreasing });
    if (c.state === 'failed') violation({ client: c.i, group: c.group, what: 'could not open', error: c.error });
    if (c.state === 'ended') violation({ client: c.i, group: c.group, what: 'stream ended', at_s: c.endedAt, error: c.error });
    if (!expect) continue;
    // Every event of the stream: of a unit within the client's root.
    for (const e of c.events) {
      const path = expect.units[String(e[3])];
      if (!path || !path.includes(c.root)) {
        g.out_of_scope++;
        violation({ client: c.i, group: c.group, root: c.root, what: 'event out of scope', event: e });
      }
    }
    // Every claim verified in its scope: its contract.verified exactly once.
    const seen = new Map();
    for (const e of c.events) if (e[1] === 'contract.verified') seen.set(e[2], (seen.get(e[2]) || 0) + 1);
    for (const cl of expect.claims) {
      if (!cl.path.includes(c.root)) continue;
      g.verified_expected++;
      const n = seen.get(cl.id) || 0;
      g.verified_received += Math.min(n, 1);
      if (n === 0) {
        g.missing++;
        violation({ client: c.i, group: c.group, what: 'missing contract.verified', claim: cl.id });
      } else if (n > 1) {
        g.duplicates++;
        violation({ client: c.i, group: c.group, what: 'contract.verified more than once', claim: cl.id, times: n });
      }
    }
  }
  for (const g of Object.values(groups)) {
    g.roots = [...g.roots];
    g.open_ms = summary(g.open_ms);
    g.heartbeats_in_window = summary(g.heartbeats_in_window);
    g.max_silence_ms = summary(g.max_silence_ms);
  }
  return {
    mode: 'clients', why, clients: cs.length, opened_all_s: openedAllS,
    window_s: windowS === null ? null : +windowS.toFixed(3),
    checked: !!expect, claims: expect ? expect.claims.length : null,
    groups, violations_total: nViolations, violations,
  };
}

// ---------------------------------------------------------------- healthz
async function healthz() {
  const seconds = num('seconds', 20);
  const gap = num('gap-ms', 0);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const lat = [];
  let errors = 0;
  let lastError = null;
  const one = () =>
    new Promise((resolve) => {
      const t0 = now();
      const req = http.request({ host: base.hostname, port: base.port, path: '/healthz', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) lat.push(now() - t0);
          else {
            errors++;
            lastError = `HTTP ${res.statusCode}`;
          }
          resolve();
        });
      });
      req.setTimeout(10000, () => req.destroy(new Error('timeout')));
      req.on('error', (e) => {
        errors++;
        lastError = e.message;
        resolve();
      });
      req.end();
    });
  const t00 = now();
  const end = t00 + seconds * 1000;
  while (now() < end) {
    await one();
    if (gap > 0) await new Promise((r) => setTimeout(r, gap));
  }
  const s = (now() - t00) / 1000;
  writeJson(opt.out, {
    mode: 'healthz', seconds: +s.toFixed(3), gap_ms: gap, requests: lat.length + errors,
    rps: +(lat.length / s).toFixed(1), errors, last_error: lastError, latency_ms: summary(lat),
  });
  agent.destroy();
  process.exit(0);
}

const modes = { delay, clients, healthz };
if (!modes[mode]) die('mode: delay, clients or healthz');
for (const k of ['url', 'out']) if (!opt[k]) die(`--${k} is needed`);
modes[mode]().catch((e) => die(e.stack || e.message));
