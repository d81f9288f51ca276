// Keeping a view live. crm has no /api/v1/events route yet, so a subscribed view refreshes every
// 60 s while the tab is visible, and at once when the tab becomes visible again. When the server
// gets Server-Sent Events, only this function changes: open one EventSource (it cannot send the
// Authorization header, so it will need a short-lived ticket or a fetch-based reader) and call
// `refresh` on the events that concern `view`; the views keep calling subscribe() as they do now.

const PERIOD_MS = 60_000;

/**
 * Calls refresh() (a quiet reload of the view's data) every 60 s and when the tab is shown again.
 * Returns the function that stops it (the router calls it when the view is left).
 */
export function subscribe(view, refresh) {
  let stopped = false;
  let running = false;
  const run = async () => {
    if (stopped || running || document.visibilityState !== 'visible') return;
    running = true;
    try { await refresh(); } catch { /* the view shows its own errors */ } finally { running = false; }
  };
  const timer = setInterval(run, PERIOD_MS);
  const onVisible = () => { if (document.visibilityState === 'visible') run(); };
  document.addEventListener('visibilitychange', onVisible);
  return () => {
    stopped = true;
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisible);
  };
}
