-- Identity, access and audit.
--
-- Who the caller is lives in transaction-local settings (crm.user_id,
-- crm.unit_id, crm.role, crm.request_id), set only by auth_session(), the
-- first statement of every authenticated request's transaction. Row-level
-- security (forced, so the owner obeys it too) limits the app role to the
-- caller's unit subtree; a transaction that never set a caller sees nothing.
-- The owner role (migrations, demo data, SECURITY DEFINER functions) has its
-- own explicit policies.
--
-- Tables, columns, indexes, constraints and data only; the functions, views, triggers
-- and policies are in sql/schema/ (issue 13).

-- ---- units: now scoped ----

ALTER TABLE unit ENABLE ROW LEVEL SECURITY;
ALTER TABLE unit FORCE ROW LEVEL SECURITY;
CREATE POLICY unit_owner ON unit TO crm_owner USING (true) WITH CHECK (true);

-- ---- users ----

CREATE TABLE app_user (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username            text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{2,63}$'),
    display_name        text NOT NULL DEFAULT '' CHECK (length(display_name) <= 100),
    role                text NOT NULL CHECK (role IN ('admin', 'leader', 'bureau', 'unit', 'viewer')),
    unit_id             bigint NOT NULL REFERENCES unit (id),
    password_hash       text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    disabled            boolean NOT NULL DEFAULT false,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    version             integer NOT NULL DEFAULT 1
);
CREATE INDEX app_user_unit_idx ON app_user (unit_id);

ALTER TABLE app_user ENABLE ROW LEVEL SECURITY;
ALTER TABLE app_user FORCE ROW LEVEL SECURITY;
CREATE POLICY app_user_owner ON app_user TO crm_owner USING (true) WITH CHECK (true);

-- ---- sessions: reached only through the auth_* functions ----

CREATE TABLE session (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32), -- BLAKE2b-256 of the token
    user_id      bigint NOT NULL REFERENCES app_user (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX session_user_idx ON session (user_id) WHERE revoked_at IS NULL;
ALTER TABLE session ENABLE ROW LEVEL SECURITY;
ALTER TABLE session FORCE ROW LEVEL SECURITY;
CREATE POLICY session_owner ON session TO crm_owner USING (true) WITH CHECK (true);

-- ---- audit: append-only, written by triggers in the changing transaction ----

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_id    bigint,          -- NULL: a change made outside the API (migration, CLI)
    request_id  text,
    table_name  text NOT NULL,
    row_id      text NOT NULL,
    action      text NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    unit_id     bigint,          -- the unit the changed row belongs to, for scoping
    before      jsonb,           -- changed fields only, as they were
    after       jsonb            -- changed fields only, as they became
);
CREATE INDEX audit_log_row_idx ON audit_log (table_name, row_id, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id);
CREATE INDEX audit_log_at_idx ON audit_log (at);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_owner_read ON audit_log FOR SELECT TO crm_owner USING (true);
CREATE POLICY audit_log_owner_insert ON audit_log FOR INSERT TO crm_owner WITH CHECK (true);

-- The app role reads users without their hashes and writes only what the
-- API may change.
GRANT SELECT (id, username, display_name, role, unit_id, disabled, password_changed_at,
              created_at, updated_at, version) ON app_user TO crm_app;
GRANT INSERT (username, display_name, role, unit_id, password_hash, disabled) ON app_user TO crm_app;
GRANT UPDATE (display_name, role, unit_id, disabled, password_hash, password_changed_at)
    ON app_user TO crm_app;
GRANT SELECT ON audit_log TO crm_app;
