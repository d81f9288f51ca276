-- The ceiling of GET /api/v1/projects/{id}: what crm sends for one request,
-- as crm sends it (bench/run.sh runs this with pgbench -M prepared, 64 clients):
-- the session check of crm/http/exchange.c (STMT_AUTH_SESSION: checks the
-- token hash and the route's roles, sets the caller for row-level security)
-- and the route's statement (STMT_PROJECTS_GET), pipelined and ended by one
-- Sync, which makes them one implicit transaction: crm's pool sends each
-- request's statements with PQsendQueryPrepared and one PQpipelineSync, no
-- BEGIN/COMMIT. Variables (pgbench -D): th = '\x' || the hex of a live
-- session's token hash (session.token_hash; bench/run.sh runs one copy of the
-- script per session wrk uses, th renamed th1..thN, picked at random per
-- transaction), rid = a request id, roles = the route's roles as crm writes
-- them, idle = CRM_SESSION_IDLE_S, nprojects.
\set id random(1, :nprojects)
\startpipeline
SELECT user_id, username, display_name, role, unit_id, expires_at FROM auth_session(:th::bytea, :rid, :roles::text[], :idle::integer);
SELECT (SELECT row_to_json(r)::text FROM project_out r WHERE r.id = :id::bigint);
\endpipeline
