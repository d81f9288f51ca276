-- The service's own schedule: the periodic jobs crm runs (crm/api/janitor.c), each run once
-- per period however many workers and processes share the database, and the record of
-- how each last went (job_run, shown by /metrics).
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- ---- running a job once ----

-- Runs the job p_job for p_period once: the body p_body (a function of
-- one jsonb, p_args, returning a short text saying what it did) runs
-- only while this transaction holds the job's advisory lock, and only
-- when job_run does not already record p_period as done (ok). A NULL
-- period is never done: the lock alone keeps two runs apart.
--   'skipped'  another transaction holds the lock (it is running the job
--              now), or the period is done; nothing is written;
--   'ran'      the body returned: job_run records the period, ok, its text;
--   'failed'   the body raised (or was cancelled by statement_timeout): its
--              changes are undone, job_run records failed with the SQLSTATE
--              only (the message goes to PostgreSQL's log), and the next
--              call for the period runs it again.
-- Returns the outcome and the text recorded. Not granted to the service:
-- the jobs below are, each with its own period and body.
CREATE OR REPLACE FUNCTION job_run_once(p_job text, p_period text, p_body regproc, p_args jsonb,
                                        OUT outcome text, OUT detail text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    started timestamptz;
BEGIN
    -- The lock is the transaction's: it is released at commit, after the
    -- row below is visible, so whoever takes it next sees the period done
    -- (each statement here reads a fresh snapshot: READ COMMITTED, the
    -- service's isolation).
    IF NOT pg_try_advisory_xact_lock(hashtext('job_run'), hashtext(p_job)) THEN
        outcome := 'skipped';
        RETURN;
    END IF;
    IF p_period IS NOT NULL AND EXISTS (
        SELECT 1 FROM job_run r WHERE r.job = p_job AND r.period = p_period AND r.outcome = 'ok') THEN
        outcome := 'skipped';
        RETURN;
    END IF;
    started := clock_timestamp();
    -- What the job writes is marked as the schedule's (the request id of
    -- its events and audit records), with no user.
    PERFORM set_config('crm.request_id', 'job:' || p_job, true);
    BEGIN
        EXECUTE format('SELECT %s($1)', p_body) INTO detail USING p_args;
        outcome := 'ran';
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        RAISE LOG 'job %: % (SQLSTATE %)', p_job, SQLERRM, SQLSTATE;
        outcome := 'failed';
        detail := 'error ' || SQLSTATE;
    END;
    PERFORM set_config('crm.request_id', '', true);
    detail := left(detail, 500);
    INSERT INTO job_run AS r (job, period, started_at, finished_at, outcome, detail, runs, failures)
    VALUES (p_job, p_period, started, clock_timestamp(), CASE outcome WHEN 'ran' THEN 'ok' ELSE 'failed' END,
            detail, 1, CASE outcome WHEN 'ran' THEN 0 ELSE 1 END)
    ON CONFLICT (job) DO UPDATE
       SET period = EXCLUDED.period, started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at,
           outcome = EXCLUDED.outcome, detail = EXCLUDED.detail, runs = r.runs + 1,
           failures = r.failures + EXCLUDED.failures;
END
$$;
REVOKE EXECUTE ON FUNCTION job_run_once(text, text, regproc, jsonb) FROM PUBLIC;

-- ---- the jobs ----

-- alerts, daily (the period is today, China time): the alerts of each
-- unit with a target or quota this year, as one alerts.digest event per
-- unit (event_emit, in this transaction): the alerts of its subtree by
-- level and kind, and its figures against its target. Alerts are computed
-- when read (81_alerts.sql), so the digest is their daily refresh; they
-- are computed once under each top unit with a target, not once per unit.
CREATE OR REPLACE FUNCTION job_alerts_digest(p jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d date := (p ->> 'on')::date;
    y integer := extract(year FROM (p ->> 'on')::date)::integer;
    n integer := 0;
    u record;
BEGIN
    FOR u IN
        WITH targeted AS (
            SELECT un.id, un.path, t.signing_amount_yuan, t.signed_count, t.start_rate
              FROM target t JOIN unit un ON un.id = t.unit_id WHERE t.year = y),
        tops AS (
            SELECT tg.id FROM targeted tg
             WHERE NOT EXISTS (SELECT 1 FROM targeted o WHERE o.id <> tg.id AND tg.path @> ARRAY[o.id])),
        alert AS (
            SELECT au.path, a.item ->> 'kind' AS kind, a.item ->> 'level' AS level
              FROM tops tp, alerts_compute(tp.id, y, d, NULL, NULL, NULL, 2147483647) a
              JOIN unit au ON au.id = (a.item ->> 'unit_id')::bigint),
        counted AS (
            SELECT tg.id, count(al.kind) AS total,
                   count(al.kind) FILTER (WHERE al.level = 'red') AS red,
                   count(al.kind) FILTER (WHERE al.level = 'yellow') AS yellow
              FROM targeted tg LEFT JOIN alert al ON al.path @> ARRAY[tg.id]
             GROUP BY tg.id),
        by_kind AS (
            SELECT tg.id, al.kind, count(*) AS n
              FROM targeted tg JOIN alert al ON al.path @> ARRAY[tg.id]
             GROUP BY tg.id, al.kind)
        SELECT tg.*, c.total, c.red, c.yellow,
               (SELECT coalesce(jsonb_object_agg(bk.kind, bk.n), '{}') FROM by_kind bk WHERE bk.id = tg.id) AS kinds,
               kpi_fast(tg.id, y, d) AS f
          FROM targeted tg JOIN counted c ON c.id = tg.id
         ORDER BY tg.path
    LOOP
        PERFORM event_emit('alerts.digest', 'unit', u.id, u.id, jsonb_build_object(
            'date', d, 'year', y,
            'alerts', jsonb_build_object('total', u.total, 'red', u.red, 'yellow', u.yellow, 'by_kind', u.kinds),
            'figures', jsonb_build_object(
                'signing_amount_yuan', (u.f).signing_amount_yuan,
                'target_signing_amount_yuan', u.signing_amount_yuan,
                'signing_progress', CASE WHEN u.signing_amount_yuan > 0
                                         THEN score_round((u.f).signing_amount_yuan::numeric / u.signing_amount_yuan) END,
                'time_progress', score_round(kpi_time_progress(y, d)),
                'signed_count', (u.f).signed_count, 'target_signed_count', u.signed_count,
                'started_count', (u.f).started_count,
                'start_rate', CASE WHEN (u.f).signed_count > 0
                                   THEN score_round((u.f).started_count::numeric / (u.f).signed_count) END,
                'target_start_rate', u.start_rate)));
        n := n + 1;
    END LOOP;
    RETURN format('%s unit digests for %s', n, d);
END
$$;
REVOKE EXECUTE ON FUNCTION job_alerts_digest(jsonb) FROM PUBLIC;

-- The daily alerts job, for today (China time).
CREATE OR REPLACE FUNCTION job_alerts(OUT outcome text, OUT detail text)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT r.outcome, r.detail
      FROM job_run_once('alerts', crm_today()::text, 'job_alerts_digest', jsonb_build_object('on', crm_today())) r
$$;
GRANT EXECUTE ON FUNCTION job_alerts() TO crm_app;

-- stalled: project_mark_stalled (51_projects.sql), the rule's own.
CREATE OR REPLACE FUNCTION job_stalled_mark(p jsonb) RETURNS text LANGUAGE sql AS
$$ SELECT format('%s projects marked stalled', project_mark_stalled()) $$;
REVOKE EXECUTE ON FUNCTION job_stalled_mark(jsonb) FROM PUBLIC;

-- The stalled-project sweep, once every p_every_s seconds however many
-- processes call it: the period is the slice of time (p_every_s long,
-- counted from the epoch) that now falls in, named by its start.
CREATE OR REPLACE FUNCTION job_stalled(p_every_s integer, OUT outcome text, OUT detail text)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT r.outcome, r.detail
      FROM job_run_once('stalled',
               to_char(to_timestamp(floor(extract(epoch FROM now()) / greatest(p_every_s, 1)) * greatest(p_every_s, 1))
                           AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS'),
               'job_stalled_mark', '{}') r
$$;
GRANT EXECUTE ON FUNCTION job_stalled(integer) TO crm_app;

-- expiry: the sessions that can no longer be used (revoked, past their
-- lifetime, or idle longer than idle_s: auth_session refuses them all) and
-- the idempotency keys older than key_keep_s (a retry after that runs as a
-- new request).
CREATE OR REPLACE FUNCTION job_expiry_delete(p jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    sessions integer;
    keys integer;
BEGIN
    DELETE FROM session s
     WHERE s.revoked_at IS NOT NULL OR s.expires_at <= now()
        OR s.last_seen_at < now() - make_interval(secs => (p ->> 'idle_s')::integer);
    GET DIAGNOSTICS sessions = ROW_COUNT;
    DELETE FROM idempotency_key k WHERE k.created_at < now() - make_interval(secs => (p ->> 'key_keep_s')::integer);
    GET DIAGNOSTICS keys = ROW_COUNT;
    RETURN format('%s sessions and %s idempotency keys deleted', sessions, keys);
END
$$;
REVOKE EXECUTE ON FUNCTION job_expiry_delete(jsonb) FROM PUBLIC;

-- The hourly expiry (the period is the hour, China time), with the
-- service's idle timeout and the idempotency keys' lifetime in seconds.
CREATE OR REPLACE FUNCTION job_expiry(p_idle_s integer, p_key_keep_s integer, OUT outcome text, OUT detail text)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT r.outcome, r.detail
      FROM job_run_once('expiry', to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24'), 'job_expiry_delete',
                        jsonb_build_object('idle_s', greatest(p_idle_s, 1), 'key_keep_s', greatest(p_key_keep_s, 1))) r
$$;
GRANT EXECUTE ON FUNCTION job_expiry(integer, integer) TO crm_app;

-- scores: the month-end snapshots of a month, frozen as the assessment
-- office would (snapshot_freeze), with no user: for the time of the call
-- the caller is the role 'viewer' at the top of each unit tree that has a
-- unit with a target or quota that year not yet frozen, with no user id,
-- so the snapshots record frozen_by NULL (the service). Nothing else
-- runs in that transaction, and the caller is cleared after. Units already
-- frozen (by hand, through POST /scores/snapshots) are left as they are.
CREATE OR REPLACE FUNCTION job_scores_freeze(p jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    y integer := (p ->> 'year')::integer;
    m integer := (p ->> 'month')::integer;
    root bigint;
    frozen integer := 0;
BEGIN
    FOR root IN
        SELECT u.id FROM unit u
         WHERE u.parent_id IS NULL
           AND EXISTS (SELECT 1 FROM target t
                        WHERE t.year = y AND t.unit_path @> ARRAY[u.id]
                          AND NOT EXISTS (SELECT 1 FROM score_snapshot s
                                           WHERE s.year = y AND s.month = m AND s.unit_id = t.unit_id))
         ORDER BY u.id
    LOOP
        PERFORM set_config('crm.user_id', '', true), set_config('crm.home_unit_id', root::text, true),
                set_config('crm.unit_id', root::text, true), set_config('crm.role', 'viewer', true);
        frozen := frozen + jsonb_array_length(snapshot_freeze(y, m) -> 'items');
    END LOOP;
    PERFORM set_config('crm.home_unit_id', '', true), set_config('crm.unit_id', '', true),
            set_config('crm.role', '', true);
    RETURN format('%s units frozen for %s-%s', frozen, y, lpad(m::text, 2, '0'));
END
$$;
REVOKE EXECUTE ON FUNCTION job_scores_freeze(jsonb) FROM PUBLIC;

-- The month whose scores are due on p_today ('YYYY-MM'), or NULL: from day
-- p_freeze_day of a month (1..28) to its end, the month before is due; a
-- day missed (the service was down) is caught up on a later day of the
-- month. A freeze day of 0 or less: never (scores are frozen by hand).
CREATE OR REPLACE FUNCTION job_scores_due(p_today date, p_freeze_day integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(date_trunc('month', p_today) - interval '1 month', 'YYYY-MM')
     WHERE p_freeze_day BETWEEN 1 AND 28 AND extract(day FROM p_today) >= p_freeze_day
$$;

-- The monthly freeze of last month's scores, from day p_freeze_day of this
-- month (China time); skipped before it.
CREATE OR REPLACE FUNCTION job_scores(p_freeze_day integer, OUT outcome text, OUT detail text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    due text := job_scores_due(crm_today(), p_freeze_day);
BEGIN
    IF due IS NULL THEN
        outcome := 'skipped';
        RETURN;
    END IF;
    SELECT r.outcome, r.detail INTO outcome, detail
      FROM job_run_once('scores', due, 'job_scores_freeze',
                        jsonb_build_object('year', split_part(due, '-', 1)::integer,
                                           'month', split_part(due, '-', 2)::integer)) r;
END
$$;
GRANT EXECUTE ON FUNCTION job_scores(integer) TO crm_app;

-- ---- what /metrics shows ----

-- Every job of the schedule, run or not, as job_run records it in any
-- process: the end of its last run (NULL: never), whether that run went
-- well, its runs and failures so far.
CREATE OR REPLACE FUNCTION job_runs()
RETURNS TABLE (job text, last_run_at double precision, last_ok boolean, runs bigint, failures bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT j.job, extract(epoch FROM r.finished_at)::double precision, r.outcome = 'ok',
           coalesce(r.runs, 0), coalesce(r.failures, 0)
      FROM (VALUES ('alerts'), ('expiry'), ('scores'), ('stalled')) j (job)
      LEFT JOIN job_run r ON r.job = j.job
     ORDER BY j.job
$$;
GRANT EXECUTE ON FUNCTION job_runs() TO crm_app;
