-- The ceiling of GET /api/v1/projects?unit_id=U&limit=50 (see project_get.sql
-- for the session check and the pipeline). crm sends STMT_PROJECTS_PAGE,
--   SELECT * FROM projects_rows($1::jsonb, $2::bigint, $3::integer)
-- (the page's rows, one more when another page follows; crm writes the JSON)
-- with $1 the filters as compact JSON ({"unit_id":U}), $2 NULL (no cursor)
-- and $3 the limit. pgbench has no string variables and no NULL, so $1 is
-- built from the random unit with format() and $2 is a NULL literal; the
-- function and its plan are the same.
\set unit random(:unit_lo, :unit_hi)
\startpipeline
SELECT :uid::text, :uname::text, NULL::text, :urole::text, :uunit::text, NULL::timestamptz, set_config('crm.user_id', :uid::text, true), set_config('crm.unit_id', :uroot::text, true), set_config('crm.home_unit_id', :uunit::text, true), set_config('crm.role', :urole::text, true), set_config('crm.request_id', coalesce(:rid::text, ''), true) FROM (SELECT (SELECT n FROM auth_generation) AS n) g WHERE CASE WHEN g.n = :agen::bigint THEN true ELSE auth_generation_moved() END;
SELECT * FROM projects_rows(format('{"unit_id":%s}', :unit::bigint)::jsonb, NULL::bigint, :limit::integer);
\endpipeline
