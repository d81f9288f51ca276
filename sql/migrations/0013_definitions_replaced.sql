-- Definitions replaced (issue 13); migrations run before the definitions of
-- sql/schema/, so a database that has the old ones loses them here.

-- The policies of the service's role are made from one table in
-- sql/schema/00_scope.sql and named <table>_read, _write, _update and
-- _delete: the users' insert policy app_user_insert is app_user_write now.
DROP POLICY IF EXISTS app_user_insert ON app_user;

-- The children of a batch and of an interaction are put by
-- batch_projects_put and interaction_leaders_put, which take the whole body.
DROP FUNCTION IF EXISTS batch_set_projects(bigint, jsonb);
DROP FUNCTION IF EXISTS interaction_set_leaders(bigint, jsonb);

-- Reading a row as its JSON, reading its version (If-Match) and deleting it
-- are the same statement for every collection: crm prepares them on the
-- table itself (crm/db/statements.c), planned once per connection (a SQL
-- function with a FROM is planned again at every call), and the
-- per-collection copies go.
DROP FUNCTION IF EXISTS investors_get(bigint);
DROP FUNCTION IF EXISTS contacts_get(bigint);
DROP FUNCTION IF EXISTS projects_get(bigint);
DROP FUNCTION IF EXISTS contracts_get(bigint);
DROP FUNCTION IF EXISTS starts_get(bigint);
DROP FUNCTION IF EXISTS interactions_get(bigint);
DROP FUNCTION IF EXISTS problems_get(bigint);
DROP FUNCTION IF EXISTS batches_get(bigint);
DROP FUNCTION IF EXISTS investors_version(bigint);
DROP FUNCTION IF EXISTS projects_version(bigint);
DROP FUNCTION IF EXISTS contracts_version(bigint);
DROP FUNCTION IF EXISTS starts_version(bigint);
DROP FUNCTION IF EXISTS interactions_version(bigint);
DROP FUNCTION IF EXISTS problems_version(bigint);
DROP FUNCTION IF EXISTS batches_version(bigint);
DROP FUNCTION IF EXISTS contacts_delete(bigint);
DROP FUNCTION IF EXISTS contracts_delete(bigint);
DROP FUNCTION IF EXISTS starts_delete(bigint);

-- One audit trigger function, audit_row, for every audited table: CRM rows
-- call it as audit_row('unit_path'). Dropping audit_crm_row drops the
-- triggers that call it; the definitions make them again.
DROP FUNCTION IF EXISTS audit_crm_row() CASCADE;
