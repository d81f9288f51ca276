-- The generation of the sessions (issue 16): one number, raised by the
-- commit of any change that can end a session or change who its caller is
-- (a session revoked, shortened or deleted; a user's role, unit, names or
-- disabling; a unit's kind or parent, which give a department's scope: the
-- triggers are in sql/schema/20_identity.sql). auth_session returns it, read
-- in the same snapshot as the session. crm keeps each session it checked with
-- that number, and while the number has not moved (and for no longer than
-- auth_session says) sets the caller itself (crm/http/sessions.h): a plain
-- statement, a third of auth_session's cost, that refuses when the number
-- has moved. Read by crm_app (00_scope.sql), written by the triggers only.
CREATE TABLE auth_generation (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    n        bigint NOT NULL
);
INSERT INTO auth_generation (n) VALUES (1);
ALTER TABLE auth_generation ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth_generation FORCE ROW LEVEL SECURITY;
CREATE POLICY auth_generation_owner ON auth_generation TO crm_owner USING (true) WITH CHECK (true);
GRANT SELECT ON auth_generation TO crm_app;

-- auth_session and auth_session_at return the generation, the caller's
-- scope root and how long crm may reuse the check: another result type.
DROP FUNCTION IF EXISTS auth_session_at(bytea, text, text[], integer, pg_lsn);
DROP FUNCTION IF EXISTS auth_session(bytea, text, text[], integer);
