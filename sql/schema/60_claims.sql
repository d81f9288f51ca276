-- Claims: contracts (signings) and starts, their rules, independent verification and revocation
-- (the /contracts and /starts routes).
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- Whether a live claim is what its project's stage rests on: the formal
-- contract dated on the project's signed_on (and the only such), or the
-- live start of a started project.
CREATE OR REPLACE FUNCTION claim_is_stage_basis(tbl text, c jsonb) RETURNS boolean LANGUAGE plpgsql STABLE
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

-- ---- claims: historical times for the owner, now() for everyone else ----
CREATE OR REPLACE FUNCTION claim_rules() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
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
        -- A caller reports now; the owner loading history may give the time.
        IF crm_caller_user() IS NOT NULL OR NEW.reported_at IS NULL OR NEW.reported_at > now() THEN
            NEW.reported_at := now();
        END IF;
        IF TG_TABLE_NAME = 'project_start' AND EXISTS (
            SELECT 1 FROM project_start s WHERE s.project_id = NEW.project_id AND s.revoked_at IS NULL) THEN
            RAISE unique_violation USING MESSAGE = 'the project already has a live start claim; revoke it first',
                  COLUMN = 'project_id';
        END IF;
    ELSE
        -- The project moved (scope_follows): the claim follows, nothing else.
        IF (to_jsonb(NEW) - 'unit_path') = (to_jsonb(OLD) - 'unit_path') THEN
            RETURN NEW;
        END IF;
        IF OLD.revoked_at IS NOT NULL THEN
            RAISE check_violation USING MESSAGE = 'a revoked claim does not change';
        END IF;
        IF OLD.verified_at IS NOT NULL THEN
            -- Only the revocation may be added.
            IF (to_jsonb(NEW) - ARRAY['revoked_by', 'revoked_at', 'revoke_reason', 'revoke_falsified', 'version'])
               IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['revoked_by', 'revoked_at', 'revoke_reason', 'revoke_falsified', 'version']) THEN
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
           (to_jsonb(NEW) - ARRAY['verified_by', 'verified_at', 'revoked_by', 'revoked_at', 'revoke_reason', 'revoke_falsified', 'version'])
           IS DISTINCT FROM
           (to_jsonb(OLD) - ARRAY['verified_by', 'verified_at', 'revoked_by', 'revoked_at', 'revoke_reason', 'revoke_falsified', 'version']) THEN
            RAISE insufficient_privilege USING MESSAGE = 'the assessment office verifies or revokes claims, nothing else';
        END IF;
        -- What the project's stage rests on (its signing contract, its start)
        -- is not re-dated, re-kinded or moved; it can only be revoked.
        IF claim_is_stage_basis(TG_TABLE_NAME, to_jsonb(OLD))
           AND (to_jsonb(NEW) - ARRAY['evidence', 'verified_by', 'verified_at', 'revoked_by', 'revoked_at',
                                      'revoke_reason', 'revoke_falsified', 'version', 'amount_yuan', 'unit_path'])
               IS DISTINCT FROM
               (to_jsonb(OLD) - ARRAY['evidence', 'verified_by', 'verified_at', 'revoked_by', 'revoked_at',
                                      'revoke_reason', 'revoke_falsified', 'version', 'amount_yuan', 'unit_path']) THEN
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
                                  'revoke_falsified', 'version', 'unit_path', 'changed_by'])
           IS DISTINCT FROM
           (to_jsonb(OLD) - ARRAY['verified_by', 'verified_at', 'revoked_by', 'revoked_at', 'revoke_reason',
                                  'revoke_falsified', 'version', 'unit_path', 'changed_by']) THEN
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
            IF crm_caller_user() IS NOT NULL THEN
                NEW.verified_at := now();
            ELSIF NEW.verified_at > now() OR NEW.verified_at < NEW.reported_at THEN
                RAISE check_violation USING MESSAGE = 'a claim is verified after it is reported, not in the future',
                      COLUMN = 'verified_at';
            END IF;
            IF NEW.verified_by IS NOT DISTINCT FROM NEW.reported_by THEN
                RAISE check_violation USING MESSAGE = 'the user who reported a claim cannot verify it';
            END IF;
            IF NEW.verified_by IS NOT DISTINCT FROM NEW.changed_by THEN
                RAISE check_violation USING MESSAGE = 'the user who last changed a claim cannot verify it';
            END IF;
        END IF;
        IF NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL THEN
            NEW.revoked_by := coalesce(crm_caller_user(), NEW.revoked_by);
            IF crm_caller_user() IS NOT NULL THEN
                NEW.revoked_at := now();
            ELSIF NEW.revoked_at > now() OR NEW.revoked_at < coalesce(NEW.verified_at, NEW.reported_at) THEN
                RAISE check_violation USING MESSAGE = 'a claim is revoked after it is reported and verified, not in the future',
                      COLUMN = 'revoked_at';
            END IF;
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

CALL rows_attach('rules', 'BEFORE INSERT OR UPDATE OR DELETE', 'claim_rules()', '{contract, project_start}');

-- A claim is progress on its project.
CREATE OR REPLACE FUNCTION claim_progress() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE project SET last_progress_at = now() WHERE id = NEW.project_id AND last_progress_at < now();
    RETURN NULL;
END
$$;

CALL rows_attach('progress', 'AFTER INSERT', 'claim_progress()', '{contract, project_start}');

-- A claim (contract or start) as the API shows it, with its state.
CREATE OR REPLACE FUNCTION claim_state(verified_at timestamptz, revoked_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
                WHEN verified_at IS NOT NULL THEN 'verified' ELSE 'reported' END
$$;

CREATE OR REPLACE FUNCTION contract_json(c contract) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', c.id, 'project_id', c.project_id, 'kind', c.kind,
        'amount_yuan', c.amount_yuan, 'signed_on', c.signed_on, 'evidence', c.evidence,
        'state', claim_state(c.verified_at, c.revoked_at),
        'reported_by', c.reported_by, 'reported_at', c.reported_at,
        'verified_by', c.verified_by, 'verified_at', c.verified_at,
        'revoked_by', c.revoked_by, 'revoked_at', c.revoked_at, 'revoke_reason', c.revoke_reason,
        'revoke_falsified', c.revoke_falsified,
        'version', c.version)
$$;

CREATE OR REPLACE FUNCTION start_json(s project_start) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', s.id, 'project_id', s.project_id, 'started_on', s.started_on,
        'evidence', s.evidence, 'state', claim_state(s.verified_at, s.revoked_at),
        'reported_by', s.reported_by, 'reported_at', s.reported_at,
        'verified_by', s.verified_by, 'verified_at', s.verified_at,
        'revoked_by', s.revoked_by, 'revoked_at', s.revoked_at, 'revoke_reason', s.revoke_reason,
        'revoke_falsified', s.revoke_falsified,
        'version', s.version)
$$;

-- The filters of a page of claims, as page_json reads them: the project,
-- the unit, the state and the year of p_on, the claim's date.
CREATE OR REPLACE FUNCTION claim_filters(p_on text) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
SELECT format($w$
       ($1 ->> 'project_id' IS NULL OR r.project_id = ($1 ->> 'project_id')::bigint)
   AND ($1 ->> 'state' IS NULL OR claim_state(r.verified_at, r.revoked_at) = $1 ->> 'state')
   AND ($1 ->> 'year' IS NULL OR extract(year FROM r.%I) = ($1 ->> 'year')::int)
$w$, p_on)
$fn$;

CREATE OR REPLACE FUNCTION contracts_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE sql STABLE AS $fn$
SELECT page_json('contract', 'contract_json',
                 claim_filters('signed_on') || $w$ AND ($1 ->> 'kind' IS NULL OR r.kind = $1 ->> 'kind')$w$,
                 f, p_after, p_limit)
$fn$;

CREATE OR REPLACE FUNCTION contracts_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    c contract;
BEGIN
    INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence)
    VALUES (project_required((b ->> 'project_id')::bigint), b ->> 'kind', (b ->> 'amount_yuan')::bigint,
            (b ->> 'signed_on')::date, b ->> 'evidence')
    RETURNING * INTO c;
    RETURN contract_json(c)::text;
END
$$;

CREATE OR REPLACE FUNCTION contracts_update(p_id bigint, p_version integer, b jsonb) RETURNS text LANGUAGE sql AS
$$ SELECT row_patch('contract', 'kind, amount_yuan, signed_on, evidence', 'contract_json',
                 p_id, p_version, b) $$;

-- ---- one verification of a claim, however many race ----

-- The state of claim p_id of tbl (contract or project_start) as the caller
-- sees it: reported, verified or revoked; NULL when it is not visible.
CREATE OR REPLACE FUNCTION claim_state_of(tbl regclass, p_id bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
BEGIN
    EXECUTE format('SELECT claim_state(verified_at, revoked_at) FROM %s WHERE id = $1', tbl)
       INTO state USING p_id;
    RETURN state;
END
$$;

-- A verification or a revocation of claim p_id of tbl: SET p_set (which
-- reads p_reason as $2 and p_falsified as $3) where p_when still holds; the
-- claim afterwards as JSON, NULL when nothing was changed.
CREATE OR REPLACE FUNCTION claim_change(tbl regclass, p_id bigint, p_set text, p_when text,
                                        p_reason text DEFAULT NULL, p_falsified boolean DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    j jsonb;
BEGIN
    EXECUTE format('UPDATE %s t SET %s WHERE id = $1 AND %s RETURNING %s(t)', tbl, p_set, p_when,
                   CASE WHEN tbl = 'contract'::regclass THEN 'contract_json' ELSE 'start_json' END)
       INTO j USING p_id, p_reason, p_falsified;
    RETURN j;
END
$$;

-- Verifies a reported claim as the caller (NULL when not visible). The
-- update applies only to a claim still reported: of two verifications
-- racing, the second waits for the first's row lock and then finds nothing
-- to verify (409), even when both transactions began in the same
-- microsecond (with equal now(), an unconditional second update would
-- change nothing the claim rules could see, and both would answer 200).
CREATE OR REPLACE FUNCTION claim_verify(tbl regclass, p_id bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    j jsonb;
BEGIN
    IF claim_state_of(tbl, p_id) IS NULL THEN
        RETURN NULL;
    END IF;
    j := claim_change(tbl, p_id, 'verified_at = now(), verified_by = crm_caller_user()',
                      'verified_at IS NULL AND revoked_at IS NULL');
    IF j IS NULL THEN
        RAISE check_violation USING MESSAGE = format('the claim is already %s', claim_state_of(tbl, p_id));
    END IF;
    RETURN j::text;
END
$$;

CREATE OR REPLACE FUNCTION contract_verify(p_id bigint) RETURNS text LANGUAGE sql AS
$$ SELECT claim_verify('contract', p_id) $$;

CREATE OR REPLACE FUNCTION starts_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE sql STABLE AS $fn$
SELECT page_json('project_start', 'start_json', claim_filters('started_on'), f, p_after, p_limit)
$fn$;

CREATE OR REPLACE FUNCTION starts_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    s project_start;
BEGIN
    INSERT INTO project_start (project_id, started_on, evidence)
    VALUES (project_required((b ->> 'project_id')::bigint), (b ->> 'started_on')::date, b ->> 'evidence')
    RETURNING * INTO s;
    RETURN start_json(s)::text;
END
$$;

CREATE OR REPLACE FUNCTION starts_update(p_id bigint, p_version integer, b jsonb) RETURNS text LANGUAGE sql AS
$$ SELECT row_patch('project_start', 'started_on, evidence', 'start_json', p_id, p_version, b) $$;

CREATE OR REPLACE FUNCTION start_verify(p_id bigint) RETURNS text LANGUAGE sql AS
$$ SELECT claim_verify('project_start', p_id) $$;

CREATE OR REPLACE FUNCTION claim_revoke(tbl regclass, p_id bigint, p_reason text, p_falsified boolean DEFAULT false)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text := claim_state_of(tbl, p_id);
BEGIN
    IF state IS NULL THEN
        RETURN NULL;
    ELSIF state = 'revoked' THEN
        RAISE check_violation USING MESSAGE = 'the claim is already revoked';
    END IF;
    RETURN claim_change(tbl, p_id, 'revoked_at = now(), revoked_by = crm_caller_user(), revoke_reason = $2, '
                                   'revoke_falsified = $3', 'true', p_reason, coalesce(p_falsified, false))::text;
END
$$;
GRANT EXECUTE ON FUNCTION claim_revoke(regclass, bigint, text, boolean) TO crm_app;

CREATE OR REPLACE FUNCTION contract_revoke(p_id bigint, p_reason text, p_falsified boolean DEFAULT false)
RETURNS text LANGUAGE sql AS
$$ SELECT claim_revoke('contract', p_id, p_reason, p_falsified) $$;
GRANT EXECUTE ON FUNCTION contract_revoke(bigint, text, boolean) TO crm_app;

CREATE OR REPLACE FUNCTION start_revoke(p_id bigint, p_reason text, p_falsified boolean DEFAULT false)
RETURNS text LANGUAGE sql AS
$$ SELECT claim_revoke('project_start', p_id, p_reason, p_falsified) $$;
GRANT EXECUTE ON FUNCTION start_revoke(bigint, text, boolean) TO crm_app;

-- Runs after claim_rules, which has set reported_by and, on an
-- edit of the claim itself, changed_by: touched_by is the reporter and every
-- editor since, whatever the writer sent; nobody in it verifies. With a
-- caller, the verifier and the revoker of a verified claim must be
-- independent of the claim's unit.
CREATE OR REPLACE FUNCTION claim_independence() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    claim_unit bigint := NEW.unit_path[cardinality(NEW.unit_path)];
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.touched_by := array_remove(ARRAY[NEW.reported_by], NULL);
        RETURN NEW;
    END IF;
    NEW.touched_by := OLD.touched_by;
    IF NEW.changed_by IS NOT NULL AND NEW.changed_by IS DISTINCT FROM OLD.changed_by
       AND NOT NEW.changed_by = ANY (NEW.touched_by) THEN
        NEW.touched_by := NEW.touched_by || NEW.changed_by;
    ELSIF crm_caller_user() IS NOT NULL AND NEW.changed_by = crm_caller_user()
          AND NOT crm_caller_user() = ANY (NEW.touched_by) THEN
        NEW.touched_by := NEW.touched_by || crm_caller_user();
    END IF;
    IF NEW.verified_at IS NOT NULL AND OLD.verified_at IS NULL THEN
        IF NEW.verified_by = ANY (NEW.touched_by) THEN
            RAISE check_violation USING
                MESSAGE = 'you reported or changed this claim: another user verifies it';
        END IF;
        IF crm_caller_user() IS NOT NULL AND NOT claim_verifier_independent(NEW.unit_path) THEN
            RAISE insufficient_privilege USING
                MESSAGE = 'a claim is verified by a unit above the claiming unit (or a department serving it)';
        END IF;
    END IF;
    IF NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL AND OLD.verified_at IS NOT NULL
       AND crm_caller_user() IS NOT NULL
       AND (crm_caller_role() NOT IN ('bureau', 'viewer') OR NOT claim_verifier_independent(NEW.unit_path)) THEN
        RAISE insufficient_privilege USING
            MESSAGE = format('a verified claim is revoked by a verifier of a unit above %s; the unit withdraws only what is not verified',
                             (SELECT u.name FROM unit u WHERE u.id = claim_unit));
    END IF;
    RETURN NEW;
END
$$;

-- Whether the caller may verify (or revoke once verified) a claim of the
-- unit at the end of p_path: their scope starts above it, or they belong to
-- a department serving it (the investment centre of the county, for a
-- claim of the county itself). Never the claiming unit's own users.
CREATE OR REPLACE FUNCTION claim_verifier_independent(p_path bigint[]) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT crm_caller_unit() = ANY (p_path)
       AND (crm_caller_unit() <> p_path[cardinality(p_path)]
            OR crm_caller_home_unit() IS DISTINCT FROM crm_caller_unit())
$$;

-- Named to fire right after contract_rules and project_start_rules (BEFORE
-- triggers fire in name order).
CALL rows_attach('rules_independence', 'BEFORE INSERT OR UPDATE', 'claim_independence()', '{contract, project_start}');
