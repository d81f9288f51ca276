-- Row-level security of the schema, proven with pgTAP (run by tests/sql/run.sh
-- on a scratch database: migrations applied, demo units loaded).
--
-- Runs as crm_owner, which makes the fixtures (users of the county and of two
-- of its towns, sessions), then switches to the service's role with
-- SET LOCAL ROLE crm_app and plays callers by setting crm.user_id, crm.unit_id
-- and crm.role (or through auth_session itself). Fixture ids travel in the
-- transaction-local settings test.*; everything is rolled back at the end.

\set ON_ERROR_STOP 1

BEGIN;
SELECT plan(60);

-- ---- helpers (in pg_temp, and rolled back with the rest) ----

\ir lib/helpers.sql

-- ---- fixtures, as the owner ----

SELECT is(current_user::text, 'crm_owner', 'the fixtures are made by the owner role');

DO $$
BEGIN
    PERFORM set_config('test.hash',
                       '$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', true),
            set_config('test.new_hash',
                       '$argon2id$v=19$m=65536,t=2,p=1$bmV3c2FsdA$bmV3aGFzaG5ld2hhc2g', true);

    INSERT INTO app_user (username, display_name, role, unit_id, password_hash)
    SELECT v.username, v.display_name, v.role, u.id, current_setting('test.hash')
      FROM (VALUES ('js.admin',    'County admin', 'admin', 'sx.yc.js'),
                   ('xishe.clerk', '',             'unit',  'sx.yc.js.xishe'),
                   ('huayu.clerk', '',             'unit',  'sx.yc.js.huayu'))
           AS v (username, display_name, role, code)
      JOIN unit u ON u.code = v.code;

    INSERT INTO session (token_hash, user_id, expires_at)
    SELECT decode(repeat('ab', 32), 'hex'), id, now() + interval '1 hour'
      FROM app_user WHERE username = 'xishe.clerk';
    INSERT INTO session (token_hash, user_id, expires_at)
    SELECT decode(repeat('cd', 32), 'hex'), id, now() + interval '1 hour'
      FROM app_user WHERE username = 'huayu.clerk';

    PERFORM set_config('test.sx',     (SELECT id FROM unit WHERE code = 'sx')::text, true),
            set_config('test.county', (SELECT id FROM unit WHERE code = 'sx.yc.js')::text, true),
            set_config('test.xishe',  (SELECT id FROM unit WHERE code = 'sx.yc.js.xishe')::text, true),
            set_config('test.huayu',  (SELECT id FROM unit WHERE code = 'sx.yc.js.huayu')::text, true),
            set_config('test.admin',       (SELECT id FROM app_user WHERE username = 'js.admin')::text, true),
            set_config('test.xishe_user',  (SELECT id FROM app_user WHERE username = 'xishe.clerk')::text, true),
            set_config('test.huayu_user',  (SELECT id FROM app_user WHERE username = 'huayu.clerk')::text, true),
            -- the county's subtree, as the owner (who sees every unit) counts it
            set_config('test.county_units',
                       (SELECT array_agg(u.id ORDER BY u.id)
                          FROM unit u, unit c
                         WHERE c.code = 'sx.yc.js' AND u.path @> ARRAY[c.id])::text, true);
END
$$;

SELECT is((SELECT count(*) FROM unit), 12::bigint, 'the owner sees the 12 demo units');
SELECT is(cardinality(current_setting('test.county_units')::bigint[]),
          (SELECT count(*)::int - 2 FROM unit),
          'the county subtree is every unit but the province and the city');

-- ==== 1. the app role obeys row-level security, on every table ====

SET LOCAL ROLE crm_app;

SELECT is(current_user::text, 'crm_app', 'the tests run as the app role crm_app');
SELECT ok((SELECT NOT rolsuper FROM pg_roles WHERE rolname = current_user),
          'crm_app is not a superuser');
SELECT ok((SELECT NOT rolbypassrls FROM pg_roles WHERE rolname = current_user),
          'crm_app does not bypass row-level security');
SELECT ok((SELECT NOT rolsuper AND NOT rolbypassrls FROM pg_roles WHERE rolname = 'crm_owner'),
          'crm_owner is neither superuser nor BYPASSRLS: the forced policies bind it too');
SELECT ok(coalesce(c.relrowsecurity AND c.relforcerowsecurity, false),
          format('%s has row-level security enabled and forced', t.name))
  FROM unnest(ARRAY['unit', 'app_user', 'session', 'audit_log']) WITH ORDINALITY AS t (name, n)
  LEFT JOIN pg_class c ON c.oid = to_regclass('public.' || t.name)
 ORDER BY t.n;
SELECT is_empty($$SELECT relname FROM pg_class
                   WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')
                     AND relname NOT IN ('schema_migrations', 'schema_definitions')
                     AND NOT (relrowsecurity AND relforcerowsecurity)$$,
                'no other table of the schema lacks forced row-level security');

-- ==== 2. no caller: nothing is visible, nothing can be written ====

SELECT is(crm_caller_unit(), NULL::bigint, 'no caller: crm.unit_id is not set');
SELECT is((SELECT count(*) FROM unit), 0::bigint, 'no caller: SELECT count(*) FROM unit is 0');
SELECT is((SELECT count(*) FROM app_user), 0::bigint, 'no caller: SELECT count(*) FROM app_user is 0');
SELECT is((SELECT count(*) FROM audit_log), 0::bigint, 'no caller: SELECT count(*) FROM audit_log is 0');
SELECT throws_ok($$INSERT INTO app_user (username, role, unit_id, password_hash)
                   VALUES ('nocaller', 'admin', current_setting('test.xishe')::bigint,
                           current_setting('test.hash'))$$,
                 '42501', 'new row violates row-level security policy for table "app_user"',
                 'no caller: INSERT INTO app_user is refused (42501)');
SELECT is(pg_temp.affected($$UPDATE app_user SET display_name = 'x'$$), 0::bigint,
          'no caller: UPDATE app_user updates 0 rows');

-- ==== 3. a township's unit user sees only its township ====

CALL pg_temp.act_as(current_setting('test.xishe_user'), current_setting('test.xishe'), 'unit', 'req-xishe');

SELECT results_eq('SELECT id, code FROM unit',
                  format('VALUES (%s::bigint, %L::text)', current_setting('test.xishe'), 'sx.yc.js.xishe'),
                  'xishe user: SELECT FROM unit, no WHERE, returns exactly the xishe unit');
SELECT results_eq('SELECT id, username, unit_id FROM app_user ORDER BY id',
                  format('VALUES (%s::bigint, %L::text, %s::bigint)', current_setting('test.xishe_user'),
                         'xishe.clerk', current_setting('test.xishe')),
                  'xishe user: SELECT FROM app_user, no WHERE, returns only the xishe user');
SELECT is_empty(format('SELECT id FROM app_user WHERE id = %s', current_setting('test.huayu_user')),
                'xishe user: the huayu user''s id is invisible');
SELECT throws_ok('SELECT password_hash FROM app_user', '42501', 'permission denied for table app_user',
                 'crm_app cannot read password hashes at all');
SELECT is(pg_temp.affected($$UPDATE app_user SET display_name = 'x'$$), 0::bigint,
          'xishe user: UPDATE app_user SET display_name (no WHERE) affects 0 rows');
SELECT throws_ok($$INSERT INTO app_user (username, role, unit_id, password_hash)
                   VALUES ('huayu.intruder', 'unit', current_setting('test.huayu')::bigint,
                           current_setting('test.hash'))$$,
                 '42501', 'new row violates row-level security policy for table "app_user"',
                 'xishe user: INSERT of a user into huayu is refused (42501)');
SELECT throws_ok($$INSERT INTO app_user (username, role, unit_id, password_hash)
                   VALUES ('xishe.second', 'unit', current_setting('test.xishe')::bigint,
                           current_setting('test.hash'))$$,
                 '42501', 'new row violates row-level security policy for table "app_user"',
                 'xishe user: INSERT of a user even into its own unit is refused (not an admin)');
SELECT is((SELECT count(*) FROM audit_log), 0::bigint,
          'xishe user: audit_log count is 0 (only admins and viewers read it)');

-- ==== 4. the county admin sees and manages the county ====

CALL pg_temp.act_as(current_setting('test.admin'), current_setting('test.county'), 'admin', 'req-admin');

SELECT results_eq('SELECT username FROM app_user ORDER BY username',
                  $$VALUES ('huayu.clerk'::text), ('js.admin'), ('xishe.clerk')$$,
                  'county admin: sees all 3 users');
SELECT is((SELECT array_agg(id ORDER BY id) FROM unit), current_setting('test.county_units')::bigint[],
          'county admin: sees exactly the units of the county subtree');
SELECT is_empty($$SELECT code FROM unit WHERE code IN ('sx', 'sx.yc') OR id = current_setting('test.sx')::bigint$$,
                'county admin: cannot see the province or the city above the county');
SELECT is(pg_temp.affected(format($$UPDATE app_user SET display_name = 'Xishe Clerk' WHERE id = %s$$,
                                  current_setting('test.xishe_user'))),
          1::bigint, 'county admin: can UPDATE a xishe user');
SELECT lives_ok($$INSERT INTO app_user (username, role, unit_id, password_hash)
                  VALUES ('xishe.second', 'unit', current_setting('test.xishe')::bigint,
                          current_setting('test.hash'))$$,
                'county admin: can INSERT a user into a township of the county');
SELECT throws_ok($$INSERT INTO app_user (username, role, unit_id, password_hash)
                   VALUES ('sx.intruder', 'admin', current_setting('test.sx')::bigint,
                           current_setting('test.hash'))$$,
                 '42501', 'new row violates row-level security policy for table "app_user"',
                 'county admin: INSERT of a user into the province sx is refused (42501)');
SELECT throws_ok(format('UPDATE app_user SET unit_id = %s WHERE id = %s',
                        current_setting('test.sx'), current_setting('test.xishe_user')),
                 '42501', 'new row violates row-level security policy for table "app_user"',
                 'county admin: moving a user out of the county (to sx) is refused (42501)');

-- ==== 5. the audit log: append-only, by triggers; who, what, redacted ====

SELECT throws_ok($$UPDATE audit_log SET action = 'delete'$$, '42501', 'permission denied for table audit_log',
                 'crm_app cannot UPDATE audit_log (42501)');
SELECT throws_ok('DELETE FROM audit_log', '42501', 'permission denied for table audit_log',
                 'crm_app cannot DELETE FROM audit_log (42501)');
SELECT throws_ok($$INSERT INTO audit_log (table_name, row_id, action) VALUES ('app_user', '0', 'insert')$$,
                 '42501', 'permission denied for table audit_log',
                 'crm_app cannot INSERT INTO audit_log (42501)');
SELECT results_eq(format($$SELECT actor_id, request_id, table_name, unit_id, before, after FROM audit_log
                           WHERE table_name = 'app_user' AND action = 'update' AND row_id = %L$$,
                         current_setting('test.xishe_user')),
                  format($$VALUES (%s::bigint, 'req-admin'::text, 'app_user'::text, %s::bigint,
                                   '{"display_name": ""}'::jsonb, '{"display_name": "Xishe Clerk"}'::jsonb)$$,
                         current_setting('test.admin'), current_setting('test.xishe')),
                  'the admin''s update wrote one audit row: actor, request, table, only the changed field');
SELECT is(pg_temp.affected(format($$UPDATE app_user SET password_hash = current_setting('test.new_hash')
                                    WHERE id = %s$$, current_setting('test.huayu_user'))),
          1::bigint, 'county admin: changes the huayu user''s password hash');
SELECT results_eq(format($$SELECT actor_id, table_name, before, after FROM audit_log
                           WHERE table_name = 'app_user' AND action = 'update' AND row_id = %L$$,
                         current_setting('test.huayu_user')),
                  format($$VALUES (%s::bigint, 'app_user'::text, '{"password_hash": "[redacted]"}'::jsonb,
                                   '{"password_hash": "[redacted]"}'::jsonb)$$, current_setting('test.admin')),
                  'a password change is audited with password_hash "[redacted]" before and after');
SELECT is((SELECT after -> 'password_hash' FROM audit_log
            WHERE table_name = 'app_user' AND action = 'insert' AND row_id = current_setting('test.xishe_user')),
          '"[redacted]"'::jsonb, 'a new user''s audit row shows password_hash as "[redacted]"');
SELECT is_empty($$SELECT id FROM audit_log WHERE concat(before, after) LIKE '%argon2id%'$$,
                'no audit row holds a password hash');

-- ==== 6. sessions: only through auth_* ====

SELECT throws_ok('SELECT * FROM session', '42501', 'permission denied for table session',
                 'crm_app cannot SELECT FROM session (42501)');

CALL pg_temp.act_as(NULL, NULL, NULL, NULL);
SELECT is(crm_caller_user(), NULL::bigint, 'no caller before auth_session');
SELECT results_eq($$SELECT user_id, username, role, unit_id
                      FROM auth_session(decode(repeat('ab', 32), 'hex'), 'req-1', ARRAY['unit'], 1800)$$,
                  format($$VALUES (%s::bigint, 'xishe.clerk'::text, 'unit'::text, %s::bigint)$$,
                         current_setting('test.xishe_user'), current_setting('test.xishe')),
                  'auth_session with the xishe token returns the xishe user');
SELECT is(current_setting('crm.unit_id'), current_setting('test.xishe'), 'auth_session set crm.unit_id');
SELECT is(current_setting('crm.user_id'), current_setting('test.xishe_user'), 'auth_session set crm.user_id');
SELECT is(current_setting('crm.role'), 'unit', 'auth_session set crm.role');
SELECT is(current_setting('crm.request_id'), 'req-1', 'auth_session set crm.request_id');
SELECT results_eq('SELECT code FROM unit', $$VALUES ('sx.yc.js.xishe'::text)$$,
                  'after auth_session the caller sees only the xishe unit');
SELECT throws_ok($$SELECT * FROM auth_session(decode(repeat('ee', 32), 'hex'), 'req-2', ARRAY['unit'], 1800)$$,
                 'CR401', 'invalid session', 'auth_session: a wrong token throws CR401');
SELECT throws_ok($$SELECT * FROM auth_session(decode(repeat('ab', 32), 'hex'), 'req-3', ARRAY['admin'], 1800)$$,
                 'CR403', 'role unit may not call this route',
                 'auth_session: the right token on an admin route throws CR403');

RESET ROLE;
UPDATE session SET revoked_at = now() WHERE token_hash = decode(repeat('ab', 32), 'hex');
SET LOCAL ROLE crm_app;
SELECT throws_ok($$SELECT * FROM auth_session(decode(repeat('ab', 32), 'hex'), 'req-4', ARRAY['unit'], 1800)$$,
                 'CR401', 'invalid session', 'auth_session: a revoked session throws CR401');

RESET ROLE;
UPDATE session SET revoked_at = NULL, last_seen_at = now() - interval '2 hours'
 WHERE token_hash = decode(repeat('ab', 32), 'hex');
SET LOCAL ROLE crm_app;
SELECT throws_ok($$SELECT * FROM auth_session(decode(repeat('ab', 32), 'hex'), 'req-5', ARRAY['unit'], 1800)$$,
                 'CR401', 'invalid session', 'auth_session: a session idle 2 hours (timeout 1800 s) throws CR401');
SELECT lives_ok($$SELECT * FROM auth_session(decode(repeat('ab', 32), 'hex'), 'req-6', ARRAY['unit'], 10800)$$,
                'auth_session: the same session under a 3 hour idle timeout is accepted (only idleness failed)');

RESET ROLE;
UPDATE session SET last_seen_at = now(), expires_at = now() - interval '1 second'
 WHERE token_hash = decode(repeat('ab', 32), 'hex');
SET LOCAL ROLE crm_app;
SELECT throws_ok($$SELECT * FROM auth_session(decode(repeat('ab', 32), 'hex'), 'req-7', ARRAY['unit'], 1800)$$,
                 'CR401', 'invalid session', 'auth_session: an expired session throws CR401');

-- ==== 7. ending another user's sessions: admins, in scope ====

CALL pg_temp.act_as(current_setting('test.xishe_user'), current_setting('test.xishe'), 'unit', 'req-8');
SELECT is(auth_sessions_end(current_setting('test.huayu_user')::bigint), false,
          'auth_sessions_end(huayu user) as the xishe unit user returns false');
SELECT is(auth_sessions_end(current_setting('test.xishe_user')::bigint), false,
          'auth_sessions_end of a user in its own scope as a unit user returns false (admins only)');
RESET ROLE;
SELECT is((SELECT count(*) FROM session
            WHERE user_id = current_setting('test.huayu_user')::bigint AND revoked_at IS NULL),
          1::bigint, '... and the huayu user''s session stays open');
SET LOCAL ROLE crm_app;

CALL pg_temp.act_as(current_setting('test.admin'), current_setting('test.county'), 'admin', 'req-9');
SELECT is(auth_sessions_end(current_setting('test.huayu_user')::bigint), true,
          'auth_sessions_end(huayu user) as the county admin returns true');
RESET ROLE;
SELECT is((SELECT count(*) FROM session
            WHERE user_id = current_setting('test.huayu_user')::bigint AND revoked_at IS NULL),
          0::bigint, '... and the huayu user''s sessions are ended');

SELECT * FROM finish();
ROLLBACK;
