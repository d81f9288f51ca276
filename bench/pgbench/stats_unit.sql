-- The ceiling of GET /api/v1/stats/units/{id}?year=Y (see project_get.sql for
-- the session check and the pipeline). crm sends STMT_STATS_UNIT,
--   SELECT gen, as_of, body FROM stats_unit_cached($1::bigint, $2::date,
--                                                  $3::bigint, $4::integer, $5::date)
-- with $1 and $2 the generation and date of the copy of the figures it keeps
-- (api/stats_cache.c), as here once it has answered the route once: the
-- figures do not change during the run, so every request finds its copy
-- current; $5 is NULL when the request has no as_of (as of today, as here):
-- pgbench has no NULL variable, so it is a NULL literal. :gen and :known are
-- read from the database before the run (stats_copy_args in bench/run.sh).
\startpipeline
SELECT :uid::text, :uname::text, NULL::text, :urole::text, :uunit::text, NULL::timestamptz, set_config('crm.user_id', :uid::text, true), set_config('crm.unit_id', :uroot::text, true), set_config('crm.home_unit_id', :uunit::text, true), set_config('crm.role', :urole::text, true), set_config('crm.request_id', coalesce(:rid::text, ''), true) FROM (SELECT (SELECT n FROM auth_generation) AS n) g WHERE CASE WHEN g.n = :agen::bigint THEN true ELSE auth_generation_moved() END;
SELECT gen, as_of, body FROM stats_unit_cached(:gen::bigint, :known::date, :unit::bigint, :year::integer, NULL::date);
\endpipeline
