// Keeping a view live on the server's events (GET /api/v1/events, Server-Sent Events). One stream
// per tab, opened while some view is subscribed, read with fetch (EventSource cannot send the
// Authorization header, and the token is never put in a URL). A subscribed view is refreshed,
// once per burst, when an event of the types it shows arrives; and when the tab is shown again.
// A lost stream comes back after 3 s with Last-Event-ID, so nothing published meanwhile is missed.

import { getToken } from './api.js';

// The event types each view shows (a prefix ends with '.').
const VIEW_TYPES = {
  board: ['contract.', 'start.', 'target.set', 'quota.set', 'project.stage_changed', 'score.frozen'],
  queue: ['contract.', 'start.'],
};
const BURST_MS = 400;
const RETRY_MS = 3000;

const subscribers = new Set();
let controller = null;
let lastEventId = null;

function wants(view, type) {
  return (VIEW_TYPES[view] || ['']).some((t) => (t.endsWith('.') ? type.startsWith(t) : type === t));
}

function dispatch(event) {
  for (const s of subscribers) if (wants(s.view, event.type)) s.poke();
}

// Reads one stream until it ends; returns whether to try again.
async function readStream(signal) {
  const token = getToken();
  if (!token) return false;
  const headers = { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' };
  if (lastEventId) headers['Last-Event-ID'] = lastEventId;
  const resp = await fetch('/api/v1/events', { headers, signal, cache: 'no-store' });
  if (resp.status === 401 || resp.status === 403) return false;
  if (!resp.ok || !resp.body) return true;
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return true;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let id = null;
      let kind = null;
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('id:')) id = line.slice(3).trim();
        else if (line.startsWith('event:')) kind = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (kind === 'end') return false; // the session has ended
      if (id) lastEventId = id;
      if (data.length) {
        try { dispatch(JSON.parse(data.join('\n'))); } catch { /* not an event */ }
      }
    }
  }
}

function openStream() {
  if (controller) return;
  controller = new AbortController();
  const { signal } = controller;
  (async () => {
    while (!signal.aborted) {
      let again = true;
      try { again = await readStream(signal); } catch { again = !signal.aborted; }
      if (!again || signal.aborted) break;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  })();
}

function closeStream() {
  if (controller) controller.abort();
  controller = null;
}

/**
 * Calls refresh() (a quiet reload of the view's data) when an event the view shows arrives (once
 * per burst) and when the tab is shown again. Returns the function that stops it (the router calls
 * it when the view is left).
 */
export function subscribe(view, refresh) {
  let stopped = false;
  let running = false;
  let timer = null;
  const run = async () => {
    timer = null;
    if (stopped || running || document.visibilityState !== 'visible') return;
    running = true;
    try { await refresh(); } catch { /* the view shows its own errors */ } finally { running = false; }
  };
  const sub = { view, poke: () => { if (!timer) timer = setTimeout(run, BURST_MS); } };
  subscribers.add(sub);
  openStream();
  const onVisible = () => { if (document.visibilityState === 'visible') run(); };
  document.addEventListener('visibilitychange', onVisible);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    subscribers.delete(sub);
    document.removeEventListener('visibilitychange', onVisible);
    if (!subscribers.size) closeStream();
  };
}
