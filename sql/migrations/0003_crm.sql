-- The CRM core: investors and contacts, projects and their lifecycle,
-- contracts and starts as claims, interactions, problems, batches, and the
-- idempotency keys of POSTs. Every rule of DESIGN.md section 3 is enforced
-- here, by constraints and triggers, so that neither a client nor a bug in C
-- can break it. Scope and audit work as in 0002.
--
-- Tables, columns, indexes, constraints and data only; the functions, views, triggers
-- and policies are in sql/schema/ (issue 13).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- ---- deployment settings ----

CREATE TABLE setting (
    key   text PRIMARY KEY,
    value jsonb NOT NULL
);
INSERT INTO setting VALUES
    ('stall_after_days', '90'),
    ('five_one_slots', '["包联领导", "工作专班", "推进方案", "时间节点", "服务专员"]');
ALTER TABLE setting ENABLE ROW LEVEL SECURITY;
ALTER TABLE setting FORCE ROW LEVEL SECURITY;
CREATE POLICY setting_owner ON setting TO crm_owner USING (true) WITH CHECK (true);
GRANT SELECT ON setting TO crm_app;

-- ---- unified social credit code (GB 32100-2015) ----

-- 18 characters of 0-9 and A-Z without I, O, Z, S, V; the last is a check
-- character: weights 3^(i-1) mod 31, check = 31 - (sum mod 31), 31 -> 0.
CREATE FUNCTION uscc_valid(code text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    alphabet constant text := '0123456789ABCDEFGHJKLMNPQRTUWXY';
    weights constant int[] := ARRAY[1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    total int := 0;
    v int;
    c int;
BEGIN
    IF code IS NULL OR length(code) <> 18 OR code !~ '^[0-9A-HJ-NPQRTUWXY]{18}$' THEN
        RETURN false;
    END IF;
    FOR i IN 1 .. 17 LOOP
        v := strpos(alphabet, substr(code, i, 1)) - 1;
        total := total + v * weights[i];
    END LOOP;
    c := 31 - total % 31;
    IF c = 31 THEN c := 0; END IF;
    RETURN substr(alphabet, c + 1, 1) = substr(code, 18, 1);
END
$$;

-- ---- investors and contacts ----

CREATE TABLE investor (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id       bigint NOT NULL REFERENCES unit (id),
    unit_path     bigint[] NOT NULL DEFAULT '{}',
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    uscc          text UNIQUE CHECK (uscc IS NULL OR uscc_valid(uscc)),
    origin_region text NOT NULL DEFAULT '' CHECK (length(origin_region) <= 100),
    industry      text NOT NULL DEFAULT '' CHECK (length(industry) <= 100),
    chain_role    text NOT NULL DEFAULT 'none' CHECK (chain_role IN ('chain_leader', 'supporting', 'none')),
    notes         text NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
    created_by    bigint REFERENCES app_user (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    version       integer NOT NULL DEFAULT 1
);
CREATE INDEX investor_name_trgm ON investor USING gin (name gin_trgm_ops);
CREATE INDEX investor_unit_path ON investor USING gin (unit_path);

CREATE TABLE contact (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    investor_id bigint NOT NULL REFERENCES investor (id) ON DELETE CASCADE,
    unit_path   bigint[] NOT NULL DEFAULT '{}',
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    title       text NOT NULL DEFAULT '' CHECK (length(title) <= 100),
    phone       text NOT NULL DEFAULT '' CHECK (phone ~ '^[0-9+() -]{0,32}$'),
    email       text NOT NULL DEFAULT '' CHECK (length(email) <= 200),
    notes       text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contact_investor ON contact (investor_id);

-- ---- projects ----

CREATE TABLE project (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code                    text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$'),
    name                    text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    unit_id                 bigint NOT NULL REFERENCES unit (id),
    unit_path               bigint[] NOT NULL DEFAULT '{}',
    investor_id             bigint REFERENCES investor (id),
    leader_id               bigint REFERENCES app_user (id),
    industry_chain          text NOT NULL DEFAULT '' CHECK (length(industry_chain) <= 100),
    park                    text NOT NULL DEFAULT '' CHECK (length(park) <= 100),
    planned_investment_yuan bigint CHECK (planned_investment_yuan IS NULL OR planned_investment_yuan > 0),
    is_key                  boolean NOT NULL DEFAULT false,
    five_one                jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(five_one) = 'object'),
    plan                    text NOT NULL DEFAULT '' CHECK (length(plan) <= 4000),
    planned_start_on        date,
    stage                   text NOT NULL DEFAULT 'lead' CHECK (stage IN
                                ('planned', 'lead', 'negotiating', 'signed', 'started',
                                 'in_production', 'at_capacity', 'stalled', 'terminated')),
    stalled_from            text CHECK (stalled_from IN ('planned', 'lead', 'negotiating', 'signed',
                                                         'started', 'in_production')),
    terminated_reason       text CHECK (length(terminated_reason) <= 2000),
    signed_on               date,
    started_on              date,
    production_on           date,
    capacity_on             date,
    last_progress_at        timestamptz NOT NULL DEFAULT now(),
    created_by              bigint REFERENCES app_user (id),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    version                 integer NOT NULL DEFAULT 1,
    -- Dates follow each other and are never in the future.
    CONSTRAINT project_dates_monotonic CHECK (
        (started_on IS NULL OR (signed_on IS NOT NULL AND signed_on <= started_on)) AND
        (production_on IS NULL OR (started_on IS NOT NULL AND started_on <= production_on)) AND
        (capacity_on IS NULL OR (production_on IS NOT NULL AND production_on <= capacity_on))),
    CONSTRAINT project_stalled_from CHECK ((stage = 'stalled') = (stalled_from IS NOT NULL)),
    CONSTRAINT project_terminated_reason CHECK (
        (stage = 'terminated') = (terminated_reason IS NOT NULL AND length(btrim(terminated_reason)) > 0))
);
CREATE INDEX project_unit_path ON project USING gin (unit_path);
CREATE INDEX project_unit ON project (unit_id, id);
CREATE INDEX project_stage ON project (stage, id);
CREATE INDEX project_leader ON project (leader_id, id);
CREATE INDEX project_name_trgm ON project USING gin (name gin_trgm_ops);
CREATE INDEX project_progress ON project (last_progress_at) WHERE stage NOT IN ('stalled', 'terminated', 'at_capacity');

-- ---- claims: contracts and starts ----

-- A claim is reported, then verified by another user with the right to
-- verify; only then does it count. A verified claim is never edited or
-- deleted, only revoked with a reason.
CREATE TABLE contract (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id   bigint NOT NULL REFERENCES project (id),
    unit_path    bigint[] NOT NULL DEFAULT '{}',
    kind         text NOT NULL CHECK (kind IN ('intent', 'formal', 'capital_increase')),
    amount_yuan  bigint NOT NULL CHECK (amount_yuan > 0),
    signed_on    date NOT NULL,
    evidence     text NOT NULL CHECK (length(btrim(evidence)) BETWEEN 1 AND 2000),
    reported_by  bigint REFERENCES app_user (id),
    reported_at  timestamptz NOT NULL DEFAULT now(),
    verified_by  bigint REFERENCES app_user (id),
    verified_at  timestamptz,
    revoked_by   bigint REFERENCES app_user (id),
    revoked_at   timestamptz,
    revoke_reason text,
    changed_by   bigint REFERENCES app_user (id), -- who last edited the claim itself
    version      integer NOT NULL DEFAULT 1,
    CONSTRAINT contract_verifier_differs CHECK (verified_by IS NULL OR verified_by IS DISTINCT FROM reported_by),
    CONSTRAINT contract_verified_pair CHECK ((verified_by IS NULL) = (verified_at IS NULL)),
    CONSTRAINT contract_revoked_reason CHECK (
        (revoked_at IS NULL AND revoked_by IS NULL AND revoke_reason IS NULL) OR
        (revoked_at IS NOT NULL AND length(btrim(coalesce(revoke_reason, ''))) > 0))
);
CREATE INDEX contract_project ON contract (project_id);
CREATE INDEX contract_unit_path ON contract USING gin (unit_path);

CREATE TABLE project_start (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id   bigint NOT NULL REFERENCES project (id),
    unit_path    bigint[] NOT NULL DEFAULT '{}',
    started_on   date NOT NULL,
    evidence     text NOT NULL CHECK (length(btrim(evidence)) BETWEEN 1 AND 2000),
    reported_by  bigint REFERENCES app_user (id),
    reported_at  timestamptz NOT NULL DEFAULT now(),
    verified_by  bigint REFERENCES app_user (id),
    verified_at  timestamptz,
    revoked_by   bigint REFERENCES app_user (id),
    revoked_at   timestamptz,
    revoke_reason text,
    changed_by   bigint REFERENCES app_user (id), -- who last edited the claim itself
    version      integer NOT NULL DEFAULT 1,
    CONSTRAINT start_verifier_differs CHECK (verified_by IS NULL OR verified_by IS DISTINCT FROM reported_by),
    CONSTRAINT start_verified_pair CHECK ((verified_by IS NULL) = (verified_at IS NULL)),
    CONSTRAINT start_revoked_reason CHECK (
        (revoked_at IS NULL AND revoked_by IS NULL AND revoke_reason IS NULL) OR
        (revoked_at IS NOT NULL AND length(btrim(coalesce(revoke_reason, ''))) > 0))
);
CREATE UNIQUE INDEX project_start_one_live ON project_start (project_id) WHERE revoked_at IS NULL;
CREATE INDEX project_start_unit_path ON project_start USING gin (unit_path);

-- ---- interactions ----

CREATE TABLE interaction (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id         bigint NOT NULL REFERENCES unit (id),
    unit_path       bigint[] NOT NULL DEFAULT '{}',
    project_id      bigint REFERENCES project (id),
    investor_id     bigint REFERENCES investor (id),
    kind            text NOT NULL CHECK (kind IN ('meeting', 'site_visit', 'negotiation', 'coordination', 'call')),
    occurred_on     date NOT NULL,
    place           text NOT NULL DEFAULT '' CHECK (length(place) <= 200),
    summary         text NOT NULL CHECK (length(btrim(summary)) BETWEEN 1 AND 4000),
    participants    text[] NOT NULL DEFAULT '{}' CHECK (cardinality(participants) <= 50),
    next_step       text NOT NULL DEFAULT '' CHECK (length(next_step) <= 2000),
    next_step_due   date,
    created_by      bigint REFERENCES app_user (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1,
    CONSTRAINT interaction_subject CHECK (project_id IS NOT NULL OR investor_id IS NOT NULL),
    CONSTRAINT interaction_next_step_due_check CHECK (next_step_due IS NULL OR next_step_due >= occurred_on)
);
CREATE INDEX interaction_project ON interaction (project_id, occurred_on);
CREATE INDEX interaction_unit_path ON interaction USING gin (unit_path);
CREATE INDEX interaction_occurred ON interaction (occurred_on, id);

CREATE TABLE interaction_leader (
    interaction_id bigint NOT NULL REFERENCES interaction (id) ON DELETE CASCADE,
    leader_id      bigint NOT NULL REFERENCES app_user (id),
    unit_path      bigint[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (interaction_id, leader_id)
);
CREATE INDEX interaction_leader_leader ON interaction_leader (leader_id);

-- ---- problems (督办) and batches (三个一批) ----

CREATE TABLE problem (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id     bigint NOT NULL REFERENCES project (id),
    unit_path      bigint[] NOT NULL DEFAULT '{}',
    owner_unit_id  bigint NOT NULL REFERENCES unit (id),
    title          text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    description    text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    due_on         date NOT NULL,
    level          smallint NOT NULL DEFAULT 1 CHECK (level BETWEEN 1 AND 4),
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'resolved', 'closed')),
    resolved_at    timestamptz,
    created_by     bigint REFERENCES app_user (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        integer NOT NULL DEFAULT 1,
    CONSTRAINT problem_resolved CHECK ((status IN ('resolved', 'closed')) = (resolved_at IS NOT NULL))
);
CREATE INDEX problem_project ON problem (project_id);
CREATE INDEX problem_open_due ON problem (due_on) WHERE status IN ('open', 'in_progress');
CREATE INDEX problem_unit_path ON problem USING gin (unit_path);

CREATE TABLE batch (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id    bigint NOT NULL REFERENCES unit (id),
    unit_path  bigint[] NOT NULL DEFAULT '{}',
    kind       text NOT NULL CHECK (kind IN ('signing', 'start', 'production')),
    name       text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    held_on    date NOT NULL,
    place      text NOT NULL DEFAULT '' CHECK (length(place) <= 200),
    created_by bigint REFERENCES app_user (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    integer NOT NULL DEFAULT 1
);
CREATE INDEX batch_unit_path ON batch USING gin (unit_path);

CREATE TABLE batch_project (
    batch_id   bigint NOT NULL REFERENCES batch (id) ON DELETE CASCADE,
    project_id bigint NOT NULL REFERENCES project (id),
    unit_path  bigint[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (batch_id, project_id)
);

-- ---- idempotency keys of POSTs ----

CREATE TABLE idempotency_key (
    user_id      bigint NOT NULL REFERENCES app_user (id),
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    route        text NOT NULL,
    request_hash bytea NOT NULL,
    state        text NOT NULL DEFAULT 'in_flight' CHECK (state IN ('in_flight', 'done')),
    status       integer,
    content_type text,
    body         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
ALTER TABLE idempotency_key ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_key FORCE ROW LEVEL SECURITY;
CREATE POLICY idempotency_owner ON idempotency_key TO crm_owner USING (true) WITH CHECK (true);

-- ---- row-level security of the CRM tables ----

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['investor', 'contact', 'project', 'contract', 'project_start',
                             'interaction', 'interaction_leader', 'problem', 'batch', 'batch_project']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I TO crm_owner USING (true) WITH CHECK (true)', t || '_owner', t);
    END LOOP;
END
$$;

GRANT SELECT, INSERT, UPDATE ON investor, project, interaction, problem, batch TO crm_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON contact, contract, project_start TO crm_app;
GRANT SELECT, INSERT, DELETE ON interaction_leader, batch_project TO crm_app;

-- ---- audit of the CRM tables ----

-- The audit rows of CRM records carry their unit (the last of unit_path)
-- and their project, so that a project's history is one indexed query.
ALTER TABLE audit_log ADD COLUMN project_id bigint;
CREATE INDEX audit_log_project_idx ON audit_log (project_id, id) WHERE project_id IS NOT NULL;
