-- The ceiling of POST /api/v1/interactions (see project_get.sql for the
-- session check and the pipeline). crm sends STMT_INTERACTIONS_CREATE,
--   SELECT interactions_create($1::jsonb)::text
-- with the request body (checked, compact JSON) as $1. pgbench has no string
-- variables, so the same body is built from the random project with format()
-- (the text crm's bench/lua/interaction_create.lua posts: the project's own
-- township, leaf_lo + id % leaves). The write is the same: the interaction,
-- its audit row, the project's last_progress_at and that update's audit row.
\set id random(1, :nprojects)
\set unit :leaf_lo + mod(:id, :leaves)
\startpipeline
SELECT :uid::text, :uname::text, NULL::text, :urole::text, :uunit::text, NULL::timestamptz, set_config('crm.user_id', :uid::text, true), set_config('crm.unit_id', :uroot::text, true), set_config('crm.home_unit_id', :uunit::text, true), set_config('crm.role', :urole::text, true), set_config('crm.request_id', coalesce(:rid::text, ''), true) FROM (SELECT (SELECT n FROM auth_generation) AS n) g WHERE CASE WHEN g.n = :agen::bigint THEN true ELSE auth_generation_moved() END;
SELECT interactions_create(format('{"unit_id":%s,"project_id":%s,"kind":"meeting","occurred_on":"2024-05-20","place":"县政府会议室","summary":"压测：与投资方洽谈用地与配套条件"}', :unit::bigint, :id::bigint)::jsonb)::text;
\endpipeline
