-- Targets and quotas, and the KPI engine of DESIGN.md section 5: the signing
-- amount, the signed count and the same-year start rate of any unit's subtree
-- in any year, as of any date, from what was known then.
--
-- How it stays fast and exact. A project's contribution to a year's figures
-- changes only at the instants its claims are reported, verified or revoked,
-- or it moves to another unit. Each change of a claim recomputes that
-- project's whole history (kpi_deltas: its contribution after each day on
-- which something happened, as differences from the day before) and applies
-- the difference from what was stored before to kpi_rollup, one row per unit
-- of its path, basis, year and day, in the same transaction as the claim.
-- The figures of unit U in year Y as of D are then the sum of U's rows of Y
-- up to D: a few hundred rows at most, whatever the number of projects.
-- kpi_reference computes the same figures from the raw rows; the tests check
-- that both agree on random histories.

-- ---- settings and columns the engine reads ----

-- When an open project is expected to sign (the forecast counts those
-- expected in the year), and the chance of it by stage.
ALTER TABLE project ADD COLUMN expected_sign_on date;
INSERT INTO setting VALUES ('forecast_probability', '{"planned": 0.1, "lead": 0.2, "negotiating": 0.5}');

-- China Standard Time: the day an instant falls on, and the first instant
-- after a day (what was known "as of d" is what happened before it).
CREATE FUNCTION kpi_day(t timestamptz) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT (t AT TIME ZONE 'Asia/Shanghai')::date $$;
CREATE FUNCTION kpi_cutoff(d date) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT ((d + 1)::timestamp AT TIME ZONE 'Asia/Shanghai') $$;

-- Whether a claim counted at a cutoff: on the verified basis from its
-- verification, on the reported basis from its report; never once revoked.
CREATE FUNCTION claim_counts(verified_at timestamptz, revoked_at timestamptz, cutoff timestamptz)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT verified_at < cutoff AND (revoked_at IS NULL OR revoked_at >= cutoff) $$;
CREATE FUNCTION kpi_counts(basis text, reported_at timestamptz, verified_at timestamptz,
                           revoked_at timestamptz, cutoff timestamptz)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT claim_counts(CASE basis WHEN 'verified' THEN verified_at ELSE reported_at END, revoked_at, cutoff) $$;

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

-- ---- where each project was, and since when ----

-- A project's figures count toward the unit it belonged to at the time:
-- its first placement holds from the beginning of time, each move from the
-- moment it was made.
CREATE TABLE project_placement (
    project_id bigint NOT NULL REFERENCES project (id),
    valid_from timestamptz NOT NULL,
    unit_path  bigint[] NOT NULL,
    PRIMARY KEY (project_id, valid_from)
);
ALTER TABLE project_placement ENABLE ROW LEVEL SECURITY;
ALTER TABLE project_placement FORCE ROW LEVEL SECURITY;
CREATE POLICY project_placement_owner ON project_placement TO crm_owner USING (true) WITH CHECK (true);

CREATE FUNCTION project_placed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    -- The owner loading history may date a move (crm.moved_at); callers move now.
    INSERT INTO project_placement (project_id, valid_from, unit_path)
    VALUES (NEW.id, CASE WHEN TG_OP = 'INSERT' THEN '-infinity'::timestamptz
                         WHEN crm_caller_user() IS NULL
                         THEN least(now(), coalesce(nullif(current_setting('crm.moved_at', true), '')::timestamptz, now()))
                         ELSE now() END,
            NEW.unit_path)
    ON CONFLICT (project_id, valid_from) DO UPDATE SET unit_path = EXCLUDED.unit_path;
    IF TG_OP = 'UPDATE' THEN
        PERFORM kpi_refresh(ARRAY[NEW.id]);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER project_placed AFTER INSERT ON project
    FOR EACH ROW EXECUTE FUNCTION project_placed();
CREATE TRIGGER project_moved AFTER UPDATE ON project
    FOR EACH ROW WHEN (OLD.unit_path IS DISTINCT FROM NEW.unit_path) EXECUTE FUNCTION project_placed();
INSERT INTO project_placement (project_id, valid_from, unit_path)
SELECT id, '-infinity', unit_path FROM project;

-- ---- targets and quotas ----

-- A target (parent_unit_id NULL) is what a unit is given for a year; a
-- quota is a share of its parent's target or quota. Earlier versions are
-- in the audit log.
CREATE TABLE target (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id             bigint NOT NULL REFERENCES unit (id),
    year                integer NOT NULL CHECK (year BETWEEN 2000 AND 2999),
    parent_unit_id      bigint,
    unit_path           bigint[] NOT NULL DEFAULT '{}',
    signing_amount_yuan bigint NOT NULL CHECK (signing_amount_yuan >= 0),
    signed_count        integer NOT NULL CHECK (signed_count >= 0),
    start_rate          numeric(5, 4) NOT NULL CHECK (start_rate BETWEEN 0 AND 1),
    set_by              bigint REFERENCES app_user (id),
    set_at              timestamptz NOT NULL DEFAULT now(),
    version             integer NOT NULL DEFAULT 1,
    UNIQUE (unit_id, year),
    FOREIGN KEY (parent_unit_id, year) REFERENCES target (unit_id, year) ON DELETE CASCADE
);
CREATE INDEX target_parent ON target (parent_unit_id, year);
CREATE TRIGGER target_unit_path BEFORE INSERT OR UPDATE OF unit_id ON target
    FOR EACH ROW EXECUTE FUNCTION row_unit_path();
CREATE TRIGGER target_audit AFTER INSERT OR UPDATE OR DELETE ON target
    FOR EACH ROW EXECUTE FUNCTION audit_crm_row();
ALTER TABLE target ENABLE ROW LEVEL SECURITY;
ALTER TABLE target FORCE ROW LEVEL SECURITY;
CREATE POLICY target_owner ON target TO crm_owner USING (true) WITH CHECK (true);

CREATE FUNCTION unit_target(p_unit bigint, p_year integer) RETURNS target LANGUAGE plpgsql STABLE AS $$
DECLARE
    t target;
BEGIN
    SELECT * INTO t FROM target WHERE unit_id = p_unit AND year = p_year;
    RETURN t;
END
$$;

-- ---- the KPI engine ----

CREATE TYPE kpi_figures AS (
    signing_amount_yuan bigint,   -- first formal contracts and capital increases dated in the year
    signed_count        integer,  -- projects whose first counting formal contract is dated in the year
    started_count       integer,  -- of those, started (a counting start) in the same year
    signed_amount_yuan  bigint,   -- the first formal contracts of the signed projects
    started_amount_yuan bigint    -- the same, of the started ones
);

-- Each project's contribution, as differences by basis, year, day and the
-- unit path it counted toward: the rows of kpi_deltas, kept to be undone
-- when the project's history changes.
CREATE TABLE kpi_project_delta (
    project_id  bigint NOT NULL,
    basis       text NOT NULL,
    year        integer NOT NULL,
    day         date NOT NULL,
    unit_path   bigint[] NOT NULL,
    signing     bigint NOT NULL,
    signed      integer NOT NULL,
    started     integer NOT NULL,
    signed_amt  bigint NOT NULL,
    started_amt bigint NOT NULL
);
CREATE INDEX kpi_project_delta_project ON kpi_project_delta (project_id);

-- The same differences summed for every unit of the path.
CREATE TABLE kpi_rollup (
    unit_id     bigint NOT NULL,
    basis       text NOT NULL CHECK (basis IN ('verified', 'reported')),
    year        integer NOT NULL,
    day         date NOT NULL,
    signing     bigint NOT NULL,
    signed      integer NOT NULL,
    started     integer NOT NULL,
    signed_amt  bigint NOT NULL,
    started_amt bigint NOT NULL,
    -- The figures ride in the index: a unit's year is read by an index-only
    -- scan of its consecutive entries, not one heap page per day.
    PRIMARY KEY (unit_id, basis, year, day) INCLUDE (signing, signed, started, signed_amt, started_amt)
);

-- The open pipeline toward the forecast: planned investment by unit, year
-- of expected signing and stage, kept like the roll-up.
CREATE TABLE kpi_pipeline (
    unit_id     bigint NOT NULL,
    year        integer NOT NULL,
    stage       text NOT NULL,
    amount_yuan bigint NOT NULL,
    projects    integer NOT NULL,
    PRIMARY KEY (unit_id, year, stage)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['kpi_project_delta', 'kpi_rollup', 'kpi_pipeline'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I TO crm_owner USING (true) WITH CHECK (true)', t || '_owner', t);
    END LOOP;
END
$$;

-- The contribution of the given projects after each day on
-- which one of their claims was reported, verified or revoked, or they
-- moved: as levels (day, next_day) and then as differences.
CREATE FUNCTION kpi_levels(p_projects bigint[])
RETURNS TABLE (project_id bigint, basis text, day date, next_day date, year integer, unit_path bigint[],
               signing bigint, signed integer, started integer, signed_amt bigint, started_amt bigint)
LANGUAGE sql STABLE AS $$
    WITH ev AS (
        SELECT c.project_id, kpi_day(v.t) AS day
          FROM contract c, LATERAL (VALUES (c.reported_at), (c.verified_at), (c.revoked_at)) v (t)
         WHERE c.project_id = ANY (p_projects) AND v.t IS NOT NULL
        UNION
        SELECT s.project_id, kpi_day(v.t)
          FROM project_start s, LATERAL (VALUES (s.reported_at), (s.verified_at), (s.revoked_at)) v (t)
         WHERE s.project_id = ANY (p_projects) AND v.t IS NOT NULL
        UNION
        SELECT pl.project_id, kpi_day(pl.valid_from)
          FROM project_placement pl
         WHERE pl.project_id = ANY (p_projects) AND pl.valid_from > '-infinity'
           AND EXISTS (SELECT 1 FROM contract c WHERE c.project_id = pl.project_id)),
    days AS (
        SELECT e.project_id, e.day, lead(e.day) OVER (PARTITION BY e.project_id, b.basis ORDER BY e.day) AS next_day,
               kpi_cutoff(e.day) AS cutoff, b.basis
          FROM ev e CROSS JOIN (VALUES ('verified'), ('reported')) b (basis)),
    firsts AS (
        SELECT d.*, f.signed_on, f.amount_yuan,
               (SELECT pl.unit_path FROM project_placement pl
                 WHERE pl.project_id = d.project_id AND pl.valid_from < d.cutoff
                 ORDER BY pl.valid_from DESC LIMIT 1) AS unit_path
          FROM days d
          JOIN LATERAL (
              SELECT c.signed_on, c.amount_yuan FROM contract c
               WHERE c.project_id = d.project_id AND c.kind = 'formal'
                 AND kpi_counts(d.basis, c.reported_at, c.verified_at, c.revoked_at, d.cutoff)
               ORDER BY c.signed_on, c.id LIMIT 1) f ON true),
    parts AS (
        SELECT f.project_id, f.basis, f.day, f.next_day, f.unit_path,
               extract(year FROM f.signed_on)::integer AS year,
               f.amount_yuan AS signing, 1 AS signed, s.started,
               f.amount_yuan AS signed_amt, f.amount_yuan * s.started AS started_amt
          FROM firsts f
          CROSS JOIN LATERAL (
              SELECT CASE WHEN EXISTS (
                  SELECT 1 FROM project_start ps
                   WHERE ps.project_id = f.project_id
                     AND kpi_counts(f.basis, ps.reported_at, ps.verified_at, ps.revoked_at, f.cutoff)
                     AND extract(year FROM ps.started_on) = extract(year FROM f.signed_on))
                  THEN 1 ELSE 0 END AS started) s
        UNION ALL
        SELECT f.project_id, f.basis, f.day, f.next_day, f.unit_path,
               extract(year FROM c.signed_on)::integer, c.amount_yuan, 0, 0, 0, 0
          FROM firsts f
          JOIN contract c ON c.project_id = f.project_id AND c.kind = 'capital_increase'
                         AND kpi_counts(f.basis, c.reported_at, c.verified_at, c.revoked_at, f.cutoff))
    SELECT p.project_id, p.basis, p.day, p.next_day, p.year, p.unit_path,
           sum(p.signing)::bigint, sum(p.signed)::integer, sum(p.started)::integer,
           sum(p.signed_amt)::bigint, sum(p.started_amt)::bigint
      FROM parts p
     GROUP BY p.project_id, p.basis, p.day, p.next_day, p.year, p.unit_path
$$;

CREATE FUNCTION kpi_deltas(p_projects bigint[])
RETURNS SETOF kpi_project_delta LANGUAGE sql STABLE AS $$
    WITH l AS MATERIALIZED (SELECT * FROM kpi_levels(p_projects))
    SELECT x.project_id, x.basis, x.year, x.day, x.unit_path,
           sum(x.signing)::bigint, sum(x.signed)::integer, sum(x.started)::integer,
           sum(x.signed_amt)::bigint, sum(x.started_amt)::bigint
      FROM (SELECT l.project_id, l.basis, l.year, l.day, l.unit_path,
                   l.signing, l.signed, l.started, l.signed_amt, l.started_amt
              FROM l
            UNION ALL
            SELECT l.project_id, l.basis, l.year, l.next_day, l.unit_path,
                   -l.signing, -l.signed, -l.started, -l.signed_amt, -l.started_amt
              FROM l
             WHERE l.next_day IS NOT NULL) x
     GROUP BY x.project_id, x.basis, x.year, x.day, x.unit_path
    HAVING sum(x.signing) <> 0 OR sum(x.signed) <> 0 OR sum(x.started) <> 0
        OR sum(x.signed_amt) <> 0 OR sum(x.started_amt) <> 0
$$;

-- Brings the roll-up up to date with the given projects' claims and places.
-- Runs in the transaction that changed them; the projects' rows are locked
-- so that two transactions on one project apply their differences in turn.
CREATE FUNCTION kpi_refresh(p_projects bigint[]) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp SET jit = off AS $$
BEGIN
    PERFORM 1 FROM project WHERE id = ANY (p_projects) ORDER BY id FOR NO KEY UPDATE;
    WITH fresh AS MATERIALIZED (SELECT * FROM kpi_deltas(p_projects)),
    stale AS (DELETE FROM kpi_project_delta o WHERE o.project_id = ANY (p_projects) RETURNING o.*),
    kept AS (INSERT INTO kpi_project_delta SELECT * FROM fresh)
    INSERT INTO kpi_rollup AS r (unit_id, basis, year, day, signing, signed, started, signed_amt, started_amt)
    SELECT u.unit_id, x.basis, x.year, x.day, sum(x.signing), sum(x.signed), sum(x.started),
           sum(x.signed_amt), sum(x.started_amt)
      FROM (SELECT n.basis, n.year, n.day, n.unit_path, n.signing, n.signed, n.started,
                   n.signed_amt, n.started_amt
              FROM fresh n
            UNION ALL
            SELECT o.basis, o.year, o.day, o.unit_path, -o.signing, -o.signed, -o.started,
                   -o.signed_amt, -o.started_amt
              FROM stale o) x,
           unnest(x.unit_path) u (unit_id)
     GROUP BY u.unit_id, x.basis, x.year, x.day
    HAVING sum(x.signing) <> 0 OR sum(x.signed) <> 0 OR sum(x.started) <> 0
        OR sum(x.signed_amt) <> 0 OR sum(x.started_amt) <> 0
     ORDER BY u.unit_id, x.basis, x.year, x.day
    ON CONFLICT (unit_id, basis, year, day) DO UPDATE
       SET signing = r.signing + EXCLUDED.signing, signed = r.signed + EXCLUDED.signed,
           started = r.started + EXCLUDED.started, signed_amt = r.signed_amt + EXCLUDED.signed_amt,
           started_amt = r.started_amt + EXCLUDED.started_amt;
END
$$;

CREATE FUNCTION kpi_claim_changed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM kpi_refresh(ARRAY[OLD.project_id]);
    ELSIF TG_OP = 'UPDATE' AND OLD.project_id <> NEW.project_id THEN
        PERFORM kpi_refresh(ARRAY[OLD.project_id, NEW.project_id]);
    ELSE
        PERFORM kpi_refresh(ARRAY[NEW.project_id]);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER contract_kpi AFTER INSERT OR UPDATE OR DELETE ON contract
    FOR EACH ROW EXECUTE FUNCTION kpi_claim_changed();
CREATE TRIGGER project_start_kpi AFTER INSERT OR UPDATE OR DELETE ON project_start
    FOR EACH ROW EXECUTE FUNCTION kpi_claim_changed();

-- The pipeline: an open project (planned, lead, negotiating, or stalled
-- there) with an expected signing date and a planned investment.
CREATE FUNCTION kpi_pipeline_stage(p project) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT s FROM (SELECT CASE WHEN p.stage = 'stalled' THEN p.stalled_from ELSE p.stage END AS s) x
     WHERE s IN ('planned', 'lead', 'negotiating')
       AND p.expected_sign_on IS NOT NULL AND p.planned_investment_yuan IS NOT NULL
$$;

CREATE FUNCTION kpi_pipeline_changed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO kpi_pipeline AS k (unit_id, year, stage, amount_yuan, projects)
    SELECT u.unit_id, x.year, x.stage, sum(x.amount), sum(x.n)
      FROM (SELECT OLD.unit_path AS unit_path, extract(year FROM OLD.expected_sign_on)::integer AS year,
                   kpi_pipeline_stage(OLD) AS stage, -OLD.planned_investment_yuan AS amount, -1 AS n
             WHERE TG_OP = 'UPDATE' AND kpi_pipeline_stage(OLD) IS NOT NULL
            UNION ALL
            SELECT NEW.unit_path, extract(year FROM NEW.expected_sign_on)::integer,
                   kpi_pipeline_stage(NEW), NEW.planned_investment_yuan, 1
             WHERE kpi_pipeline_stage(NEW) IS NOT NULL) x,
           unnest(x.unit_path) u (unit_id)
     GROUP BY u.unit_id, x.year, x.stage
    HAVING sum(x.amount) <> 0 OR sum(x.n) <> 0
     ORDER BY 1, 2, 3
    ON CONFLICT (unit_id, year, stage) DO UPDATE
       SET amount_yuan = k.amount_yuan + EXCLUDED.amount_yuan, projects = k.projects + EXCLUDED.projects;
    RETURN NULL;
END
$$;
CREATE TRIGGER project_pipeline_new AFTER INSERT ON project
    FOR EACH ROW WHEN (NEW.expected_sign_on IS NOT NULL) EXECUTE FUNCTION kpi_pipeline_changed();
CREATE TRIGGER project_pipeline AFTER UPDATE ON project
    FOR EACH ROW WHEN (OLD.stage IS DISTINCT FROM NEW.stage OR OLD.stalled_from IS DISTINCT FROM NEW.stalled_from
                       OR OLD.expected_sign_on IS DISTINCT FROM NEW.expected_sign_on
                       OR OLD.planned_investment_yuan IS DISTINCT FROM NEW.planned_investment_yuan
                       OR OLD.unit_path IS DISTINCT FROM NEW.unit_path)
    EXECUTE FUNCTION kpi_pipeline_changed();

-- Recomputes every roll-up from the raw rows: after a bulk load that ran
-- without triggers, or to check them.
CREATE FUNCTION kpi_rebuild() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp SET jit = off AS $$
BEGIN
    LOCK TABLE kpi_rollup, kpi_project_delta, kpi_pipeline IN EXCLUSIVE MODE;
    DELETE FROM kpi_project_delta;
    DELETE FROM kpi_rollup;
    DELETE FROM kpi_pipeline;
    INSERT INTO kpi_project_delta SELECT * FROM kpi_deltas(ARRAY(SELECT DISTINCT project_id FROM contract));
    INSERT INTO kpi_rollup (unit_id, basis, year, day, signing, signed, started, signed_amt, started_amt)
    SELECT u.unit_id, d.basis, d.year, d.day, sum(d.signing), sum(d.signed), sum(d.started),
           sum(d.signed_amt), sum(d.started_amt)
      FROM kpi_project_delta d, unnest(d.unit_path) u (unit_id)
     GROUP BY u.unit_id, d.basis, d.year, d.day
     ORDER BY u.unit_id, d.basis, d.year, d.day;
    INSERT INTO kpi_pipeline (unit_id, year, stage, amount_yuan, projects)
    SELECT u.unit_id, extract(year FROM p.expected_sign_on)::integer, kpi_pipeline_stage(p),
           sum(p.planned_investment_yuan), count(*)
      FROM project p, unnest(p.unit_path) u (unit_id)
     WHERE kpi_pipeline_stage(p) IS NOT NULL
     GROUP BY 1, 2, 3;
END
$$;

-- The fast path: a unit's figures of a year as of a date, from the roll-up.
-- (PL/pgSQL rather than SQL here and below: a SQL function that cannot be
-- inlined is planned at every call, a PL/pgSQL one once per connection.)
CREATE FUNCTION kpi_fast(p_unit bigint, p_year integer, p_as_of date, p_basis text DEFAULT 'verified')
RETURNS kpi_figures LANGUAGE plpgsql STABLE AS $$
DECLARE
    f kpi_figures;
BEGIN
    SELECT coalesce(sum(signing), 0)::bigint, coalesce(sum(signed), 0)::integer,
           coalesce(sum(started), 0)::integer, coalesce(sum(signed_amt), 0)::bigint,
           coalesce(sum(started_amt), 0)::bigint
      INTO f
      FROM kpi_rollup
     WHERE unit_id = p_unit AND basis = p_basis AND year = p_year AND day <= p_as_of;
    RETURN f;
END
$$;

-- Both bases in one pass over the roll-up.
CREATE FUNCTION kpi_fast_both(p_unit bigint, p_year integer, p_as_of date,
                              OUT verified kpi_figures, OUT reported kpi_figures)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v bigint[];
    r bigint[];
BEGIN
    SELECT ARRAY[coalesce(sum(signing) FILTER (WHERE basis = 'verified'), 0),
                 coalesce(sum(signed) FILTER (WHERE basis = 'verified'), 0),
                 coalesce(sum(started) FILTER (WHERE basis = 'verified'), 0),
                 coalesce(sum(signed_amt) FILTER (WHERE basis = 'verified'), 0),
                 coalesce(sum(started_amt) FILTER (WHERE basis = 'verified'), 0)],
           ARRAY[coalesce(sum(signing) FILTER (WHERE basis = 'reported'), 0),
                 coalesce(sum(signed) FILTER (WHERE basis = 'reported'), 0),
                 coalesce(sum(started) FILTER (WHERE basis = 'reported'), 0),
                 coalesce(sum(signed_amt) FILTER (WHERE basis = 'reported'), 0),
                 coalesce(sum(started_amt) FILTER (WHERE basis = 'reported'), 0)]
      INTO v, r
      FROM kpi_rollup
     WHERE unit_id = p_unit AND basis IN ('verified', 'reported') AND year = p_year AND day <= p_as_of;
    verified := ROW(v[1], v[2], v[3], v[4], v[5]);
    reported := ROW(r[1], r[2], r[3], r[4], r[5]);
END
$$;

-- The reference: the same figures computed from the raw rows, straight from
-- the definitions of DESIGN.md section 5. Slow; kept for the tests.
CREATE FUNCTION kpi_reference(p_unit bigint, p_year integer, p_as_of date, p_basis text DEFAULT 'verified')
RETURNS kpi_figures LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH cutoff AS (SELECT kpi_cutoff(p_as_of) AS t),
    placed AS (   -- the unit each project belonged to then
        SELECT DISTINCT ON (pl.project_id) pl.project_id, pl.unit_path
          FROM project_placement pl, cutoff
         WHERE pl.valid_from < cutoff.t
         ORDER BY pl.project_id, pl.valid_from DESC),
    mine AS (SELECT project_id FROM placed WHERE unit_path @> ARRAY[p_unit]),
    counting AS (  -- the claims that counted then
        SELECT c.* FROM contract c JOIN mine m ON m.project_id = c.project_id, cutoff
         WHERE kpi_counts(p_basis, c.reported_at, c.verified_at, c.revoked_at, cutoff.t)),
    first_formal AS (
        SELECT DISTINCT ON (c.project_id) c.project_id, c.signed_on, c.amount_yuan
          FROM counting c WHERE c.kind = 'formal'
         ORDER BY c.project_id, c.signed_on, c.id),
    increases AS (
        SELECT coalesce(sum(c.amount_yuan), 0) AS amount
          FROM counting c JOIN first_formal f ON f.project_id = c.project_id
         WHERE c.kind = 'capital_increase' AND extract(year FROM c.signed_on) = p_year),
    signed AS (
        SELECT f.* FROM first_formal f WHERE extract(year FROM f.signed_on) = p_year),
    started AS (
        SELECT s.* FROM signed s
         WHERE EXISTS (SELECT 1 FROM project_start ps, cutoff
                        WHERE ps.project_id = s.project_id
                          AND kpi_counts(p_basis, ps.reported_at, ps.verified_at, ps.revoked_at, cutoff.t)
                          AND extract(year FROM ps.started_on) = p_year))
    SELECT ((SELECT coalesce(sum(amount_yuan), 0) FROM signed) + (SELECT amount FROM increases))::bigint,
           (SELECT count(*) FROM signed)::integer, (SELECT count(*) FROM started)::integer,
           (SELECT coalesce(sum(amount_yuan), 0) FROM signed)::bigint,
           (SELECT coalesce(sum(amount_yuan), 0) FROM started)::bigint
$$;

REVOKE EXECUTE ON FUNCTION kpi_levels(bigint[]), kpi_deltas(bigint[]), kpi_refresh(bigint[]), kpi_rebuild(),
    kpi_fast(bigint, integer, date, text), kpi_fast_both(bigint, integer, date), kpi_reference(bigint, integer, date, text),
    unit_target(bigint, integer) FROM PUBLIC;

-- ---- the figures around the counts ----

-- The date figures are taken as of: the one asked for, else today (all that
-- is known now, also of a past year).
CREATE FUNCTION kpi_as_of(p_year integer, p_as_of date) RETURNS date LANGUAGE sql STABLE AS
$$ SELECT coalesce(p_as_of, crm_today()) $$;

CREATE FUNCTION kpi_days_in_year(p_year integer) RETURNS integer LANGUAGE sql IMMUTABLE AS
$$ SELECT (make_date(p_year + 1, 1, 1) - make_date(p_year, 1, 1)) $$;

-- Days of the year elapsed on p_on, counting p_on itself (0 before the year,
-- all of them after it).
CREATE FUNCTION kpi_days_elapsed(p_year integer, p_on date) RETURNS integer LANGUAGE sql IMMUTABLE AS
$$ SELECT greatest(0, least(kpi_days_in_year(p_year), p_on - make_date(p_year, 1, 1) + 1)) $$;

-- 序时进度: day of year of p_on / days in the year.
CREATE FUNCTION kpi_time_progress(p_year integer, p_on date) RETURNS numeric LANGUAGE sql IMMUTABLE AS
$$ SELECT kpi_days_elapsed(p_year, p_on)::numeric / kpi_days_in_year(p_year) $$;

-- The fewest further same-year starts that lift started/signed to the rate.
CREATE FUNCTION kpi_needed_starts(p_signed integer, p_started integer, p_rate numeric)
RETURNS integer LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN p_rate IS NULL THEN NULL
               ELSE greatest(0, ceil(p_rate * p_signed - p_started))::integer END $$;

-- The open pipeline expected to sign in the year, each project at its
-- stage's probability; the forecast adds the verified signing as of the date.
CREATE FUNCTION kpi_pipeline_yuan(p_unit bigint, p_year integer) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    amount bigint;
BEGIN
    SELECT coalesce(floor(sum(k.amount_yuan * coalesce((s.value ->> k.stage)::numeric, 0))), 0)
      INTO amount
      FROM kpi_pipeline k, setting s
     WHERE s.key = 'forecast_probability' AND k.unit_id = p_unit AND k.year = p_year;
    RETURN amount;
END
$$;
CREATE FUNCTION kpi_forecast(p_unit bigint, p_year integer, p_as_of date) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (kpi_fast(p_unit, p_year, p_as_of)).signing_amount_yuan + kpi_pipeline_yuan(p_unit, p_year);
END
$$;
REVOKE EXECUTE ON FUNCTION kpi_forecast(bigint, integer, date), kpi_pipeline_yuan(bigint, integer) FROM PUBLIC;

-- ---- scope of the figures ----

-- The caller's county: the nearest county at or above their unit, or their
-- unit itself when it is above any county (a city or province deployment).
CREATE FUNCTION crm_caller_county() RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    county bigint;
BEGIN
    SELECT a.id INTO county
      FROM unit me, unit a
     WHERE me.id = crm_caller_unit() AND a.id = ANY (me.path) AND a.kind = 'county'
     ORDER BY array_position(me.path, a.id) DESC LIMIT 1;
    RETURN coalesce(county, crm_caller_unit());
END
$$;

-- Whose figures the caller may see: their subtree, and the totals of their
-- county (a township sees where the county stands).
CREATE FUNCTION kpi_visible(p_unit bigint) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
DECLARE
    me bigint := crm_caller_unit();
    path bigint[];
BEGIN
    IF me IS NULL THEN
        RETURN false;
    END IF;
    SELECT u.path INTO path FROM unit u WHERE u.id = p_unit;
    RETURN path @> ARRAY[me] OR p_unit = crm_caller_county();
END
$$;

CREATE FUNCTION unit_brief(p_unit bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    j jsonb;
BEGIN
    SELECT jsonb_build_object('id', u.id, 'code', u.code, 'name', u.name, 'kind', u.kind,
                              'parent_id', u.parent_id)
      INTO j FROM unit u WHERE u.id = p_unit;
    RETURN j;
END
$$;

CREATE FUNCTION target_json(t target) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN t.unit_id IS NULL THEN NULL ELSE jsonb_build_object(
        'unit_id', t.unit_id, 'parent_unit_id', t.parent_unit_id,
        'signing_amount_yuan', t.signing_amount_yuan, 'signed_count', t.signed_count,
        'start_rate', t.start_rate, 'set_by', t.set_by, 'set_at', t.set_at, 'version', t.version) END
$$;

-- The figures of one unit as JSON: counts, rates, progress against the
-- target and against time.
CREATE FUNCTION kpi_json(p_unit bigint, p_year integer, p_as_of date) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fig record;
    v kpi_figures;
    r kpi_figures;
    t target := unit_target(p_unit, p_year);
    elapsed integer := kpi_days_elapsed(p_year, p_as_of);
    days integer := kpi_days_in_year(p_year);
    forecast bigint;
BEGIN
    fig := kpi_fast_both(p_unit, p_year, p_as_of);
    v := fig.verified;
    r := fig.reported;
    forecast := v.signing_amount_yuan + kpi_pipeline_yuan(p_unit, p_year);
    RETURN jsonb_build_object(
        'unit', unit_brief(p_unit), 'year', p_year, 'as_of', p_as_of,
        'time_progress', round(elapsed::numeric / days, 6),
        'target', target_json(t),
        'verified', kpi_figures_json(v) || jsonb_build_object(
            'signing_progress', CASE WHEN t.signing_amount_yuan > 0
                                     THEN round(v.signing_amount_yuan::numeric / t.signing_amount_yuan, 6) END,
            'signed_count_progress', CASE WHEN t.signed_count > 0
                                          THEN round(v.signed_count::numeric / t.signed_count, 6) END,
            -- behind: signing / target < elapsed / days, compared exactly
            'behind', CASE WHEN t.signing_amount_yuan > 0
                           THEN v.signing_amount_yuan::numeric * days < t.signing_amount_yuan::numeric * elapsed END,
            'start_rate_met', CASE WHEN t.unit_id IS NOT NULL AND v.signed_count > 0
                                   THEN v.started_count >= t.start_rate * v.signed_count END,
            'signing_gap_yuan', CASE WHEN t.unit_id IS NOT NULL
                                     THEN greatest(0, t.signing_amount_yuan - v.signing_amount_yuan) END,
            'needed_starts', kpi_needed_starts(v.signed_count, v.started_count, t.start_rate)),
        'reported', kpi_figures_json(r),
        'forecast_yuan', forecast,
        'forecast_under_target', CASE WHEN t.unit_id IS NOT NULL THEN forecast < t.signing_amount_yuan END);
END
$$;

CREATE FUNCTION kpi_figures_json(f kpi_figures) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'signing_amount_yuan', f.signing_amount_yuan, 'signed_count', f.signed_count,
        'started_count', f.started_count, 'signed_amount_yuan', f.signed_amount_yuan,
        'started_amount_yuan', f.started_amount_yuan,
        'start_rate', CASE WHEN f.signed_count > 0 THEN round(f.started_count::numeric / f.signed_count, 6) END,
        'start_rate_by_amount', CASE WHEN f.signed_amount_yuan > 0
                                     THEN round(f.started_amount_yuan::numeric / f.signed_amount_yuan, 6) END)
$$;

-- GET /stats/units/{id}
CREATE FUNCTION stats_unit(p_unit bigint, p_year integer, p_as_of date) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT kpi_visible(p_unit) THEN
        RAISE EXCEPTION 'no such unit' USING ERRCODE = 'CR404';
    END IF;
    RETURN kpi_json(p_unit, p_year, kpi_as_of(p_year, p_as_of));
END
$$;

-- GET /stats/ranking: the children of a unit (by default the caller's
-- county) ranked by signing progress, then same-year start rate.
CREATE FUNCTION stats_ranking(p_year integer, p_parent bigint, p_as_of date) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    parent bigint := coalesce(p_parent, crm_caller_county());
    as_of date := kpi_as_of(p_year, p_as_of);
BEGIN
    IF NOT kpi_visible(parent) THEN
        RAISE EXCEPTION 'no such unit' USING ERRCODE = 'CR404';
    END IF;
    RETURN (
        WITH rows AS (
            SELECT u.id, kpi_json(u.id, p_year, as_of) AS j FROM unit u WHERE u.parent_id = parent),
        ranked AS (
            SELECT r.id, r.j, rank() OVER (
                ORDER BY (r.j -> 'verified' ->> 'signing_progress')::numeric DESC NULLS LAST,
                         (r.j -> 'verified' ->> 'start_rate')::numeric DESC NULLS LAST) AS rank
              FROM rows r)
        SELECT jsonb_build_object(
            'year', p_year, 'as_of', as_of, 'time_progress', round(kpi_time_progress(p_year, as_of), 6),
            'parent', kpi_json(parent, p_year, as_of),
            'units', coalesce(jsonb_agg(jsonb_build_object(
                'unit', k.j -> 'unit', 'target', k.j -> 'target',
                'signing_amount_yuan', k.j -> 'verified' -> 'signing_amount_yuan',
                'signed_count', k.j -> 'verified' -> 'signed_count',
                'started_count', k.j -> 'verified' -> 'started_count',
                'start_rate', k.j -> 'verified' -> 'start_rate',
                'signing_progress', k.j -> 'verified' -> 'signing_progress',
                'behind', k.j -> 'verified' -> 'behind',
                'reported_signing_amount_yuan', k.j -> 'reported' -> 'signing_amount_yuan',
                'rank', k.rank) ORDER BY k.rank, k.id), '[]'))
          FROM ranked k);
END
$$;

-- ---- targets and quotas: read and replace ----

CREATE FUNCTION target_row_json(t target) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT target_json(t) || jsonb_build_object('unit_name', (SELECT name FROM unit WHERE id = t.unit_id))
$$;

-- Targets: those of units in the caller's subtree and of units above it
-- (a township sees the county's target).
CREATE FUNCTION target_visible(t target) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT crm_in_scope(t.unit_path)
        OR t.unit_id = ANY (crm_unit_path(crm_caller_unit()))
        OR t.parent_unit_id = ANY (crm_unit_path(crm_caller_unit()))
$$;

CREATE FUNCTION targets_get(p_year integer) RETURNS jsonb LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT jsonb_build_object('year', p_year, 'targets', coalesce(jsonb_agg(target_row_json(t)
                                  ORDER BY array_length(t.unit_path, 1), t.unit_id), '[]'))
      FROM target t
     WHERE t.year = p_year AND t.parent_unit_id IS NULL AND target_visible(t)
$$;

CREATE FUNCTION quotas_get(p_year integer, p_parent bigint) RETURNS jsonb LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT jsonb_build_object('year', p_year, 'parent_unit_id', p_parent,
                              'quotas', coalesce(jsonb_agg(target_row_json(t)
                                  ORDER BY array_length(t.unit_path, 1), t.unit_id), '[]'))
      FROM target t
     WHERE t.year = p_year AND t.parent_unit_id IS NOT NULL
       AND (p_parent IS NULL OR t.parent_unit_id = p_parent) AND target_visible(t)
$$;

-- The three figures of a target or quota from JSON, checked; errors name
-- the field (prefix || name).
CREATE FUNCTION target_figures(j jsonb, prefix text,
                               OUT amount bigint, OUT cnt integer, OUT rate numeric)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v jsonb;
BEGIN
    IF jsonb_typeof(j) IS DISTINCT FROM 'object' THEN
        RAISE check_violation USING MESSAGE = 'must be an object', COLUMN = rtrim(prefix, '.');
    END IF;
    v := j -> 'signing_amount_yuan';
    IF jsonb_typeof(v) IS DISTINCT FROM 'number' OR v::text::numeric <> trunc(v::text::numeric)
       OR v::text::numeric < 0 OR v::text::numeric > 9000000000000000 THEN
        RAISE check_violation USING MESSAGE = 'must be a whole number of yuan, 0 or more',
              COLUMN = prefix || 'signing_amount_yuan';
    END IF;
    amount := v::text::numeric;
    v := j -> 'signed_count';
    IF jsonb_typeof(v) IS DISTINCT FROM 'number' OR v::text::numeric <> trunc(v::text::numeric)
       OR v::text::numeric < 0 OR v::text::numeric > 1000000000 THEN
        RAISE check_violation USING MESSAGE = 'must be a whole number, 0 or more',
              COLUMN = prefix || 'signed_count';
    END IF;
    cnt := v::text::numeric;
    v := j -> 'start_rate';
    IF jsonb_typeof(v) IS DISTINCT FROM 'number' OR v::text::numeric < 0 OR v::text::numeric > 1
       OR round(v::text::numeric, 4) <> round(v::text::numeric, 12) THEN
        RAISE check_violation USING MESSAGE = 'must be a fraction from 0 to 1 with at most 4 decimals',
              COLUMN = prefix || 'start_rate';
    END IF;
    rate := round(v::text::numeric, 4);
END
$$;

-- Whether the quotas under a unit cover its target: amounts, counts, and
-- the starts the rates imply. Names the first figure that falls short.
CREATE FUNCTION quotas_shortfall(p_unit bigint, p_year integer) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN q.n = 0 THEN NULL
                WHEN q.amount < t.signing_amount_yuan THEN 'signing_amount_yuan'
                WHEN q.cnt < t.signed_count THEN 'signed_count'
                WHEN q.starts < t.signed_count * t.start_rate THEN 'start_rate' END
      FROM target t,
           LATERAL (SELECT count(*) AS n, coalesce(sum(c.signing_amount_yuan), 0) AS amount,
                           coalesce(sum(c.signed_count), 0) AS cnt,
                           coalesce(sum(c.signed_count * c.start_rate), 0) AS starts
                      FROM target c WHERE c.parent_unit_id = t.unit_id AND c.year = t.year) q
     WHERE t.unit_id = p_unit AND t.year = p_year
$$;

-- Sets one unit's target (p_parent NULL) or quota from its JSON item, and
-- checks that the quotas already under it still cover it. Errors name the
-- field as prefix || name.
CREATE FUNCTION target_set(p_unit bigint, p_year integer, p_parent bigint, p_item jsonb, p_prefix text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    f record := target_figures(p_item, p_prefix);
    short text;
BEGIN
    INSERT INTO target AS t (unit_id, year, parent_unit_id, signing_amount_yuan, signed_count, start_rate, set_by)
    VALUES (p_unit, p_year, p_parent, f.amount, f.cnt, f.rate, crm_caller_user())
    ON CONFLICT (unit_id, year) DO UPDATE
       SET signing_amount_yuan = EXCLUDED.signing_amount_yuan, signed_count = EXCLUDED.signed_count,
           start_rate = EXCLUDED.start_rate, set_by = EXCLUDED.set_by, set_at = now(),
           version = t.version + 1
     WHERE (t.signing_amount_yuan, t.signed_count, t.start_rate)
           IS DISTINCT FROM (EXCLUDED.signing_amount_yuan, EXCLUDED.signed_count, EXCLUDED.start_rate);
    short := quotas_shortfall(p_unit, p_year);
    IF short IS NOT NULL THEN
        RAISE check_violation USING MESSAGE = 'the quotas under this unit do not cover it; change them first',
              COLUMN = p_prefix || short;
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION target_set(bigint, integer, bigint, jsonb, text) FROM PUBLIC;

-- PUT /targets/{year}: {"targets": [{unit_id, signing_amount_yuan,
-- signed_count, start_rate}]} replaces the year's targets in the caller's
-- subtree; a target dropped takes its quotas with it.
CREATE FUNCTION targets_put(p_year integer, p_body jsonb) RETURNS jsonb LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    items jsonb := p_body -> 'targets';
    item jsonb;
    i integer := 0;
    unit_ids bigint[] := '{}';
    uid bigint;
BEGIN
    IF crm_caller_role() IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION 'only administrators set targets' USING ERRCODE = 'CR403';
    END IF;
    IF jsonb_typeof(items) IS DISTINCT FROM 'array' THEN
        RAISE check_violation USING MESSAGE = 'must be an array of targets', COLUMN = 'targets';
    END IF;
    FOR item IN SELECT e FROM jsonb_array_elements(items) e LOOP
        IF jsonb_typeof(item -> 'unit_id') IS DISTINCT FROM 'number' OR NOT crm_unit_in_scope(
               CASE WHEN (item ->> 'unit_id') ~ '^[0-9]{1,18}$' THEN (item ->> 'unit_id')::bigint END) THEN
            RAISE check_violation USING MESSAGE = 'no such unit in your scope',
                  COLUMN = format('targets[%s].unit_id', i);
        END IF;
        uid := (item ->> 'unit_id')::bigint;
        IF uid = ANY (unit_ids) THEN
            RAISE check_violation USING MESSAGE = 'a unit has one target a year',
                  COLUMN = format('targets[%s].unit_id', i);
        END IF;
        IF EXISTS (SELECT 1 FROM target t WHERE t.unit_id = uid AND t.year = p_year
                                            AND t.parent_unit_id IS NOT NULL) THEN
            RAISE check_violation USING MESSAGE = 'this unit has a quota from its parent this year',
                  COLUMN = format('targets[%s].unit_id', i);
        END IF;
        unit_ids := unit_ids || uid;
        PERFORM target_set(uid, p_year, NULL, item, format('targets[%s].', i));
        i := i + 1;
    END LOOP;
    DELETE FROM target t
     WHERE t.year = p_year AND t.parent_unit_id IS NULL AND crm_in_scope(t.unit_path)
       AND NOT t.unit_id = ANY (unit_ids);
    RETURN targets_get(p_year);
END
$$;

-- PUT /targets/{year}/quotas: {"parent_unit_id": P, "quotas": [...]}
-- replaces the quotas of P's children, which must cover P's target.
CREATE FUNCTION quotas_put(p_year integer, p_body jsonb) RETURNS jsonb LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    items jsonb := p_body -> 'quotas';
    item jsonb;
    i integer := 0;
    parent bigint;
    unit_ids bigint[] := '{}';
    uid bigint;
    short text;
BEGIN
    IF crm_caller_role() IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION 'only administrators set quotas' USING ERRCODE = 'CR403';
    END IF;
    IF jsonb_typeof(p_body -> 'parent_unit_id') IS DISTINCT FROM 'number'
       OR (p_body ->> 'parent_unit_id') !~ '^[0-9]{1,18}$'
       OR NOT crm_unit_in_scope((p_body ->> 'parent_unit_id')::bigint) THEN
        RAISE check_violation USING MESSAGE = 'no such unit in your scope', COLUMN = 'parent_unit_id';
    END IF;
    parent := (p_body ->> 'parent_unit_id')::bigint;
    IF NOT EXISTS (SELECT 1 FROM target WHERE unit_id = parent AND year = p_year) THEN
        RAISE check_violation USING MESSAGE = format('this unit has no target or quota for %s to divide', p_year),
              COLUMN = 'parent_unit_id';
    END IF;
    IF jsonb_typeof(items) IS DISTINCT FROM 'array' THEN
        RAISE check_violation USING MESSAGE = 'must be an array of quotas', COLUMN = 'quotas';
    END IF;
    FOR item IN SELECT e FROM jsonb_array_elements(items) e LOOP
        IF jsonb_typeof(item -> 'unit_id') IS DISTINCT FROM 'number'
           OR (item ->> 'unit_id') !~ '^[0-9]{1,18}$'
           OR NOT EXISTS (SELECT 1 FROM unit u WHERE u.id = (item ->> 'unit_id')::bigint AND u.parent_id = parent) THEN
            RAISE check_violation USING MESSAGE = 'must be a unit directly under parent_unit_id',
                  COLUMN = format('quotas[%s].unit_id', i);
        END IF;
        uid := (item ->> 'unit_id')::bigint;
        IF uid = ANY (unit_ids) THEN
            RAISE check_violation USING MESSAGE = 'a unit has one quota a year',
                  COLUMN = format('quotas[%s].unit_id', i);
        END IF;
        IF EXISTS (SELECT 1 FROM target t WHERE t.unit_id = uid AND t.year = p_year
                                            AND t.parent_unit_id IS NULL) THEN
            RAISE check_violation USING MESSAGE = 'this unit has a target of its own this year',
                  COLUMN = format('quotas[%s].unit_id', i);
        END IF;
        unit_ids := unit_ids || uid;
        PERFORM target_set(uid, p_year, parent, item, format('quotas[%s].', i));
        i := i + 1;
    END LOOP;
    DELETE FROM target t WHERE t.year = p_year AND t.parent_unit_id = parent AND NOT t.unit_id = ANY (unit_ids);
    short := quotas_shortfall(parent, p_year);
    IF short IS NOT NULL THEN
        RAISE check_violation USING MESSAGE = format('the quotas do not cover the parent''s %s', short),
              COLUMN = 'quotas';
    END IF;
    RETURN quotas_get(p_year, parent);
END
$$;

-- The board `crm serve --demo` prints: each target of the year against its
-- figures, and the quotas under it by rank. Owner only (no scope).
CREATE FUNCTION kpi_board(p_year integer) RETURNS SETOF text LANGUAGE plpgsql STABLE AS $$
DECLARE
    t target;
    c record;
    v kpi_figures;
    as_of date := crm_today();
BEGIN
    FOR t IN SELECT * FROM target WHERE year = p_year AND parent_unit_id IS NULL ORDER BY unit_id LOOP
        v := kpi_fast(t.unit_id, p_year, as_of);
        RETURN NEXT format('%s %s (as of %s): signed ¥%s亿 of ¥%s亿 (%s%%), %s projects, same-year start rate %s (target %s%%)',
            (SELECT name FROM unit WHERE id = t.unit_id), p_year, as_of,
            round(v.signing_amount_yuan / 1e8, 2), round(t.signing_amount_yuan / 1e8, 2),
            CASE WHEN t.signing_amount_yuan > 0 THEN round(100.0 * v.signing_amount_yuan / t.signing_amount_yuan, 1) END,
            v.signed_count,
            CASE WHEN v.signed_count > 0
                 THEN format('%s/%s = %s%%', v.started_count, v.signed_count,
                             round(100.0 * v.started_count / v.signed_count, 1)) ELSE 'n/a' END,
            round(100 * t.start_rate, 1));
        FOR c IN
            SELECT u.name, q.signing_amount_yuan AS quota, q.start_rate, f.signing_amount_yuan AS actual,
                   f.signed_count, f.started_count,
                   rank() OVER (ORDER BY f.signing_amount_yuan::numeric / nullif(q.signing_amount_yuan, 0) DESC NULLS LAST)
              FROM target q JOIN unit u ON u.id = q.unit_id,
                   LATERAL kpi_fast(q.unit_id, p_year, as_of) f
             WHERE q.parent_unit_id = t.unit_id AND q.year = p_year
             ORDER BY 7, u.id
        LOOP
            RETURN NEXT format('  #%s %s: ¥%s亿 of ¥%s亿 (%s%%), started %s/%s',
                c.rank, c.name, round(c.actual / 1e8, 2), round(c.quota / 1e8, 2),
                CASE WHEN c.quota > 0 THEN round(100.0 * c.actual / c.quota, 1) END,
                c.started_count, c.signed_count);
        END LOOP;
    END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION kpi_board(integer) FROM PUBLIC;

-- The pieces above run only inside the SECURITY DEFINER entry points
-- (stats_unit, stats_ranking, targets_*, quotas_*, and those of 0007): as
-- the owner, without a definer switch of their own at every call.
REVOKE EXECUTE ON FUNCTION kpi_fast_both(bigint, integer, date), kpi_pipeline_yuan(bigint, integer),
    unit_brief(bigint), kpi_json(bigint, integer, date), kpi_visible(bigint), crm_caller_county(),
    target_row_json(target), target_visible(target), quotas_shortfall(bigint, integer) FROM PUBLIC;
