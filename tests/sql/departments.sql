-- Departments act for the unit they serve (DESIGN.md sections 2 and 4,
-- migration 0010), proven with pgTAP as the service's role: a user of the
-- county's investment centre (a department under the county) gets the
-- county's scope from auth_session itself, reads and writes the
-- townships' rows, and the centre holds no quota and is never ranked.
-- Runs on the scratch database of tests/sql/run.sh (demo units loaded);
-- everything is rolled back.

\set ON_ERROR_STOP 1

BEGIN;
SELECT plan(12);

DO $$
BEGIN
    INSERT INTO app_user (username, display_name, role, unit_id, password_hash)
    SELECT v.username, '', v.role, u.id, '$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA'
      FROM (VALUES ('dept.bureau', 'bureau', 'sx.yc.js.invest'), ('dept.xishe', 'unit', 'sx.yc.js.xishe'))
           AS v (username, role, code)
      JOIN unit u ON u.code = v.code;
    INSERT INTO session (token_hash, user_id, expires_at)
    SELECT decode(repeat('d1', 32), 'hex'), id, now() + interval '1 hour' FROM app_user WHERE username = 'dept.bureau';
    INSERT INTO session (token_hash, user_id, expires_at)
    SELECT decode(repeat('d2', 32), 'hex'), id, now() + interval '1 hour' FROM app_user WHERE username = 'dept.xishe';
    PERFORM set_config('test.county', (SELECT id FROM unit WHERE code = 'sx.yc.js')::text, true),
            set_config('test.invest', (SELECT id FROM unit WHERE code = 'sx.yc.js.invest')::text, true),
            set_config('test.xishe', (SELECT id FROM unit WHERE code = 'sx.yc.js.xishe')::text, true),
            set_config('test.county_units', (SELECT count(*) FROM unit u, unit c
                                              WHERE c.code = 'sx.yc.js' AND u.path @> ARRAY[c.id])::text, true);
    INSERT INTO target (unit_id, year, signing_amount_yuan, signed_count, start_rate)
    VALUES (current_setting('test.county')::bigint, 2030, 1000, 2, 0.5);
END
$$;

SET LOCAL ROLE crm_app;

SELECT is((SELECT unit_id FROM auth_session(decode(repeat('d1', 32), 'hex'), 'req-d1', ARRAY['bureau'], 1800)),
          current_setting('test.invest')::bigint, 'auth_session returns the bureau user''s own unit, the centre');
SELECT is(crm_caller_unit(), current_setting('test.county')::bigint,
          'the scope of a user of the centre (a department) starts at the county it serves');
SELECT is(crm_caller_home_unit(), current_setting('test.invest')::bigint, '... and crm.home_unit_id keeps the centre');
SELECT is((SELECT count(*) FROM unit), current_setting('test.county_units')::bigint,
          'a user of the centre sees every unit of the county');
SELECT ok(crm_unit_in_scope(current_setting('test.xishe')::bigint), '... among them 西社镇');
SELECT lives_ok($$INSERT INTO investor (name, unit_id) VALUES ('部门测试客商', current_setting('test.xishe')::bigint)$$,
                'a bureau user of the centre creates an investor for a town');

SELECT is((SELECT unit_id FROM auth_session(decode(repeat('d2', 32), 'hex'), 'req-d2', ARRAY['unit'], 1800)),
          current_setting('test.xishe')::bigint, 'a town user''s session');
SELECT is(crm_caller_unit(), current_setting('test.xishe')::bigint, 'a town''s scope is the town itself');
SELECT is((SELECT count(*) FROM unit), 1::bigint, '... and it sees only its own unit');
SELECT is((SELECT count(*) FROM investor WHERE name = '部门测试客商'), 1::bigint,
          '... and the investor the centre created for it');

RESET ROLE;
SELECT throws_ok($$INSERT INTO target (unit_id, year, parent_unit_id, signing_amount_yuan, signed_count, start_rate)
                   VALUES (current_setting('test.invest')::bigint, 2030, current_setting('test.county')::bigint, 1, 1, 0.5)$$,
                 '23514', NULL, 'a department holds no quota, whoever writes it (here the owner)');
SELECT is((SELECT count(*) FROM unit u
            WHERE u.parent_id = current_setting('test.county')::bigint AND unit_ranked(u, 2030)
              AND u.kind = 'department'), 0::bigint, 'no department is ranked');

SELECT * FROM finish();
ROLLBACK;
