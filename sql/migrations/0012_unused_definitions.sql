-- Definitions nothing calls any more (issue 13): user_display_name and
-- unit_name_of named a project's leader and unit before project_out and the
-- user_name view did. sql/schema/ no longer defines them; a database that
-- has them loses them here (migrations run before the definitions).
DROP FUNCTION IF EXISTS user_display_name(bigint);
DROP FUNCTION IF EXISTS unit_name_of(bigint);
