-- Webhooks (issue 15, sql/schema/93_webhooks.sql), proven with pgTAP: the
-- deliveries a publication owes (each active webhook whose scope holds the
-- event and that wants its type: '*', the type, or its family), the rules of
-- a webhook written, the sender's claim (once, until it lapses) and its
-- record of attempts (backoff doubled and capped, given up at the maximum,
-- an attempt recorded twice changing nothing), and who sees what as the
-- service's role: admins, each their scope's webhooks and deliveries, nobody
-- else any. Runs on the scratch database of tests/sql/run.sh (demo units
-- loaded); everything is rolled back.

\set ON_ERROR_STOP 1

BEGIN;
SELECT plan(29);
\ir lib/helpers.sql

-- Webhooks of the county (all), of 西社镇 (contracts; starts verified), of
-- 化峪镇 (all), and a paused one; four events published after any there are.
DO $$
DECLARE
    base bigint := (SELECT coalesce(max(id), 0) + 100 FROM event);
BEGIN
    PERFORM set_config('test.county', (SELECT id FROM unit WHERE code = 'sx.yc.js')::text, true),
            set_config('test.xishe', (SELECT id FROM unit WHERE code = 'sx.yc.js.xishe')::text, true),
            set_config('test.huayu', (SELECT id FROM unit WHERE code = 'sx.yc.js.huayu')::text, true),
            set_config('test.base', base::text, true);
    INSERT INTO webhook (unit_id, url, event_types, secret, description, active)
    VALUES (pg_temp.id('county'), 'https://county.example.org/in', '{*}', 'county-secret-0123456789', 'w_county', true),
           (pg_temp.id('xishe'), 'http://10.20.0.5:8080/hook', '{contract.*,start.verified}', 'xishe-secret-0123456789',
            'w_xishe', true),
           (pg_temp.id('huayu'), 'http://10.20.0.6/hook', '{*}', 'huayu-secret-0123456789', 'w_huayu', true),
           (pg_temp.id('county'), 'http://10.20.0.7/hook', '{*}', 'paused-secret-0123456789', 'w_paused', false);
    INSERT INTO event (id, type, entity, entity_id, unit_id, unit_path, at, payload)
    SELECT base + n, t, split_part(t, '.', 1), n, u.id, u.path, now(), '{}'
      FROM (VALUES (1, 'contract.verified', 'sx.yc.js.xishe'), (2, 'start.verified', 'sx.yc.js.xishe'),
                   (3, 'start.reported', 'sx.yc.js.xishe'), (4, 'project.created', 'sx.yc.js.huayu'),
                   (5, 'contract.reported', 'sx.yc.js')) v (n, t, code)
      JOIN unit u ON u.code = v.code;
END
$$;

CREATE FUNCTION pg_temp.hook(p_description text) RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT id FROM webhook WHERE description = p_description $$;

CREATE FUNCTION pg_temp.owed(p_description text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT string_agg((e.id - pg_temp.id('base'))::text, ',' ORDER BY e.id)
      FROM webhook_delivery d JOIN event e ON e.id = d.event_id WHERE d.webhook_id = pg_temp.hook(p_description)
$$;

-- ---- the deliveries a publication owes ----

SELECT is(webhook_deliveries_add(pg_temp.id('base'), pg_temp.id('base') + 5), 8,
          'a publication owes a delivery per wanting webhook of each event''s scope');
SELECT is(pg_temp.owed('w_county'), '1,2,3,4,5', 'the county''s webhook for every type wants every event of the county');
SELECT is(pg_temp.owed('w_xishe'), '1,2',
          '西社镇''s wants its contracts (a family) and its verified starts (a type), not a reported start');
SELECT is(pg_temp.owed('w_huayu'), '4', '化峪镇''s gets 化峪镇''s events only');
SELECT is(pg_temp.owed('w_paused'), NULL, 'a paused webhook is owed nothing');
SELECT is(webhook_deliveries_add(pg_temp.id('base'), pg_temp.id('base') + 5), 0,
          'a publication seen again owes nothing more');
SELECT is(webhook_deliveries_add(pg_temp.id('base') + 1, pg_temp.id('base') + 1), 0,
          'the range is (after, upto]: an empty one owes nothing');

-- ---- the rules of a webhook ----

SELECT throws_ok($$INSERT INTO webhook (unit_id, url, event_types, secret)
                   VALUES (pg_temp.id('county'), 'ftp://10.0.0.1/', '{*}', 'secret-0123456789')$$,
                 '23514', 'must be an http or https URL with a host', 'a URL not http(s) is refused');
SELECT throws_ok($$INSERT INTO webhook (unit_id, url, event_types, secret)
                   VALUES (pg_temp.id('county'), 'http://user@10.0.0.1/', '{*}', 'secret-0123456789')$$,
                 '23514', 'must be an http or https URL with a host', '... so is one with a user name');
SELECT throws_ok($$INSERT INTO webhook (unit_id, url, event_types, secret)
                   VALUES (pg_temp.id('county'), 'http://10.0.0.1/', '{contract.nope}', 'secret-0123456789')$$,
                 '23514', NULL, 'an unknown event type is refused');
SELECT throws_ok($$INSERT INTO webhook (unit_id, url, event_types, secret)
                   VALUES (pg_temp.id('county'), 'http://10.0.0.1/', '{nope.*}', 'secret-0123456789')$$,
                 '23514', NULL, '... and an unknown family');
SELECT throws_ok($$INSERT INTO webhook (unit_id, url, event_types, secret)
                   VALUES (pg_temp.id('county'), 'http://10.0.0.1/', '{*}', 'short')$$,
                 '23514', 'must be 16 to 200 characters', 'a secret under 16 characters is refused');
SELECT ok(NOT (SELECT webhook_json(w) ? 'secret' FROM webhook w WHERE w.description = 'w_county'),
          'a webhook''s JSON has no secret');

-- ---- the sender's claim and record ----

SELECT is((SELECT count(*) FROM webhook_deliveries_claim(100, 60000)), 8::bigint,
          'the sender claims every due delivery');
SELECT is((SELECT count(*) FROM webhook_deliveries_claim(100, 60000)), 0::bigint,
          '... once: a claimed delivery is not claimed again until its claim lapses');
UPDATE webhook_delivery SET locked_until = now() - interval '1 second'
 WHERE webhook_id = pg_temp.hook('w_huayu');
SELECT is((SELECT string_agg(format('%s %s %s', attempt, url, (body::jsonb ->> 'id')::bigint - pg_temp.id('base')), ';')
             FROM webhook_deliveries_claim(100, 60000)),
          '1 http://10.20.0.6/hook 4', 'a lapsed claim is taken again: its attempt, URL and event''s body');

CREATE FUNCTION pg_temp.delivery(p_hook text, p_n integer) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT id FROM webhook_delivery WHERE webhook_id = pg_temp.hook(p_hook) AND event_id = pg_temp.id('base') + p_n
$$;

SELECT is((SELECT format('%s %s', state, retry_ms)
             FROM webhook_attempt_record(pg_temp.delivery('w_xishe', 1), 1, 12, 500, NULL, false, 3, 1000, 3600000)),
          'pending 1000', 'a failed attempt is retried after the backoff');
SELECT is((SELECT format('%s %s', state, retry_ms)
             FROM webhook_attempt_record(pg_temp.delivery('w_xishe', 1), 2, 12, NULL, 'no answer within 5000 ms', false,
                                         3, 1000, 3600000)),
          'pending 2000', '... doubled after the second');
SELECT ok((SELECT next_attempt_at BETWEEN now() + interval '1999 ms' AND now() + interval '2001 ms'
             FROM webhook_delivery WHERE id = pg_temp.delivery('w_xishe', 1)), '... which is its next attempt''s time');
SELECT is((SELECT format('%s %s', state, retry_ms)
             FROM webhook_attempt_record(pg_temp.delivery('w_xishe', 1), 3, 12, 502, NULL, false, 3, 1000, 3600000)),
          'failed ', 'the last allowed attempt failing gives the delivery up');
SELECT is((SELECT format('%s %s', state, retry_ms)
             FROM webhook_attempt_record(pg_temp.delivery('w_xishe', 2), 1, 30, 204, NULL, true, 3, 1000, 3600000)),
          'delivered ', 'a 2xx delivers');
SELECT is((SELECT format('%s %s', state, retry_ms)
             FROM webhook_attempt_record(pg_temp.delivery('w_xishe', 2), 1, 30, 500, NULL, false, 3, 1000, 3600000)),
          'delivered ', 'an attempt recorded twice changes nothing');
SELECT is((SELECT retry_ms
             FROM webhook_attempt_record(pg_temp.delivery('w_county', 1), 1, 1, 500, NULL, false, 8, 1000, 1500)),
          1000::bigint, 'the backoff starts at its base');
SELECT is((SELECT retry_ms
             FROM webhook_attempt_record(pg_temp.delivery('w_county', 1), 2, 1, 500, NULL, false, 8, 1000, 1500)),
          1500::bigint, '... and never exceeds its cap');

-- ---- who sees what ----

DO $$ BEGIN PERFORM set_config('test.w_xishe', pg_temp.hook('w_xishe')::text, true); END $$;
SET LOCAL ROLE crm_app;

CALL pg_temp.act_as('1', pg_temp.id('huayu')::text, 'admin', 'req-wh');
SELECT is((SELECT string_agg(description, ',') FROM webhook), 'w_huayu',
          'a township''s admin sees its own webhooks only');
SELECT is((SELECT webhook_deliveries_page(pg_temp.id('w_xishe'), NULL, 50)), NULL,
          '... and not another township''s deliveries (the page is NULL: 404)');

CALL pg_temp.act_as('1', pg_temp.id('county')::text, 'admin', 'req-wh');
SELECT is((SELECT count(*) FROM webhook), 4::bigint, 'the county''s admin sees every webhook of the county');
SELECT is((SELECT json_array_length(webhook_deliveries_page(pg_temp.id('w_xishe'), NULL, 50)::json -> 'items')), 2,
          '... and a township''s deliveries');

CALL pg_temp.act_as('1', pg_temp.id('county')::text, 'bureau', 'req-wh');
SELECT is((SELECT count(*) FROM webhook) + (SELECT count(*) FROM webhook_delivery) + (SELECT count(*) FROM webhook_attempt),
          0::bigint, 'a bureau user sees no webhook, delivery or attempt');

SELECT finish();
ROLLBACK;
