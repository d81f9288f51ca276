-- The service's schedule (sql/schema/94_schedule.sql, issue 15), proven with
-- pgTAP: each job runs once per period however often it is called, as the
-- service's role crm_app calls it; a failed run is recorded and retried; the
-- daily alerts digest writes one event per unit with a target; expiry
-- deletes only what can no longer be used; scores are frozen from the
-- configured day of a month, by no user, and a month frozen is skipped.
-- That a second process skips while the first holds a job's lock needs two
-- sessions: tests/api/schedule.bats shows it.
--
-- Runs on the scratch database of tests/sql/run.sh (demo units loaded), as
-- crm_owner making the fixtures; everything is rolled back. now() is the
-- transaction's, so every call below falls in the same period.

\set ON_ERROR_STOP 1

BEGIN;
SELECT plan(44);

\ir lib/helpers.sql

-- A body that changes something, then fails (job_run_once's failure path).
CREATE FUNCTION pg_temp.boom(p jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    UPDATE setting SET value = '1' WHERE key = 'stall_after_days';
    RAISE EXCEPTION 'boom' USING ERRCODE = 'P0001';
END
$$;

CREATE FUNCTION pg_temp.fine(p jsonb) RETURNS text LANGUAGE sql AS $$ SELECT 'fine' $$;

-- The fixtures: targets of this year and of last month's year for the
-- county and two towns, a user, a project without progress for 100 days
-- in 西社镇, sessions and idempotency keys of every age.
DO $$
DECLARE
    y integer := extract(year FROM crm_today())::integer;
    ly integer := extract(year FROM date_trunc('month', crm_today()) - interval '1 month')::integer;
    yr integer;
    uid bigint;
    pid bigint;
BEGIN
    PERFORM set_config('test.county', (SELECT id FROM unit WHERE code = 'sx.yc.js')::text, true),
            set_config('test.xishe', (SELECT id FROM unit WHERE code = 'sx.yc.js.xishe')::text, true),
            set_config('test.jifeng', (SELECT id FROM unit WHERE code = 'sx.yc.js.jifeng')::text, true),
            set_config('test.year', y::text, true),
            set_config('test.last_year', ly::text, true);
    FOREACH yr IN ARRAY ARRAY(SELECT DISTINCT x FROM unnest(ARRAY[y, ly]) x) LOOP
        INSERT INTO target (unit_id, year, signing_amount_yuan, signed_count, start_rate)
        VALUES (pg_temp.id('county'), yr, 2000000000, 4, 0.7);
        INSERT INTO target (unit_id, year, parent_unit_id, signing_amount_yuan, signed_count, start_rate)
        VALUES (pg_temp.id('xishe'), yr, pg_temp.id('county'), 1000000000, 2, 0.7),
               (pg_temp.id('jifeng'), yr, pg_temp.id('county'), 1000000000, 2, 0.7);
    END LOOP;
    INSERT INTO app_user (username, display_name, role, unit_id, password_hash)
    VALUES ('sched.viewer', '', 'viewer', pg_temp.id('xishe'),
            '$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA')
    RETURNING id INTO uid;
    PERFORM set_config('test.viewer', uid::text, true);
    INSERT INTO project (code, name, unit_id, planned_investment_yuan, stage)
    VALUES ('SCHED-1', '停滞测试项目', pg_temp.id('xishe'), 100000000, 'negotiating')
    RETURNING id INTO pid;
    UPDATE project SET last_progress_at = now() - interval '100 days' WHERE id = pid;
    PERFORM set_config('test.project', pid::text, true);
    INSERT INTO session (token_hash, user_id, expires_at, last_seen_at, revoked_at)
    VALUES (decode(repeat('51', 32), 'hex'), uid, now() + interval '1 hour', now(), NULL),            -- live
           (decode(repeat('52', 32), 'hex'), uid, now() - interval '1 second', now(), NULL),         -- past its lifetime
           (decode(repeat('53', 32), 'hex'), uid, now() + interval '1 hour', now() - interval '31 minutes', NULL), -- idle
           (decode(repeat('54', 32), 'hex'), uid, now() + interval '1 hour', now(), now());          -- logged out
    INSERT INTO idempotency_key (user_id, key, route, request_hash, state, created_at)
    VALUES (uid, 'fresh', 'POST /x', '\x00', 'done', now() - interval '23 hours'),
           (uid, 'old', 'POST /x', '\x00', 'done', now() - interval '25 hours');
END
$$;

SET LOCAL ROLE crm_app;

-- ---- the runner ----

SELECT throws_ok($$SELECT * FROM job_run_once('alerts', 'x', 'job_alerts_digest', '{}')$$, '42501', NULL,
                 'the service cannot run a job body of its choosing (job_run_once is not granted)');
SELECT throws_ok($$SELECT job_scores_freeze('{"year": 2026, "month": 1}')$$, '42501', NULL,
                 '... nor call a body directly');
SELECT is((SELECT count(*) FROM job_runs()), 4::bigint, 'job_runs lists the four jobs before any ran');
SELECT ok((SELECT bool_and(r.last_run_at IS NULL AND r.runs = 0) FROM job_runs() r), '... none run yet');

RESET ROLE;
SELECT is((SELECT outcome || ' ' || detail FROM job_run_once('pgtap', 'p1', 'pg_temp.boom', '{}')),
          'failed error P0001', 'a body that raises: failed, with the SQLSTATE only');
SELECT is((SELECT value::text FROM setting WHERE key = 'stall_after_days'), '90', '... and its changes undone');
SELECT is((SELECT array[period, outcome, runs::text, failures::text] FROM job_run WHERE job = 'pgtap'),
          array['p1', 'failed', '1', '1'], '... recorded as failed for the period');
SELECT is((SELECT outcome FROM job_run_once('pgtap', 'p1', 'pg_temp.boom', '{}')), 'failed',
          'a failed period is run again on the next call');
SELECT is((SELECT outcome || ' ' || detail FROM job_run_once('pgtap', 'p1', 'pg_temp.fine', '{}')), 'ran fine',
          '... and once it succeeds');
SELECT is((SELECT array[outcome, detail, runs::text, failures::text] FROM job_run WHERE job = 'pgtap'),
          array['ok', 'fine', '3', '2'], '... job_run counts every run and every failure');
SELECT is((SELECT outcome FROM job_run_once('pgtap', 'p1', 'pg_temp.fine', '{}')), 'skipped',
          'a period done is skipped');
SELECT is((SELECT outcome FROM job_run_once('pgtap', 'p2', 'pg_temp.fine', '{}')), 'ran', 'the next period runs');
SELECT is((SELECT outcome FROM job_run_once('pgtap', NULL, 'pg_temp.fine', '{}')) ||
          (SELECT outcome FROM job_run_once('pgtap', NULL, 'pg_temp.fine', '{}')), 'ranran',
          'a job without a period runs at every call (the lock alone keeps runs apart)');

SET LOCAL ROLE crm_app;

-- ---- alerts: one digest a day per unit with a target ----

SELECT is((SELECT outcome FROM job_alerts()), 'ran', 'the alerts job runs');
SELECT is((SELECT outcome FROM job_alerts()), 'skipped', '... once a day: the second call is skipped');
RESET ROLE;
SELECT is((SELECT array[period, outcome] FROM job_run WHERE job = 'alerts'), array[crm_today()::text, 'ok'],
          'job_run records today (China time) as done');
SELECT is((SELECT count(*) FROM event_pending WHERE type = 'alerts.digest'), 3::bigint,
          'one alerts.digest event for each of the three units with a target');
SELECT is((SELECT count(DISTINCT unit_id) FROM event_pending WHERE type = 'alerts.digest'), 3::bigint,
          '... each of its own unit');
SELECT ok((SELECT bool_and(entity = 'unit' AND entity_id = unit_id) FROM event_pending WHERE type = 'alerts.digest'),
          '... an event on the unit');
SELECT is((SELECT payload -> 'alerts' -> 'by_kind' ->> 'no_progress' FROM event_pending
            WHERE type = 'alerts.digest' AND unit_id = pg_temp.id('xishe')), '1',
          '西社镇''s digest counts its project without progress');
SELECT is((SELECT payload -> 'alerts' -> 'by_kind' ->> 'no_progress' FROM event_pending
            WHERE type = 'alerts.digest' AND unit_id = pg_temp.id('county')), '1',
          '... and so does the county''s (the alerts of its subtree)');
SELECT ok((SELECT NOT payload -> 'alerts' -> 'by_kind' ? 'no_progress' FROM event_pending
            WHERE type = 'alerts.digest' AND unit_id = pg_temp.id('jifeng')),
          '稷峰镇''s does not');
SELECT is((SELECT payload -> 'figures' ->> 'target_signing_amount_yuan' FROM event_pending
            WHERE type = 'alerts.digest' AND unit_id = pg_temp.id('xishe')), '1000000000',
          'a digest carries the unit''s figures against its target');
SELECT is((SELECT payload ->> 'date' FROM event_pending WHERE type = 'alerts.digest' LIMIT 1), crm_today()::text,
          '... and its date');
SELECT ok((SELECT bool_and(request_id = 'job:alerts' AND actor_id IS NULL) FROM event_pending
           WHERE type = 'alerts.digest'), '... written by the schedule (its request id), by no user');

-- ---- stalled ----

SET LOCAL ROLE crm_app;
SELECT is((SELECT outcome || ' ' || detail FROM job_stalled(600)), 'ran 1 projects marked stalled',
          'the stalled sweep marks the project without progress');
SELECT is((SELECT outcome FROM job_stalled(600)), 'skipped', '... once in its period of 600 s');
RESET ROLE;
SELECT is((SELECT stage FROM project WHERE id = pg_temp.id('project')), 'stalled', '... which is now stalled');

-- ---- expiry ----

SET LOCAL ROLE crm_app;
SELECT is((SELECT outcome || ' ' || detail FROM job_expiry(1800, 86400)),
          'ran 3 sessions and 1 idempotency keys deleted', 'the hourly expiry runs');
SELECT is((SELECT outcome FROM job_expiry(1800, 86400)), 'skipped', '... once an hour');
RESET ROLE;
SELECT is((SELECT array_agg(encode(token_hash, 'hex') ORDER BY token_hash) FROM session
            WHERE user_id = pg_temp.id('viewer')), ARRAY[repeat('51', 32)],
          'the live session stays; the expired, idle and logged-out ones are gone');
SELECT is((SELECT array_agg(key ORDER BY key) FROM idempotency_key WHERE user_id = pg_temp.id('viewer')),
          ARRAY['fresh'], 'an idempotency key younger than its lifetime stays; an older one is gone');

-- ---- scores ----

SELECT is(job_scores_due('2026-03-01', 1), '2026-02', 'on the freeze day, last month is due');
SELECT is(job_scores_due('2026-01-05', 5), '2025-12', '... across a new year');
SELECT is(job_scores_due('2026-03-20', 5), '2026-02', '... and on a later day of the month (a missed day caught up)');
SELECT is(job_scores_due('2026-03-04', 5), NULL, 'before the freeze day nothing is due');
SELECT is(job_scores_due('2026-03-04', 0), NULL, 'a freeze day of 0: never');

-- A viewer of 西社镇 froze their own town by hand already.
SELECT set_config('test.month', extract(month FROM date_trunc('month', crm_today()) - interval '1 month')::text, true);
CALL pg_temp.act_as(current_setting('test.viewer'), current_setting('test.xishe'), 'viewer', 'req-hand');
SELECT is(jsonb_array_length(snapshot_freeze(pg_temp.id('last_year')::integer, pg_temp.id('month')::integer) -> 'items'),
          1, 'a viewer of 西社镇 freezes last month''s score of their town by hand');
CALL pg_temp.act_as(NULL, NULL, NULL, NULL);

SET LOCAL ROLE crm_app;
SELECT is((SELECT outcome FROM job_scores(CASE WHEN extract(day FROM crm_today()) < 28
                                               THEN extract(day FROM crm_today())::integer + 1 ELSE 0 END)),
          'skipped', 'before its day the freeze is skipped');
SELECT is((SELECT outcome || ' ' || detail FROM job_scores(least(extract(day FROM crm_today())::integer, 28))),
          format('ran 2 units frozen for %s-%s', pg_temp.id('last_year'), lpad(pg_temp.id('month')::text, 2, '0')),
          'on its day the freeze runs: the county and 稷峰镇');
SELECT is((SELECT outcome FROM job_scores(least(extract(day FROM crm_today())::integer, 28))), 'skipped',
          '... and a month frozen is skipped, not an error');
SELECT is(crm_caller_role(), NULL, 'the freeze leaves no caller behind');
RESET ROLE;
SELECT is((SELECT array_agg(frozen_by IS NULL ORDER BY unit_id) FROM score_snapshot
            WHERE year = pg_temp.id('last_year') AND month = pg_temp.id('month')),
          ARRAY[true, true, false], 'the service froze with no user; the hand-frozen town kept its viewer');

SET LOCAL ROLE crm_app;
SELECT ok((SELECT bool_and(r.last_ok AND r.runs = 1 AND r.failures = 0 AND r.last_run_at > 0) FROM job_runs() r),
          'job_runs shows each job''s one successful run');

SELECT * FROM finish();
ROLLBACK;
