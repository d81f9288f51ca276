-- Definitions nothing calls any more (issue 13). user_display_name and
-- unit_name_of named a project's leader and unit before project_out and the
-- user_name view did. sql/schema/ no longer defines them; a database that
-- has them loses them here (migrations run before the definitions).
DROP FUNCTION IF EXISTS user_display_name(bigint);
DROP FUNCTION IF EXISTS unit_name_of(bigint);

-- Stubs that only refused: the routes never delete investors, projects,
-- interactions, problems or batches, nor change contacts, and crm no longer
-- prepares statements for what no route does.
DROP FUNCTION IF EXISTS investors_delete(bigint);
DROP FUNCTION IF EXISTS projects_delete(bigint);
DROP FUNCTION IF EXISTS interactions_delete(bigint);
DROP FUNCTION IF EXISTS problems_delete(bigint);
DROP FUNCTION IF EXISTS batches_delete(bigint);
DROP FUNCTION IF EXISTS contacts_update(bigint, integer, jsonb);
DROP FUNCTION IF EXISTS contacts_version(bigint);
