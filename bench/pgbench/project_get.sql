-- The ceiling of GET /api/v1/projects/{id}: what crm sends for one request,
-- as crm sends it (bench/run.sh runs this with pgbench -M prepared, 64 clients):
-- the caller set from crm's copy of the session's check (STMT_AUTH_CACHED,
-- crm/http/sessions.h: what crm sends for a session PostgreSQL checked with
-- auth_session less than a touch period ago, every request but one a worker
-- and session every 30 s; it refuses once the sessions' generation has moved)
-- and the route's statement (STMT_PROJECTS_GET), pipelined and ended by one
-- Sync, which makes them one implicit transaction: crm's pool sends each
-- request's statements with PQsendQueryPrepared and one PQpipelineSync, no
-- BEGIN/COMMIT. Variables (pgbench -D): uid, uname = a live session's user
-- (bench/run.sh runs one copy of the script per session wrk uses, these
-- renamed uid1..uidN and uname1..unameN, picked at random per transaction),
-- urole, uunit, uroot = their role, unit and scope root, agen = the sessions'
-- generation (auth_generation), rid = a request id, nprojects.
\set id random(1, :nprojects)
\startpipeline
SELECT :uid::text, :uname::text, NULL::text, :urole::text, :uunit::text, NULL::timestamptz, set_config('crm.user_id', :uid::text, true), set_config('crm.unit_id', :uroot::text, true), set_config('crm.home_unit_id', :uunit::text, true), set_config('crm.role', :urole::text, true), set_config('crm.request_id', coalesce(:rid::text, ''), true) FROM (SELECT (SELECT n FROM auth_generation) AS n) g WHERE CASE WHEN g.n = :agen::bigint THEN true ELSE auth_generation_moved() END;
SELECT (SELECT row_to_json(r)::text FROM project_out r WHERE r.id = :id::bigint);
\endpipeline
