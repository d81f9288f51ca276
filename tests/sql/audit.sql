-- The audit record (issue 16, audit_written in sql/schema/10_rows.sql),
-- proven with pgTAP: one record per row a statement changed, written by one
-- statement trigger; an insert records the row, a delete the row as it was,
-- an update only the fields it changed and nothing when it changed none; a
-- redacted column shows as "[redacted]"; a project's progress alone is not
-- audited, any other change of a project is. Runs on the scratch database of
-- tests/sql/run.sh (demo units loaded); everything is rolled back.

\set ON_ERROR_STOP 1

BEGIN;
SELECT plan(14);
\ir lib/helpers.sql

DO $$
BEGIN
    PERFORM set_config('test.xishe', (SELECT id FROM unit WHERE code = 'sx.yc.js.xishe')::text, true);
END
$$;

-- Three investors in one statement.
CALL pg_temp.act_as(NULL, NULL, NULL, 'audit-insert');
INSERT INTO investor (unit_id, name) SELECT pg_temp.id('xishe'), '审计测试客商' || n FROM generate_series(1, 3) n;

SELECT is((SELECT count(*) FROM audit_log WHERE request_id = 'audit-insert' AND table_name = 'investor'
              AND action = 'insert'), 3::bigint,
          'an insert of three rows writes three records');
SELECT results_eq($$SELECT a.row_id, a.unit_id, a.before, a.after FROM audit_log a
                     WHERE a.request_id = 'audit-insert' ORDER BY a.id$$,
                  $$SELECT i.id::text, i.unit_id, NULL::jsonb, to_jsonb(i) - 'unit_path' FROM investor i
                     WHERE i.name LIKE '审计测试客商%' ORDER BY i.id$$,
                  'each insert record: the row as it became (its scope path aside), under its unit, in row order');

-- Two of them renamed and one "updated" to what it was, in one statement.
CALL pg_temp.act_as(NULL, NULL, NULL, 'audit-update');
UPDATE investor SET name = CASE WHEN name = '审计测试客商3' THEN name ELSE name || '（改）' END
 WHERE name LIKE '审计测试客商%';

SELECT results_eq($$SELECT a.before ->> 'name', a.after ->> 'name', (SELECT count(*) FROM jsonb_object_keys(a.after))
                      FROM audit_log a WHERE a.request_id = 'audit-update' ORDER BY a.id$$,
                  $$VALUES ('审计测试客商1', '审计测试客商1（改）', 1::bigint), ('审计测试客商2', '审计测试客商2（改）', 1::bigint)$$,
                  'an update records only the rows it changed, each with only the field that changed');
SELECT is((SELECT count(*) FROM audit_log WHERE request_id = 'audit-update' AND (before ? 'version' OR after ? 'updated_at')),
          0::bigint, 'version and updated_at are not in an update''s record');

CALL pg_temp.act_as(NULL, NULL, NULL, 'audit-nothing');
UPDATE investor SET name = name WHERE name LIKE '审计测试客商%';
SELECT is((SELECT count(*) FROM audit_log WHERE request_id = 'audit-nothing'), 0::bigint,
          'an update that changes nothing records nothing (though it bumps the version)');

-- A project: created, progress logged, then edited.
CALL pg_temp.act_as(NULL, NULL, NULL, 'audit-project');
INSERT INTO project (code, name, unit_id, investor_id, planned_investment_yuan, stage)
SELECT 'T-AUDIT', '审计测试项目', pg_temp.id('xishe'), min(id), 100000000, 'lead'
  FROM investor WHERE name LIKE '审计测试客商%';
SELECT is((SELECT project_id FROM audit_log WHERE request_id = 'audit-project' AND action = 'insert'),
          (SELECT id FROM project WHERE code = 'T-AUDIT'), 'a project''s record carries the project');

CALL pg_temp.act_as(NULL, NULL, NULL, 'audit-progress');
UPDATE project SET last_progress_at = now() + interval '1 second' WHERE code = 'T-AUDIT';
SELECT is((SELECT count(*) FROM audit_log WHERE request_id = 'audit-progress'), 0::bigint,
          'a project''s progress alone is not audited');

CALL pg_temp.act_as(NULL, NULL, NULL, 'audit-edit');
UPDATE project SET is_key = NOT is_key WHERE code = 'T-AUDIT';
SELECT results_eq($$SELECT action, project_id, before, after FROM audit_log WHERE request_id = 'audit-edit'$$,
                  $$SELECT 'update', id, jsonb_build_object('is_key', NOT is_key), jsonb_build_object('is_key', is_key)
                      FROM project WHERE code = 'T-AUDIT'$$,
                  'any other change of a project is audited, with only what changed');

-- A user: the password hash never shows.
CALL pg_temp.act_as(NULL, NULL, NULL, 'audit-user');
INSERT INTO app_user (username, display_name, role, unit_id, password_hash)
VALUES ('audit.user', '审计', 'unit', pg_temp.id('xishe'), '$argon2id$v=19$m=65536,t=3,p=1$' || md5('one'));
UPDATE app_user SET password_hash = '$argon2id$v=19$m=65536,t=3,p=1$' || md5('two') WHERE username = 'audit.user';
UPDATE app_user SET display_name = '审计员' WHERE username = 'audit.user';
SELECT results_eq($$SELECT action, before -> 'password_hash', after -> 'password_hash' FROM audit_log
                     WHERE request_id = 'audit-user' ORDER BY id$$,
                  $$VALUES ('insert', NULL::jsonb, '"[redacted]"'::jsonb),
                           ('update', '"[redacted]"'::jsonb, '"[redacted]"'::jsonb),
                           ('update', NULL::jsonb, NULL::jsonb)$$,
                  'a redacted column: "[redacted]" when inserted or changed, absent when it did not change');
SELECT is((SELECT unit_id FROM audit_log WHERE request_id = 'audit-user' AND action = 'insert'), pg_temp.id('xishe'),
          'a user''s record is under the user''s unit');
SELECT is_empty($$SELECT 1 FROM audit_log WHERE request_id = 'audit-user' AND concat(before, after) LIKE '%argon2id%'$$,
                'no record holds the hash');

-- A webhook deleted: the row as it was, its secret redacted.
CALL pg_temp.act_as(NULL, NULL, NULL, 'audit-delete');
INSERT INTO webhook (unit_id, url, event_types, secret) VALUES (pg_temp.id('xishe'), 'https://audit.example.org/in', '{*}',
                                                               'audit-secret-0123456789');
DELETE FROM webhook WHERE url = 'https://audit.example.org/in';
SELECT results_eq($$SELECT action, before ->> 'url', before ->> 'secret', after FROM audit_log
                     WHERE request_id = 'audit-delete' AND action = 'delete'$$,
                  $$VALUES ('delete', 'https://audit.example.org/in', '[redacted]', NULL::jsonb)$$,
                  'a delete records the row as it was, the secret redacted');
SELECT is((SELECT count(*) FROM audit_log WHERE request_id = 'audit-delete' AND concat(before, after) LIKE '%audit-secret%'),
          0::bigint, 'no record holds the secret');

-- One trigger a statement and operation, no row trigger but the project's update.
SELECT is((SELECT count(*) FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE p.proname = 'audit_written' AND t.tgtype & 1 = 1), 1::bigint,
          'the only row-level audit trigger is project_audit_update (its WHEN spares progress the call)');

SELECT finish();
ROLLBACK;
