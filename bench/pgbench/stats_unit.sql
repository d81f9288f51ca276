-- The ceiling of GET /api/v1/stats/units/{id}?year=Y (see project_get.sql for
-- the session check and the pipeline). crm sends STMT_STATS_UNIT,
--   SELECT stats_unit($1::bigint, $2::integer, $3::date)::text
-- with $3 NULL when the request has no as_of (as of today, as here); pgbench
-- has no NULL variable, so $3 is a NULL literal.
\startpipeline
SELECT user_id, username, display_name, role, unit_id, expires_at FROM auth_session(:th::bytea, :rid, :roles::text[], :idle::integer);
SELECT stats_unit(:unit::bigint, :year::integer, NULL::date)::text;
\endpipeline
