-- Cheaper writes (issue 16). The audit is written by statement triggers now,
-- one INSERT a statement (audit_written, attached by audit_attach in
-- sql/schema/10_rows.sql as <table>_audit_insert, _update and _delete): the
-- row triggers that called audit_row go, and with them audit_row and the
-- per-key diff audit_changes (migrations run before the definitions, which
-- make the new triggers).
DROP TRIGGER IF EXISTS unit_audit ON unit;
DROP TRIGGER IF EXISTS app_user_audit ON app_user;
DROP TRIGGER IF EXISTS investor_audit ON investor;
DROP TRIGGER IF EXISTS contract_audit ON contract;
DROP TRIGGER IF EXISTS project_start_audit ON project_start;
DROP TRIGGER IF EXISTS interaction_audit ON interaction;
DROP TRIGGER IF EXISTS problem_audit ON problem;
DROP TRIGGER IF EXISTS batch_audit ON batch;
DROP TRIGGER IF EXISTS target_audit ON target;
DROP TRIGGER IF EXISTS project_audit ON project;
DROP TRIGGER IF EXISTS project_audit_update ON project;
DROP TRIGGER IF EXISTS webhook_audit ON webhook;
DROP FUNCTION IF EXISTS audit_row();
DROP FUNCTION IF EXISTS audit_changes(jsonb, jsonb, text[]);

-- Indexes on the write path of a logged visit (POST /interactions: the
-- interaction, its audit record, its event, the project's progress) that no
-- route reads through. event_pending is an outbox the publisher empties
-- whole (DELETE ... RETURNING, sorted by seq in memory: 92_events.sql) and
-- nothing looks a row up in, so its primary key only cost every event an
-- index entry; seq stays unique by its identity (GENERATED ALWAYS). Kept,
-- each read by a route: audit_log's five (/audit by id, table and row,
-- actor, time; a project's history), interaction's four (the page in id
-- order, by project, by unit and a unit's move, /stats/leaders by date),
-- interaction_leader's (the page by leader present); the project's progress
-- touches no index (a heap-only update).
ALTER TABLE event_pending DROP CONSTRAINT IF EXISTS event_pending_pkey;
