-- The CRM core: investors and contacts, projects and their lifecycle,
-- contracts and starts as claims, interactions, problems, batches, and the
-- idempotency keys of POSTs. Every rule of DESIGN.md section 3 is enforced
-- here, by constraints and triggers, so that neither a client nor a bug in C
-- can break it. Scope and audit work as in 0002.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The caller's unit, read once per query (an InitPlan), not once per row:
-- scope checks over large tables then cost nothing, and the GIN index on
-- unit_path can serve them. With no caller the array holds NULL, which no
-- path contains: nothing is in scope.
CREATE OR REPLACE FUNCTION crm_in_scope(unit_path bigint[]) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT unit_path @> ARRAY[(SELECT crm_caller_unit())] $$;

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
CREATE POLICY setting_read ON setting FOR SELECT TO crm_app USING (crm_caller_user() IS NOT NULL);
GRANT SELECT ON setting TO crm_app;

CREATE FUNCTION crm_today() RETURNS date LANGUAGE sql STABLE AS
$$ SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date $$;

CREATE FUNCTION crm_unit_path(p_unit bigint) RETURNS bigint[] LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS
$$ SELECT path FROM unit WHERE id = p_unit $$;

-- Who may write the CRM records of a unit: admins and the bureau in scope,
-- a unit user for its own subtree (scope does that).
CREATE FUNCTION crm_may_write(p_path bigint[]) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT crm_in_scope(p_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit') $$;

-- Keeps unit_path (the scope key) in step with unit_id.
CREATE FUNCTION row_unit_path() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.unit_path := crm_unit_path(NEW.unit_id);
    IF NEW.unit_path IS NULL THEN
        RAISE foreign_key_violation USING MESSAGE = 'unit does not exist', COLUMN = 'unit_id';
    END IF;
    RETURN NEW;
END
$$;

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
CREATE TRIGGER investor_unit_path BEFORE INSERT OR UPDATE OF unit_id ON investor
    FOR EACH ROW EXECUTE FUNCTION row_unit_path();
CREATE TRIGGER investor_touch BEFORE UPDATE ON investor FOR EACH ROW EXECUTE FUNCTION row_touch();

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
CREATE FUNCTION contact_unit_path() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    SELECT unit_path INTO NEW.unit_path FROM investor WHERE id = NEW.investor_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER contact_unit_path BEFORE INSERT OR UPDATE OF investor_id ON contact
    FOR EACH ROW EXECUTE FUNCTION contact_unit_path();

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
CREATE TRIGGER project_unit_path BEFORE INSERT OR UPDATE OF unit_id ON project
    FOR EACH ROW EXECUTE FUNCTION row_unit_path();
CREATE TRIGGER project_touch BEFORE UPDATE ON project FOR EACH ROW EXECUTE FUNCTION row_touch();

-- The order of the way up.
CREATE FUNCTION stage_rank(s text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT array_position(ARRAY['planned', 'lead', 'negotiating', 'signed', 'started',
                                'in_production', 'at_capacity'], s)
$$;

-- The lifecycle rules, checked on every insert and update of a project,
-- whoever makes it.
CREATE FUNCTION project_rules() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    slots jsonb;
    k text;
    today date := crm_today();
BEGIN
    -- The named "five one" slots of this deployment, and no others.
    SELECT value INTO slots FROM setting WHERE key = 'five_one_slots';
    FOR k IN SELECT jsonb_object_keys(NEW.five_one) LOOP
        IF NOT coalesce(slots ? k, false) THEN
            RAISE check_violation USING MESSAGE = format('"%s" is not a five-one slot of this deployment', k),
                  COLUMN = 'five_one';
        END IF;
    END LOOP;
    IF NEW.leader_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM app_user WHERE id = NEW.leader_id AND role = 'leader' AND NOT disabled) THEN
        RAISE check_violation USING MESSAGE = 'the leader must be an enabled user with the leader role',
              COLUMN = 'leader_id';
    END IF;
    IF greatest(NEW.signed_on, NEW.started_on, NEW.production_on, NEW.capacity_on) > today THEN
        RAISE check_violation USING MESSAGE = 'a lifecycle date cannot be in the future';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.stage NOT IN ('planned', 'lead', 'negotiating') THEN
            RAISE check_violation USING MESSAGE = 'a new project starts as planned, lead or negotiating',
                  COLUMN = 'stage';
        END IF;
        IF NEW.signed_on IS NOT NULL OR NEW.started_on IS NOT NULL OR NEW.production_on IS NOT NULL
           OR NEW.capacity_on IS NOT NULL THEN
            RAISE check_violation USING MESSAGE = 'lifecycle dates come with transitions';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.stage IS NOT DISTINCT FROM OLD.stage
       AND NEW.stalled_from IS DISTINCT FROM OLD.stalled_from THEN
        RAISE check_violation USING MESSAGE = 'the stage a project stalled from does not change',
              COLUMN = 'stalled_from';
    END IF;
    IF NEW.stage IS DISTINCT FROM OLD.stage THEN
        PERFORM project_check_transition(NEW, OLD);
        NEW.last_progress_at := now();
    END IF;
    -- Each lifecycle date is set by its own step up, and by nothing else.
    IF NEW.signed_on IS DISTINCT FROM OLD.signed_on
       AND NOT (OLD.stage = 'negotiating' AND NEW.stage = 'signed')
       OR NEW.started_on IS DISTINCT FROM OLD.started_on
       AND NOT (OLD.stage = 'signed' AND NEW.stage = 'started')
       OR NEW.production_on IS DISTINCT FROM OLD.production_on
       AND NOT (OLD.stage = 'started' AND NEW.stage = 'in_production')
       OR NEW.capacity_on IS DISTINCT FROM OLD.capacity_on
       AND NOT (OLD.stage = 'in_production' AND NEW.stage = 'at_capacity') THEN
        RAISE check_violation USING MESSAGE = 'lifecycle dates change only with a transition';
    END IF;
    -- Once signed, the facts that made it signable stay.
    IF stage_rank(NEW.stage) >= 4 OR NEW.stalled_from IN ('signed', 'started', 'in_production') THEN
        IF NEW.investor_id IS NULL OR NEW.leader_id IS NULL OR NEW.planned_investment_yuan IS NULL THEN
            RAISE check_violation USING MESSAGE = 'a signed project keeps its investor, leader and amount';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

-- One step of the lifecycle: up one stage (never skipping), down among the
-- stages before signing, to stalled and back, or to terminated (final).
CREATE FUNCTION project_check_transition(n project, o project) RETURNS void LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    from_rank int := stage_rank(o.stage);
    to_rank int := stage_rank(n.stage);
BEGIN
    IF o.stage = 'terminated' THEN
        RAISE check_violation USING MESSAGE = 'a terminated project does not move', COLUMN = 'stage';
    END IF;
    IF n.stage = 'terminated' OR n.stage = 'stalled' THEN
        IF n.stage = 'stalled' AND (o.stage = 'at_capacity' OR n.stalled_from IS DISTINCT FROM o.stage) THEN
            RAISE check_violation USING MESSAGE = 'only an active project stalls, from its own stage', COLUMN = 'stage';
        END IF;
        RETURN;
    END IF;
    IF o.stage = 'stalled' THEN
        IF n.stage IS DISTINCT FROM o.stalled_from THEN
            RAISE check_violation USING MESSAGE = format('a stalled project resumes at %s', o.stalled_from),
                  COLUMN = 'stage';
        END IF;
        RETURN;
    END IF;
    IF to_rank > from_rank + 1 THEN
        RAISE check_violation USING MESSAGE = format('%s cannot jump to %s: no stage is skipped', o.stage, n.stage),
              COLUMN = 'stage';
    END IF;
    IF to_rank < from_rank AND from_rank >= 4 THEN
        RAISE check_violation USING MESSAGE = 'a signed project does not go back', COLUMN = 'stage';
    END IF;
    IF n.stage = 'signed' THEN
        IF n.unit_id IS NULL OR n.leader_id IS NULL OR n.investor_id IS NULL
           OR coalesce(n.planned_investment_yuan, 0) <= 0 THEN
            RAISE check_violation USING MESSAGE =
                'to be signed a project needs a responsible unit, a leader, an investor and a positive amount',
                COLUMN = 'stage';
        END IF;
        IF n.signed_on IS NULL OR NOT EXISTS (
            SELECT 1 FROM contract c WHERE c.project_id = n.id AND c.kind = 'formal'
               AND c.revoked_at IS NULL AND c.signed_on = n.signed_on) THEN
            RAISE check_violation USING MESSAGE = 'a project is signed only with a formal contract', COLUMN = 'stage';
        END IF;
    ELSIF n.stage = 'started' THEN
        IF n.started_on IS NULL OR NOT EXISTS (
            SELECT 1 FROM project_start s WHERE s.project_id = n.id AND s.revoked_at IS NULL
               AND s.started_on = n.started_on) THEN
            RAISE check_violation USING MESSAGE = 'a project is started only with a start claim', COLUMN = 'stage';
        END IF;
    ELSIF n.stage = 'in_production' AND n.production_on IS NULL THEN
        RAISE check_violation USING MESSAGE = 'production needs its date', COLUMN = 'production_on';
    ELSIF n.stage = 'at_capacity' AND n.capacity_on IS NULL THEN
        RAISE check_violation USING MESSAGE = 'full capacity needs its date', COLUMN = 'capacity_on';
    END IF;
END
$$;

CREATE TRIGGER project_rules BEFORE INSERT OR UPDATE ON project
    FOR EACH ROW EXECUTE FUNCTION project_rules();

-- A project moved to another unit takes its claims, problems and batch
-- entries along (their scope is the project's); an investor its contacts.
CREATE FUNCTION scope_follows() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_TABLE_NAME = 'project' THEN
        UPDATE contract SET unit_path = NEW.unit_path WHERE project_id = NEW.id;
        UPDATE project_start SET unit_path = NEW.unit_path WHERE project_id = NEW.id;
        UPDATE problem SET unit_path = NEW.unit_path WHERE project_id = NEW.id;
        UPDATE batch_project SET unit_path = NEW.unit_path WHERE project_id = NEW.id;
    ELSE
        UPDATE contact SET unit_path = NEW.unit_path WHERE investor_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

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

-- Whether a live claim is what its project's stage rests on: the formal
-- contract dated on the project's signed_on (and the only such), or the
-- live start of a started project.
CREATE FUNCTION claim_is_stage_basis(tbl text, c jsonb) RETURNS boolean LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    p project;
BEGIN
    IF c ->> 'revoked_at' IS NOT NULL THEN
        RETURN false;
    END IF;
    SELECT * INTO p FROM project WHERE id = (c ->> 'project_id')::bigint;
    IF tbl = 'contract' THEN
        RETURN c ->> 'kind' = 'formal' AND p.signed_on = (c ->> 'signed_on')::date
           AND NOT EXISTS (SELECT 1 FROM contract o WHERE o.project_id = p.id AND o.id <> (c ->> 'id')::bigint
                              AND o.kind = 'formal' AND o.revoked_at IS NULL AND o.signed_on = p.signed_on);
    END IF;
    RETURN p.started_on = (c ->> 'started_on')::date;
END
$$;

-- Claims take their project's scope, are checked against it, and obey the
-- claim rules.
CREATE FUNCTION claim_rules() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    p project;
    claim_date date;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.verified_at IS NOT NULL THEN
            RAISE check_violation USING MESSAGE = 'a verified claim is never deleted; revoke it with a reason';
        END IF;
        IF claim_is_stage_basis(TG_TABLE_NAME, to_jsonb(OLD)) THEN
            RAISE check_violation USING MESSAGE = 'the project''s stage rests on this claim; revoke it with a reason';
        END IF;
        RETURN OLD;
    END IF;
    SELECT * INTO p FROM project WHERE id = NEW.project_id;
    IF NOT FOUND THEN
        RAISE foreign_key_violation USING MESSAGE = 'project does not exist', COLUMN = 'project_id';
    END IF;
    NEW.unit_path := p.unit_path;
    -- One function for both claim tables: their own columns through JSON.
    claim_date := (to_jsonb(NEW) ->> CASE TG_TABLE_NAME WHEN 'contract' THEN 'signed_on'
                                                        ELSE 'started_on' END)::date;
    IF TG_OP = 'INSERT' THEN
        IF NEW.verified_at IS NOT NULL OR NEW.revoked_at IS NOT NULL THEN
            RAISE check_violation USING MESSAGE = 'a claim is reported first';
        END IF;
        NEW.reported_by := coalesce(crm_caller_user(), NEW.reported_by);
        NEW.reported_at := now();
        IF TG_TABLE_NAME = 'project_start' AND EXISTS (
            SELECT 1 FROM project_start s WHERE s.project_id = NEW.project_id AND s.revoked_at IS NULL) THEN
            RAISE unique_violation USING MESSAGE = 'the project already has a live start claim; revoke it first',
                  COLUMN = 'project_id';
        END IF;
    ELSE
        IF OLD.revoked_at IS NOT NULL THEN
            RAISE check_violation USING MESSAGE = 'a revoked claim does not change';
        END IF;
        IF OLD.verified_at IS NOT NULL THEN
            -- Only the revocation may be added.
            IF (to_jsonb(NEW) - ARRAY['revoked_by', 'revoked_at', 'revoke_reason', 'version'])
               IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['revoked_by', 'revoked_at', 'revoke_reason', 'version']) THEN
                RAISE check_violation USING MESSAGE = 'a verified claim is never edited; revoke it with a reason';
            END IF;
        ELSIF NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL THEN
            NULL; -- an unverified claim may be withdrawn, with a reason too
        END IF;
        IF NEW.reported_by IS DISTINCT FROM OLD.reported_by OR NEW.reported_at IS DISTINCT FROM OLD.reported_at THEN
            RAISE check_violation USING MESSAGE = 'who reported a claim does not change';
        END IF;
        -- The assessment office (viewer) only verifies and revokes.
        IF crm_caller_role() = 'viewer' AND
           (to_jsonb(NEW) - ARRAY['verified_by', 'verified_at', 'revoked_by', 'revoked_at', 'revoke_reason', 'version'])
           IS DISTINCT FROM
           (to_jsonb(OLD) - ARRAY['verified_by', 'verified_at', 'revoked_by', 'revoked_at', 'revoke_reason', 'version']) THEN
            RAISE insufficient_privilege USING MESSAGE = 'the assessment office verifies or revokes claims, nothing else';
        END IF;
        -- What the project's stage rests on (its signing contract, its start)
        -- is not re-dated, re-kinded or moved; it can only be revoked.
        IF claim_is_stage_basis(TG_TABLE_NAME, to_jsonb(OLD))
           AND (to_jsonb(NEW) - ARRAY['evidence', 'verified_by', 'verified_at', 'revoked_by', 'revoked_at',
                                      'revoke_reason', 'version', 'amount_yuan', 'unit_path'])
               IS DISTINCT FROM
               (to_jsonb(OLD) - ARRAY['evidence', 'verified_by', 'verified_at', 'revoked_by', 'revoked_at',
                                      'revoke_reason', 'version', 'amount_yuan', 'unit_path']) THEN
            RAISE check_violation USING MESSAGE = 'the project''s stage rests on this claim; it is not re-dated or moved';
        END IF;
        -- Verifying confirms the claim as reported: nothing else changes with it.
        IF NEW.verified_at IS NOT NULL AND OLD.verified_at IS NULL
           AND (to_jsonb(NEW) - ARRAY['verified_by', 'verified_at', 'version', 'unit_path'])
               IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['verified_by', 'verified_at', 'version', 'unit_path']) THEN
            RAISE check_violation USING MESSAGE = 'a claim is verified as it was reported, unchanged';
        END IF;
        -- An edit of the claim itself (not its verification or revocation)
        -- records who made it: that user may not verify it either.
        IF (to_jsonb(NEW) - ARRAY['verified_by', 'verified_at', 'revoked_by', 'revoked_at', 'revoke_reason',
                                  'version', 'unit_path', 'changed_by'])
           IS DISTINCT FROM
           (to_jsonb(OLD) - ARRAY['verified_by', 'verified_at', 'revoked_by', 'revoked_at', 'revoke_reason',
                                  'version', 'unit_path', 'changed_by']) THEN
            NEW.changed_by := coalesce(crm_caller_user(), NEW.changed_by);
        ELSIF NEW.changed_by IS DISTINCT FROM OLD.changed_by THEN
            RAISE check_violation USING MESSAGE = 'who last changed a claim is recorded, not set';
        END IF;
        IF NEW.verified_at IS NOT NULL AND OLD.verified_at IS NULL THEN
            -- A caller must have the right to verify; without a caller (the
            -- owner loading data) the verifier is given explicitly.
            IF crm_caller_user() IS NOT NULL AND crm_caller_role() NOT IN ('bureau', 'viewer') THEN
                RAISE insufficient_privilege USING MESSAGE = 'only the bureau or the assessment office verifies claims';
            END IF;
            NEW.verified_by := coalesce(crm_caller_user(), NEW.verified_by);
            NEW.verified_at := now();
            IF NEW.verified_by IS NOT DISTINCT FROM NEW.reported_by THEN
                RAISE check_violation USING MESSAGE = 'the user who reported a claim cannot verify it';
            END IF;
            IF NEW.verified_by IS NOT DISTINCT FROM NEW.changed_by THEN
                RAISE check_violation USING MESSAGE = 'the user who last changed a claim cannot verify it';
            END IF;
        END IF;
        IF NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL THEN
            NEW.revoked_by := coalesce(crm_caller_user(), NEW.revoked_by);
            NEW.revoked_at := now();
        END IF;
        NEW.version := OLD.version + 1;
    END IF;
    IF claim_date > crm_today() THEN
        RAISE check_violation USING MESSAGE = 'a claim is not dated in the future',
              COLUMN = CASE TG_TABLE_NAME WHEN 'contract' THEN 'signed_on' ELSE 'started_on' END;
    END IF;
    IF TG_TABLE_NAME = 'contract' AND to_jsonb(NEW) ->> 'kind' = 'capital_increase'
       AND coalesce(stage_rank(coalesce(p.stalled_from, p.stage)), 0) < 4 THEN
        RAISE check_violation USING MESSAGE = 'a capital increase is for a signed project',
              COLUMN = 'kind';
    END IF;
    IF TG_TABLE_NAME = 'project_start' AND (p.signed_on IS NULL OR claim_date < p.signed_on) THEN
        RAISE check_violation USING MESSAGE = 'a project starts after it is signed, not before',
              COLUMN = 'started_on';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER contract_rules BEFORE INSERT OR UPDATE OR DELETE ON contract
    FOR EACH ROW EXECUTE FUNCTION claim_rules();
CREATE TRIGGER project_start_rules BEFORE INSERT OR UPDATE OR DELETE ON project_start
    FOR EACH ROW EXECUTE FUNCTION claim_rules();

-- A claim is progress on its project.
CREATE FUNCTION claim_progress() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE project SET last_progress_at = now() WHERE id = NEW.project_id AND last_progress_at < now();
    RETURN NULL;
END
$$;
CREATE TRIGGER contract_progress AFTER INSERT ON contract FOR EACH ROW EXECUTE FUNCTION claim_progress();
CREATE TRIGGER project_start_progress AFTER INSERT ON project_start FOR EACH ROW EXECUTE FUNCTION claim_progress();

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
CREATE TRIGGER interaction_unit_path BEFORE INSERT OR UPDATE OF unit_id ON interaction
    FOR EACH ROW EXECUTE FUNCTION row_unit_path();
CREATE TRIGGER interaction_touch BEFORE UPDATE ON interaction FOR EACH ROW EXECUTE FUNCTION row_touch();

CREATE TABLE interaction_leader (
    interaction_id bigint NOT NULL REFERENCES interaction (id) ON DELETE CASCADE,
    leader_id      bigint NOT NULL REFERENCES app_user (id),
    unit_path      bigint[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (interaction_id, leader_id)
);
CREATE INDEX interaction_leader_leader ON interaction_leader (leader_id);

CREATE FUNCTION interaction_rules() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.occurred_on > crm_today() THEN
        RAISE check_violation USING MESSAGE = 'an interaction is logged once it happened', COLUMN = 'occurred_on';
    END IF;
    IF NEW.project_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM project WHERE id = NEW.project_id AND unit_path @> ARRAY[NEW.unit_id]) THEN
        RAISE check_violation USING MESSAGE = 'the project belongs to another unit', COLUMN = 'project_id';
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.created_by := coalesce(crm_caller_user(), NEW.created_by);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER interaction_rules BEFORE INSERT OR UPDATE ON interaction
    FOR EACH ROW EXECUTE FUNCTION interaction_rules();

CREATE FUNCTION interaction_leader_rules() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM app_user WHERE id = NEW.leader_id AND role = 'leader') THEN
        RAISE check_violation USING MESSAGE = 'a leader present must be a user with the leader role',
              COLUMN = 'leader_ids';
    END IF;
    SELECT unit_path INTO NEW.unit_path FROM interaction WHERE id = NEW.interaction_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER interaction_leader_rules BEFORE INSERT OR UPDATE ON interaction_leader
    FOR EACH ROW EXECUTE FUNCTION interaction_leader_rules();

-- An interaction is progress on its project.
CREATE FUNCTION interaction_progress() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.project_id IS NOT NULL THEN
        UPDATE project SET last_progress_at = now() WHERE id = NEW.project_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER interaction_progress AFTER INSERT ON interaction
    FOR EACH ROW EXECUTE FUNCTION interaction_progress();

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
CREATE TRIGGER problem_touch BEFORE UPDATE ON problem FOR EACH ROW EXECUTE FUNCTION row_touch();

CREATE FUNCTION problem_rules() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    SELECT unit_path INTO NEW.unit_path FROM project WHERE id = NEW.project_id;
    IF NEW.unit_path IS NULL THEN
        RAISE foreign_key_violation USING MESSAGE = 'project does not exist', COLUMN = 'project_id';
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.created_by := coalesce(crm_caller_user(), NEW.created_by);
    END IF;
    IF NEW.status IN ('resolved', 'closed') AND (TG_OP = 'INSERT' OR OLD.status NOT IN ('resolved', 'closed')) THEN
        NEW.resolved_at := now();
    ELSIF NEW.status IN ('open', 'in_progress') THEN
        NEW.resolved_at := NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER problem_rules BEFORE INSERT OR UPDATE ON problem FOR EACH ROW EXECUTE FUNCTION problem_rules();

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
CREATE TRIGGER batch_unit_path BEFORE INSERT OR UPDATE OF unit_id ON batch
    FOR EACH ROW EXECUTE FUNCTION row_unit_path();
CREATE TRIGGER batch_touch BEFORE UPDATE ON batch FOR EACH ROW EXECUTE FUNCTION row_touch();

CREATE TABLE batch_project (
    batch_id   bigint NOT NULL REFERENCES batch (id) ON DELETE CASCADE,
    project_id bigint NOT NULL REFERENCES project (id),
    unit_path  bigint[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (batch_id, project_id)
);
CREATE FUNCTION batch_project_rules() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    b batch;
BEGIN
    SELECT * INTO b FROM batch WHERE id = NEW.batch_id;
    SELECT unit_path INTO NEW.unit_path FROM project WHERE id = NEW.project_id AND unit_path @> ARRAY[b.unit_id];
    IF NEW.unit_path IS NULL THEN
        RAISE check_violation USING MESSAGE = 'the project is not one of the batch unit''s', COLUMN = 'project_ids';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER batch_project_rules BEFORE INSERT OR UPDATE ON batch_project
    FOR EACH ROW EXECUTE FUNCTION batch_project_rules();

CREATE TRIGGER project_scope_follows AFTER UPDATE OF unit_id ON project
    FOR EACH ROW WHEN (OLD.unit_path IS DISTINCT FROM NEW.unit_path) EXECUTE FUNCTION scope_follows();
CREATE TRIGGER investor_scope_follows AFTER UPDATE OF unit_id ON investor
    FOR EACH ROW WHEN (OLD.unit_path IS DISTINCT FROM NEW.unit_path) EXECUTE FUNCTION scope_follows();

-- ---- stalled projects ----

-- Marks active projects without progress for the configured number of days
-- as stalled (from their stage). Returns how many. Run by the service on a
-- timer; safe to run at any time.
CREATE FUNCTION project_mark_stalled() RETURNS integer LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    days int := (SELECT value::text::int FROM setting WHERE key = 'stall_after_days');
    n int;
BEGIN
    UPDATE project SET stalled_from = stage, stage = 'stalled'
     WHERE stage IN ('planned', 'lead', 'negotiating', 'signed', 'started', 'in_production')
       AND last_progress_at < now() - make_interval(days => days);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

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

-- Claims a key for the caller: 'new' (go ahead), 'replay' (with the stored
-- answer), 'mismatch' (the key was used with another request), 'in_flight'.
-- A key held in flight for over a minute is taken to be abandoned.
CREATE FUNCTION idempotency_claim(p_key text, p_route text, p_hash bytea)
RETURNS TABLE (outcome text, status integer, content_type text, body text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    k idempotency_key;
BEGIN
    DELETE FROM idempotency_key i WHERE i.user_id = crm_caller_user() AND i.key = p_key
       AND i.state = 'in_flight' AND i.created_at < now() - interval '1 minute';
    INSERT INTO idempotency_key (user_id, key, route, request_hash)
    VALUES (crm_caller_user(), p_key, p_route, p_hash)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        RETURN QUERY SELECT 'new'::text, NULL::integer, NULL::text, NULL::text;
        RETURN;
    END IF;
    SELECT * INTO k FROM idempotency_key i WHERE i.user_id = crm_caller_user() AND i.key = p_key;
    IF k.route <> p_route OR k.request_hash <> p_hash THEN
        RETURN QUERY SELECT 'mismatch'::text, NULL::integer, NULL::text, NULL::text;
    ELSIF k.state = 'in_flight' THEN
        RETURN QUERY SELECT 'in_flight'::text, NULL::integer, NULL::text, NULL::text;
    ELSE
        RETURN QUERY SELECT 'replay'::text, k.status, k.content_type, k.body;
    END IF;
END
$$;

-- Stores the answer under a claimed key (or releases the key when the
-- answer was an error worth retrying: status NULL).
CREATE FUNCTION idempotency_finish(p_user bigint, p_key text, p_status integer,
                                   p_content_type text, p_body text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF p_status IS NULL THEN
        DELETE FROM idempotency_key WHERE user_id = p_user AND key = p_key AND state = 'in_flight';
    ELSE
        UPDATE idempotency_key SET state = 'done', status = p_status, content_type = p_content_type,
               body = p_body
         WHERE user_id = p_user AND key = p_key AND state = 'in_flight';
    END IF;
END
$$;

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
        EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO crm_app USING (crm_in_scope(unit_path))',
                       t || '_read', t);
    END LOOP;
END
$$;

-- Writes, by role (DESIGN.md section 4): investors, projects and claims by
-- admins, the bureau and units; interactions and problems by those and
-- leaders; batches by admins and the bureau; verification by the bureau
-- and the assessment office (the viewer role), who change claims only.
CREATE POLICY investor_write ON investor FOR INSERT TO crm_app WITH CHECK (crm_may_write(unit_path));
CREATE POLICY investor_update ON investor FOR UPDATE TO crm_app
    USING (crm_may_write(unit_path)) WITH CHECK (crm_may_write(unit_path));
CREATE POLICY contact_write ON contact FOR INSERT TO crm_app WITH CHECK (crm_may_write(unit_path));
CREATE POLICY contact_update ON contact FOR UPDATE TO crm_app
    USING (crm_may_write(unit_path)) WITH CHECK (crm_may_write(unit_path));
CREATE POLICY contact_delete ON contact FOR DELETE TO crm_app USING (crm_may_write(unit_path));
CREATE POLICY project_write ON project FOR INSERT TO crm_app WITH CHECK (crm_may_write(unit_path));
CREATE POLICY project_update ON project FOR UPDATE TO crm_app
    USING (crm_may_write(unit_path)) WITH CHECK (crm_may_write(unit_path));
CREATE POLICY contract_write ON contract FOR INSERT TO crm_app WITH CHECK (crm_may_write(unit_path));
CREATE POLICY contract_update ON contract FOR UPDATE TO crm_app
    USING (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'viewer'))
    WITH CHECK (crm_in_scope(unit_path));
CREATE POLICY contract_delete ON contract FOR DELETE TO crm_app USING (crm_may_write(unit_path));
CREATE POLICY project_start_write ON project_start FOR INSERT TO crm_app WITH CHECK (crm_may_write(unit_path));
CREATE POLICY project_start_update ON project_start FOR UPDATE TO crm_app
    USING (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'viewer'))
    WITH CHECK (crm_in_scope(unit_path));
CREATE POLICY project_start_delete ON project_start FOR DELETE TO crm_app USING (crm_may_write(unit_path));
CREATE POLICY interaction_write ON interaction FOR INSERT TO crm_app
    WITH CHECK (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'leader'));
CREATE POLICY interaction_update ON interaction FOR UPDATE TO crm_app
    USING (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'leader'))
    WITH CHECK (crm_in_scope(unit_path));
CREATE POLICY interaction_leader_write ON interaction_leader FOR INSERT TO crm_app
    WITH CHECK (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'leader'));
CREATE POLICY interaction_leader_delete ON interaction_leader FOR DELETE TO crm_app
    USING (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'leader'));
CREATE POLICY problem_write ON problem FOR INSERT TO crm_app
    WITH CHECK (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'leader'));
CREATE POLICY problem_update ON problem FOR UPDATE TO crm_app
    USING (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'leader'))
    WITH CHECK (crm_in_scope(unit_path));
CREATE POLICY batch_write ON batch FOR INSERT TO crm_app
    WITH CHECK (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau'));
CREATE POLICY batch_update ON batch FOR UPDATE TO crm_app
    USING (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau'))
    WITH CHECK (crm_in_scope(unit_path));
CREATE POLICY batch_project_write ON batch_project FOR INSERT TO crm_app
    WITH CHECK (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau'));
CREATE POLICY batch_project_delete ON batch_project FOR DELETE TO crm_app
    USING (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau'));

GRANT SELECT, INSERT, UPDATE ON investor, project, interaction, problem, batch TO crm_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON contact, contract, project_start TO crm_app;
GRANT SELECT, INSERT, DELETE ON interaction_leader, batch_project TO crm_app;

-- ---- audit of the CRM tables ----

-- The audit rows of CRM records carry their unit (the last of unit_path)
-- and their project, so that a project's history is one indexed query.
ALTER TABLE audit_log ADD COLUMN project_id bigint;
CREATE INDEX audit_log_project_idx ON audit_log (project_id, id) WHERE project_id IS NOT NULL;

CREATE FUNCTION audit_crm_row() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    old_j  jsonb;
    new_j  jsonb;
    row_j  jsonb;
    before jsonb;
    after  jsonb;
    k      text;
BEGIN
    IF TG_OP <> 'INSERT' THEN old_j := to_jsonb(OLD) - 'unit_path'; END IF;
    IF TG_OP <> 'DELETE' THEN new_j := to_jsonb(NEW) - 'unit_path'; END IF;
    row_j := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
    IF TG_OP = 'UPDATE' THEN
        before := '{}';
        after := '{}';
        FOR k IN SELECT jsonb_object_keys(new_j) LOOP
            CONTINUE WHEN k IN ('version', 'updated_at');
            IF new_j -> k IS DISTINCT FROM old_j -> k THEN
                before := before || jsonb_build_object(k, old_j -> k);
                after := after || jsonb_build_object(k, new_j -> k);
            END IF;
        END LOOP;
        IF after = '{}' THEN RETURN NULL; END IF;
    ELSE
        before := old_j;
        after := new_j;
    END IF;
    INSERT INTO audit_log (actor_id, request_id, table_name, row_id, action, unit_id, project_id,
                           before, after)
    VALUES (crm_caller_user(), crm_request_id(), TG_TABLE_NAME, row_j ->> 'id', lower(TG_OP),
            (row_j -> 'unit_path' ->> -1)::bigint,
            CASE WHEN TG_TABLE_NAME = 'project' THEN (row_j ->> 'id')::bigint
                 ELSE (row_j ->> 'project_id')::bigint END,
            before, after);
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['investor', 'project', 'contract', 'project_start', 'interaction',
                             'problem', 'batch']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I '
                       'FOR EACH ROW EXECUTE FUNCTION audit_crm_row()', t || '_audit', t);
    END LOOP;
END
$$;

-- ---- lifecycle transitions ----

-- Moves a project one step (as the caller: row-level security applies).
-- Dates come from the claims: signed_on from the earliest live formal
-- contract, started_on from the live start claim; production and capacity
-- take the date given (today when none). The rules are project_rules'.
-- Returns the new version, or no row when the project is not visible.
CREATE FUNCTION project_transition(p_id bigint, p_to text, p_on date, p_reason text)
RETURNS TABLE (version integer) LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    p project;
BEGIN
    SELECT * INTO p FROM project WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF p_to = 'signed' THEN
        p.signed_on := (SELECT min(c.signed_on) FROM contract c
                         WHERE c.project_id = p_id AND c.kind = 'formal' AND c.revoked_at IS NULL);
    ELSIF p_to = 'started' THEN
        p.started_on := (SELECT s.started_on FROM project_start s
                          WHERE s.project_id = p_id AND s.revoked_at IS NULL);
    ELSIF p_to = 'in_production' THEN
        p.production_on := coalesce(p_on, crm_today());
    ELSIF p_to = 'at_capacity' THEN
        p.capacity_on := coalesce(p_on, crm_today());
    ELSIF p_to = 'terminated' THEN
        p.terminated_reason := p_reason;
    ELSIF p_to = 'stalled' THEN
        p.stalled_from := p.stage;
    END IF;
    IF p.stage = 'stalled' AND p_to <> 'terminated' THEN
        p.stalled_from := NULL;
    ELSIF p_to = 'terminated' THEN
        p.stalled_from := NULL;
    END IF;
    RETURN QUERY
    UPDATE project SET stage = p_to, signed_on = p.signed_on, started_on = p.started_on,
           production_on = p.production_on, capacity_on = p.capacity_on,
           terminated_reason = p.terminated_reason, stalled_from = p.stalled_from
     WHERE id = p_id
    RETURNING project.version;
END
$$;

-- A project as the API shows it.
CREATE FUNCTION project_json(p project) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', p.id, 'code', p.code, 'name', p.name, 'unit_id', p.unit_id,
        'unit_name', (SELECT u.name FROM unit u WHERE u.id = p.unit_id),
        'investor_id', p.investor_id,
        'investor_name', (SELECT i.name FROM investor i WHERE i.id = p.investor_id),
        'leader_id', p.leader_id,
        'leader_name', (SELECT coalesce(nullif(l.display_name, ''), l.username) FROM app_user l
                         WHERE l.id = p.leader_id),
        'industry_chain', p.industry_chain, 'park', p.park,
        'planned_investment_yuan', p.planned_investment_yuan, 'is_key', p.is_key,
        'five_one', p.five_one, 'plan', p.plan, 'planned_start_on', p.planned_start_on,
        'stage', p.stage, 'stalled_from', p.stalled_from, 'terminated_reason', p.terminated_reason,
        'signed_on', p.signed_on, 'started_on', p.started_on, 'production_on', p.production_on,
        'capacity_on', p.capacity_on, 'last_progress_at', p.last_progress_at,
        'created_at', p.created_at, 'updated_at', p.updated_at, 'version', p.version)
$$;

-- A claim (contract or start) as the API shows it, with its state.
CREATE FUNCTION claim_state(verified_at timestamptz, revoked_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
                WHEN verified_at IS NOT NULL THEN 'verified' ELSE 'reported' END
$$;
