-- Scores, month-end snapshots, alerts and the township scorecard (issue 5,
-- DESIGN.md section 5), on top of the KPI engine of 0006_kpi.sql (kpi_fast,
-- unit_target, stats_unit, stats_ranking...):
--
-- - projects carry expected_sign_on (added by 0006) through the API;
-- - a revocation can say the claim was falsified (revoke_falsified), which
--   costs the unit points;
-- - score rules per year (weights, caps, deductions), validated by the table;
-- - unit_score: weighted, capped completion of the signing amount and of the
--   same-year start rate, minus deductions, as of any date;
-- - score_snapshot: month-end scores frozen by the assessment office (viewer)
--   or an admin, append-only even for the owner;
-- - alerts_page: the alerts of DESIGN.md section 5, keyset-paged;
-- - unit_scorecard: what a township head opens.
--
-- Functions that read across the caller's scope (siblings' scores for a rank,
-- figures from the roll-ups) are SECURITY DEFINER with the scope checked
-- explicitly; their building blocks are not executable by the app role.

-- ---- projects: expected_sign_on ----

CREATE OR REPLACE FUNCTION project_json(p project) RETURNS jsonb LANGUAGE sql STABLE AS $$
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
        'expected_sign_on', p.expected_sign_on,
        'stage', p.stage, 'stalled_from', p.stalled_from, 'terminated_reason', p.terminated_reason,
        'signed_on', p.signed_on, 'started_on', p.started_on, 'production_on', p.production_on,
        'capacity_on', p.capacity_on, 'last_progress_at', p.last_progress_at,
        'created_at', p.created_at, 'updated_at', p.updated_at, 'version', p.version)
$$;

CREATE OR REPLACE FUNCTION projects_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    p project;
BEGIN
    INSERT INTO project (code, name, unit_id, investor_id, leader_id, industry_chain, park,
                         planned_investment_yuan, is_key, five_one, plan, planned_start_on,
                         expected_sign_on, stage, created_by)
    VALUES (b ->> 'code', b ->> 'name', (b ->> 'unit_id')::bigint, (b ->> 'investor_id')::bigint,
            (b ->> 'leader_id')::bigint, coalesce(b ->> 'industry_chain', ''),
            coalesce(b ->> 'park', ''), (b ->> 'planned_investment_yuan')::bigint,
            coalesce((b ->> 'is_key')::boolean, false), coalesce(b -> 'five_one', '{}'),
            coalesce(b ->> 'plan', ''), (b ->> 'planned_start_on')::date,
            (b ->> 'expected_sign_on')::date,
            coalesce(b ->> 'stage', 'lead'), crm_caller_user())
    RETURNING * INTO p;
    RETURN project_json(p)::text;
END
$$;

CREATE OR REPLACE FUNCTION projects_update(p_id bigint, p_version integer, b jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    p project;
BEGIN
    UPDATE project SET
        name = CASE WHEN b ? 'name' THEN b ->> 'name' ELSE name END,
        unit_id = CASE WHEN b ? 'unit_id' THEN (b ->> 'unit_id')::bigint ELSE unit_id END,
        investor_id = CASE WHEN b ? 'investor_id' THEN (b ->> 'investor_id')::bigint ELSE investor_id END,
        leader_id = CASE WHEN b ? 'leader_id' THEN (b ->> 'leader_id')::bigint ELSE leader_id END,
        industry_chain = CASE WHEN b ? 'industry_chain' THEN b ->> 'industry_chain' ELSE industry_chain END,
        park = CASE WHEN b ? 'park' THEN b ->> 'park' ELSE park END,
        planned_investment_yuan = CASE WHEN b ? 'planned_investment_yuan'
                                       THEN (b ->> 'planned_investment_yuan')::bigint
                                       ELSE planned_investment_yuan END,
        is_key = CASE WHEN b ? 'is_key' THEN (b ->> 'is_key')::boolean ELSE is_key END,
        five_one = CASE WHEN b ? 'five_one' THEN b -> 'five_one' ELSE five_one END,
        plan = CASE WHEN b ? 'plan' THEN b ->> 'plan' ELSE plan END,
        planned_start_on = CASE WHEN b ? 'planned_start_on' THEN (b ->> 'planned_start_on')::date
                                ELSE planned_start_on END,
        expected_sign_on = CASE WHEN b ? 'expected_sign_on' THEN (b ->> 'expected_sign_on')::date
                                ELSE expected_sign_on END
     WHERE id = p_id AND version = p_version
    RETURNING * INTO p;
    RETURN CASE WHEN FOUND THEN project_json(p)::text END;
END
$$;

-- The open pipeline expected to sign in a year (the scorecard's "close the gap").
CREATE INDEX project_expected_sign ON project (expected_sign_on)
    WHERE stage IN ('lead', 'negotiating');

-- ---- falsified claims ----

-- A revocation may say the claim was falsified (虚报): it then costs the
-- unit points (falsified_deduction). Only a revoked claim is falsified, and
-- the flag is set in the same UPDATE as the revocation (claim_rules lets a
-- verified claim change only its revocation columns).
ALTER TABLE contract ADD COLUMN revoke_falsified boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT contract_falsified_revoked CHECK (NOT revoke_falsified OR revoked_at IS NOT NULL);
ALTER TABLE project_start ADD COLUMN revoke_falsified boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT start_falsified_revoked CHECK (NOT revoke_falsified OR revoked_at IS NOT NULL);
CREATE INDEX contract_falsified ON contract (signed_on) WHERE revoke_falsified;
CREATE INDEX project_start_falsified ON project_start (started_on) WHERE revoke_falsified;
-- The formal contracts of a year: who signed in it (scores, alerts, scorecards).
CREATE INDEX contract_formal_signed_on ON contract (signed_on, project_id) WHERE kind = 'formal';

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

-- claim_revoke of 0004 with the falsified flag (a new last parameter, so
-- the old function goes: an overload would make two-argument calls ambiguous).
DROP FUNCTION contract_revoke(bigint, text);
DROP FUNCTION start_revoke(bigint, text);
DROP FUNCTION claim_revoke(regclass, bigint, text);

CREATE FUNCTION claim_revoke(tbl regclass, p_id bigint, p_reason text, p_falsified boolean DEFAULT false)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    j jsonb;
BEGIN
    EXECUTE format('SELECT claim_state(verified_at, revoked_at) FROM %s WHERE id = $1', tbl)
       INTO state USING p_id;
    IF state IS NULL THEN RETURN NULL; END IF;
    IF state = 'revoked' THEN
        RAISE check_violation USING MESSAGE = 'the claim is already revoked';
    END IF;
    EXECUTE format('UPDATE %s t SET revoked_at = now(), revoked_by = crm_caller_user(), revoke_reason = $2, '
                   'revoke_falsified = $3 WHERE id = $1 RETURNING %s(t)',
                   tbl, CASE WHEN tbl = 'contract'::regclass THEN 'contract_json' ELSE 'start_json' END)
       INTO j USING p_id, p_reason, coalesce(p_falsified, false);
    RETURN j::text;
END
$$;

CREATE FUNCTION contract_revoke(p_id bigint, p_reason text, p_falsified boolean DEFAULT false)
RETURNS text LANGUAGE sql AS
$$ SELECT claim_revoke('contract', p_id, p_reason, p_falsified) $$;

CREATE FUNCTION start_revoke(p_id bigint, p_reason text, p_falsified boolean DEFAULT false)
RETURNS text LANGUAGE sql AS
$$ SELECT claim_revoke('project_start', p_id, p_reason, p_falsified) $$;

-- ---- score rules ----

-- The rules used for a year without its own row.
CREATE FUNCTION score_rules_default() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT '{"signing_weight": 60, "start_rate_weight": 40, "signing_cap": 1.0, "start_rate_cap": 1.0,
             "overdue_deduction": 0.1, "falsified_deduction": 0.2}'::jsonb
$$;

-- The first thing wrong with a set of rules (field, message), or no row:
-- known keys only, numbers, weights 0..1000, caps over 0 up to 10,
-- deductions 0..100. A partial set is fine (the defaults fill it).
CREATE FUNCTION score_rules_problem(p_rules jsonb, OUT field text, OUT message text)
RETURNS SETOF record LANGUAGE sql IMMUTABLE AS $$
    SELECT q.field, q.message FROM (
        SELECT 0 AS ord, '' AS field, 'must be an object of score rules' AS message
         WHERE jsonb_typeof(p_rules) IS DISTINCT FROM 'object'
        UNION ALL
        SELECT 1, e.key,
               CASE WHEN NOT score_rules_default() ? e.key THEN 'is not a score rule'
                    WHEN jsonb_typeof(e.value) <> 'number' THEN 'must be a number'
                    WHEN e.key LIKE '%\_cap' AND e.value::text::numeric <= 0 THEN 'must be greater than 0'
                    WHEN e.value::text::numeric < 0 THEN 'must not be negative'
                    WHEN e.key LIKE '%\_weight' AND e.value::text::numeric > 1000 THEN 'must be at most 1000'
                    WHEN e.key LIKE '%\_cap' AND e.value::text::numeric > 10 THEN 'must be at most 10'
                    WHEN e.key LIKE '%\_deduction' AND e.value::text::numeric > 100 THEN 'must be at most 100'
               END
          FROM jsonb_each(CASE WHEN jsonb_typeof(p_rules) = 'object' THEN p_rules ELSE '{}' END) e) q
     WHERE q.message IS NOT NULL
     ORDER BY q.ord, q.field
     LIMIT 1
$$;

-- A complete, valid set of rules (what a score_rule row holds).
CREATE FUNCTION score_rules_valid(p_rules jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_typeof(p_rules) = 'object'
       AND p_rules ?& ARRAY(SELECT jsonb_object_keys(score_rules_default()))
       AND NOT EXISTS (SELECT 1 FROM score_rules_problem(p_rules))
$$;

CREATE TABLE score_rule (
    year    integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 2999),
    rules   jsonb NOT NULL CONSTRAINT score_rule_rules CHECK (score_rules_valid(rules)),
    set_by  bigint REFERENCES app_user (id),
    set_at  timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1
);
ALTER TABLE score_rule ENABLE ROW LEVEL SECURITY;
ALTER TABLE score_rule FORCE ROW LEVEL SECURITY;
CREATE POLICY score_rule_owner ON score_rule TO crm_owner USING (true) WITH CHECK (true);
CREATE POLICY score_rule_read ON score_rule FOR SELECT TO crm_app USING (crm_caller_user() IS NOT NULL);

-- Every version of the rules is kept in the audit log, under the unit of
-- the admin who set them (their scope sees it; a township's admin does not).
CREATE FUNCTION score_rule_audit() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO audit_log (actor_id, request_id, table_name, row_id, action, unit_id, before, after)
    VALUES (crm_caller_user(), crm_request_id(), 'score_rule',
            CASE WHEN TG_OP = 'DELETE' THEN OLD.year ELSE NEW.year END::text, lower(TG_OP), crm_caller_unit(),
            CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN NULL;
END
$$;
CREATE TRIGGER score_rule_audit AFTER INSERT OR UPDATE OR DELETE ON score_rule
    FOR EACH ROW EXECUTE FUNCTION score_rule_audit();

-- The rules in force for a year: its own, or the defaults.
CREATE FUNCTION score_rules_effective(p_year integer) RETURNS jsonb LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT score_rules_default() || coalesce((SELECT r.rules FROM score_rule r WHERE r.year = p_year), '{}')
$$;

CREATE FUNCTION score_rules_json(p_year integer) RETURNS jsonb LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT jsonb_build_object('year', p_year, 'rules', score_rules_effective(p_year),
               'is_default', r.year IS NULL, 'set_by', r.set_by,
               'set_by_name', (SELECT coalesce(nullif(u.display_name, ''), u.username)
                                 FROM app_user u WHERE u.id = r.set_by),
               'set_at', r.set_at, 'version', r.version)
      FROM (SELECT 1) one LEFT JOIN score_rule r ON r.year = p_year
$$;

-- GET /scores/rules/{year}: any caller.
CREATE FUNCTION score_rules_get(p_year integer) RETURNS jsonb LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF crm_caller_user() IS NULL THEN
        RAISE EXCEPTION 'no caller' USING ERRCODE = 'CR404';
    END IF;
    IF p_year IS NULL OR p_year NOT BETWEEN 2000 AND 2999 THEN
        RAISE check_violation USING MESSAGE = 'must be a year from 2000 to 2999', COLUMN = 'year';
    END IF;
    RETURN score_rules_json(p_year);
END
$$;

-- PUT /scores/rules/{year}: {"rules": {...}} replaces a year's rules as a
-- whole (keys left out take their default); errors name "rules.<key>". The
-- rules hold for every unit, so only an admin of a county or above sets
-- them (a township's admin gets 403).
CREATE FUNCTION score_rules_put(p_year integer, p_body jsonb) RETURNS jsonb LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_rules jsonb := CASE WHEN jsonb_typeof(p_body) = 'object' THEN p_body -> 'rules' END;
    bad record;
BEGIN
    IF crm_caller_role() IS DISTINCT FROM 'admin' OR NOT EXISTS (
        SELECT 1 FROM unit u WHERE u.id = crm_caller_unit() AND u.kind IN ('province', 'city', 'county')) THEN
        RAISE EXCEPTION 'only an administrator of a county or above sets score rules' USING ERRCODE = 'CR403';
    END IF;
    IF p_year IS NULL OR p_year NOT BETWEEN 2000 AND 2999 THEN
        RAISE check_violation USING MESSAGE = 'must be a year from 2000 to 2999', COLUMN = 'year';
    END IF;
    SELECT * INTO bad FROM score_rules_problem(v_rules);
    IF FOUND THEN
        RAISE check_violation USING MESSAGE = bad.message,
              COLUMN = CASE WHEN bad.field = '' THEN 'rules' ELSE 'rules.' || bad.field END;
    END IF;
    INSERT INTO score_rule AS r (year, rules, set_by)
    VALUES (p_year, score_rules_default() || v_rules, crm_caller_user())
    ON CONFLICT (year) DO UPDATE SET rules = EXCLUDED.rules, set_by = EXCLUDED.set_by, set_at = now(),
                                     version = r.version + 1;
    RETURN score_rules_json(p_year);
END
$$;

-- ---- building blocks (owner only) ----

-- Projects that moved (a placement after their first): the only ones that
-- can have been under a unit they are not under now.
CREATE INDEX project_placement_moved ON project_placement (project_id) WHERE valid_from > '-infinity';
-- A project's start claims (signed-not-started, here and in the KPI engine).
CREATE INDEX project_start_project ON project_start (project_id);

-- The unit path a project counted toward at an instant (its placement then,
-- as the KPI roll-ups count it).
CREATE FUNCTION score_placement(p_project bigint, p_cutoff timestamptz) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT pp.unit_path FROM project_placement pp
     WHERE pp.project_id = p_project AND pp.valid_from < p_cutoff
     ORDER BY pp.valid_from DESC LIMIT 1
$$;

-- The projects of p_root's subtree signed in p_year as known at p_cutoff:
-- their first counting formal contract (the earliest by date, then id) is
-- dated in the year. started: a counting start exists at the cutoff;
-- start_reported: a live start claim (reported, not revoked) exists then.
-- p_historic: the subtree and unit_path by each project's placement at the
-- cutoff (the score, like the KPIs: candidates are the projects under
-- p_root now and those that ever moved), else by its current unit (alerts,
-- lists).
CREATE FUNCTION score_signed_projects(p_root bigint, p_year integer, p_cutoff timestamptz,
                                      p_historic boolean)
RETURNS TABLE (project_id bigint, unit_path bigint[], signed_on date, amount_yuan bigint, started boolean,
               start_reported boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    y0 date := make_date(p_year, 1, 1);
    y1 date := make_date(p_year + 1, 1, 1);
BEGIN
    RETURN QUERY
    WITH moved AS (
        SELECT DISTINCT pp.project_id FROM project_placement pp
         WHERE p_historic AND pp.valid_from > '-infinity'),
    candidate AS (
        -- Never moved: where it is now is where it always was.
        SELECT c.id, c.project_id, c.signed_on, c.amount_yuan, c.verified_at, c.revoked_at, c.unit_path AS path
          FROM contract c
         WHERE c.kind = 'formal' AND c.signed_on >= y0 AND c.signed_on < y1 AND c.unit_path @> ARRAY[p_root]
           AND c.project_id NOT IN (SELECT m.project_id FROM moved m)
        UNION ALL
        SELECT c.id, c.project_id, c.signed_on, c.amount_yuan, c.verified_at, c.revoked_at,
               (SELECT pp.unit_path FROM project_placement pp
                 WHERE pp.project_id = c.project_id AND pp.valid_from < p_cutoff
                 ORDER BY pp.valid_from DESC LIMIT 1)
          FROM contract c
         WHERE c.kind = 'formal' AND c.signed_on >= y0 AND c.signed_on < y1
           AND c.project_id IN (SELECT m.project_id FROM moved m))
    SELECT k.project_id, k.path, k.signed_on, k.amount_yuan,
           EXISTS (SELECT 1 FROM project_start s WHERE s.project_id = k.project_id
                      AND claim_counts(s.verified_at, s.revoked_at, p_cutoff)),
           EXISTS (SELECT 1 FROM project_start s WHERE s.project_id = k.project_id
                      AND s.reported_at < p_cutoff AND (s.revoked_at IS NULL OR s.revoked_at >= p_cutoff))
      FROM candidate k
     WHERE k.path @> ARRAY[p_root]
       AND claim_counts(k.verified_at, k.revoked_at, p_cutoff)
       AND NOT EXISTS (SELECT 1 FROM contract o
                        WHERE o.project_id = k.project_id AND o.kind = 'formal'
                          AND claim_counts(o.verified_at, o.revoked_at, p_cutoff)
                          AND (o.signed_on, o.id) < (k.signed_on, k.id));
END
$$;

-- The deductions of every unit of p_root's subtree for p_year as of p_as_of
-- (units without any are left out), in one pass over the subtree:
--   overdue   projects signed in the year (as known then), planned to start
--             before as_of, with no counting start then;
--   falsified claims dated in the year and revoked as falsified before the
--             cutoff.
-- Each counts toward every unit of its path (its placement at the cutoff).
CREATE FUNCTION score_deductions(p_root bigint, p_year integer, p_as_of date)
RETURNS TABLE (unit_id bigint, overdue integer, falsified integer)
LANGUAGE sql STABLE AS $$
    WITH cut AS (SELECT kpi_cutoff(p_as_of) AS t),
    overdue AS (
        SELECT s.unit_path FROM cut, score_signed_projects(p_root, p_year, cut.t, true) s
          JOIN project p ON p.id = s.project_id
         WHERE NOT s.started AND p.planned_start_on < p_as_of),
    falsified AS (
        SELECT score_placement(x.project_id, cut.t) AS unit_path
          FROM cut, (SELECT c.project_id, c.revoked_at FROM contract c
                      WHERE c.revoke_falsified
                        AND c.signed_on >= make_date(p_year, 1, 1) AND c.signed_on < make_date(p_year + 1, 1, 1)
                     UNION ALL
                     SELECT s.project_id, s.revoked_at FROM project_start s
                      WHERE s.revoke_falsified
                        AND s.started_on >= make_date(p_year, 1, 1) AND s.started_on < make_date(p_year + 1, 1, 1)) x
         WHERE x.revoked_at < cut.t),
    hits AS (
        SELECT o.unit_path, 1 AS o, 0 AS f FROM overdue o
        UNION ALL
        SELECT f.unit_path, 0, 1 FROM falsified f WHERE f.unit_path @> ARRAY[p_root])
    SELECT u.unit_id, sum(h.o)::integer, sum(h.f)::integer
      FROM hits h, unnest(h.unit_path) WITH ORDINALITY u (unit_id, n)
     WHERE u.n >= array_position(h.unit_path, p_root)
     GROUP BY u.unit_id
$$;

-- Exact decimals without trailing zeros, as JSON shows them.
CREATE FUNCTION score_round(x numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS
$$ SELECT trim_scale(round(x, 4)) $$;

-- ---- the score of a unit ----

-- The score of p_unit for p_year as of p_as_of, given its deductions' counts,
-- no scope check:
--   signing    = signing_weight    * least(signing amount / target amount, signing_cap)
--   start_rate = start_rate_weight * least(start rate / target rate, start_rate_cap)
--                (a rate with nothing signed is null: 0 points; a target of 0 is met)
--   overdue    = overdue_deduction per overdue project (score_deductions)
--   falsified  = falsified_deduction per claim revoked as falsified
--   score      = greatest(0, signing + start_rate - deductions), 4 decimals
--                (each component rounded first).
-- Null score (and components) when the unit has no target or quota that year.
CREATE FUNCTION score_build(p_unit bigint, p_year integer, p_as_of date, p_overdue integer,
                            p_falsified integer) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r jsonb := score_rules_effective(p_year);
    t target := unit_target(p_unit, p_year);
    f kpi_figures := kpi_fast(p_unit, p_year, p_as_of);
    overdue_n integer := coalesce(p_overdue, 0);
    falsified_n integer := coalesce(p_falsified, 0);
    rate numeric;
    sign_ratio numeric;
    rate_ratio numeric;
    sign_pts numeric;
    rate_pts numeric;
    ded_overdue numeric;
    ded_falsified numeric;
BEGIN
    ded_overdue := overdue_n * (r ->> 'overdue_deduction')::numeric;
    ded_falsified := falsified_n * (r ->> 'falsified_deduction')::numeric;
    rate := CASE WHEN f.signed_count > 0 THEN f.started_count::numeric / f.signed_count END;
    IF t.unit_id IS NOT NULL THEN
        sign_ratio := CASE WHEN t.signing_amount_yuan > 0 THEN f.signing_amount_yuan::numeric / t.signing_amount_yuan
                           ELSE 1 END;
        rate_ratio := CASE WHEN rate IS NULL THEN 0
                           WHEN t.start_rate > 0 THEN rate / t.start_rate
                           ELSE 1 END;
        sign_pts := score_round((r ->> 'signing_weight')::numeric
                                * least(sign_ratio, (r ->> 'signing_cap')::numeric));
        rate_pts := score_round((r ->> 'start_rate_weight')::numeric
                                * least(rate_ratio, (r ->> 'start_rate_cap')::numeric));
    END IF;
    RETURN jsonb_build_object(
        'unit_id', p_unit, 'year', p_year, 'as_of', p_as_of,
        'score', CASE WHEN t.unit_id IS NOT NULL
                      THEN score_round(greatest(0, sign_pts + rate_pts - ded_overdue - ded_falsified)) END,
        'components', jsonb_build_object('signing', sign_pts, 'start_rate', rate_pts),
        'completion', jsonb_build_object('signing', score_round(sign_ratio),
                                         'start_rate', CASE WHEN rate IS NOT NULL THEN score_round(rate_ratio) END),
        'figures', jsonb_build_object(
            'signing_amount_yuan', f.signing_amount_yuan, 'target_signing_amount_yuan', t.signing_amount_yuan,
            'signed_count', f.signed_count, 'started_count', f.started_count,
            'start_rate', score_round(rate), 'target_start_rate', t.start_rate),
        'deductions', jsonb_build_object(
            'overdue', jsonb_build_object('count', overdue_n, 'points', score_round(ded_overdue)),
            'falsified', jsonb_build_object('count', falsified_n, 'points', score_round(ded_falsified))),
        'rules', r);
END
$$;

-- The score of p_unit for p_year as of p_as_of (default today), no scope check.
CREATE FUNCTION unit_score_calc(p_unit bigint, p_year integer, p_as_of date) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT score_build(p_unit, p_year, kpi_as_of(p_year, p_as_of), d.overdue, d.falsified)
      FROM (SELECT 1) one
      LEFT JOIN score_deductions(p_unit, p_year, kpi_as_of(p_year, p_as_of)) d ON d.unit_id = p_unit
$$;

-- The score of a unit of the caller's subtree (404 otherwise).
CREATE FUNCTION unit_score(p_unit bigint, p_year integer, p_as_of date) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    y integer := coalesce(p_year, extract(year FROM crm_today())::integer);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM unit u WHERE u.id = p_unit AND crm_in_scope(u.path)) THEN
        RAISE EXCEPTION 'no such unit' USING ERRCODE = 'CR404';
    END IF;
    RETURN unit_score_calc(p_unit, y, p_as_of) || jsonb_build_object('unit', unit_brief(p_unit));
END
$$;

-- ---- month-end snapshots ----

CREATE TABLE score_snapshot (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    year      integer NOT NULL CHECK (year BETWEEN 2000 AND 2999),
    month     integer NOT NULL CHECK (month BETWEEN 1 AND 12),
    unit_id   bigint NOT NULL REFERENCES unit (id),
    unit_path bigint[] NOT NULL DEFAULT '{}',
    as_of     date NOT NULL,
    figures   jsonb NOT NULL,
    score     numeric,
    rank      integer,
    frozen_by bigint REFERENCES app_user (id),
    frozen_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT score_snapshot_once UNIQUE (year, month, unit_id),
    CONSTRAINT score_snapshot_month_end CHECK (as_of = (make_date(year, month, 1) + interval '1 month - 1 day')::date)
);
CREATE INDEX score_snapshot_unit ON score_snapshot (unit_id, year, month);
CREATE INDEX score_snapshot_unit_path ON score_snapshot USING gin (unit_path);
CREATE TRIGGER score_snapshot_unit_path BEFORE INSERT ON score_snapshot
    FOR EACH ROW EXECUTE FUNCTION row_unit_path();

-- Append-only: a frozen snapshot never changes, whoever tries.
CREATE FUNCTION score_snapshot_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE check_violation USING MESSAGE = 'a frozen score snapshot never changes';
END
$$;
CREATE TRIGGER score_snapshot_frozen BEFORE UPDATE OR DELETE ON score_snapshot
    FOR EACH ROW EXECUTE FUNCTION score_snapshot_frozen();
CREATE TRIGGER score_snapshot_no_truncate BEFORE TRUNCATE ON score_snapshot
    FOR EACH STATEMENT EXECUTE FUNCTION score_snapshot_frozen();

ALTER TABLE score_snapshot ENABLE ROW LEVEL SECURITY;
ALTER TABLE score_snapshot FORCE ROW LEVEL SECURITY;
CREATE POLICY score_snapshot_owner ON score_snapshot TO crm_owner USING (true) WITH CHECK (true);
CREATE POLICY score_snapshot_read ON score_snapshot FOR SELECT TO crm_app USING (crm_in_scope(unit_path));

CREATE FUNCTION snapshot_json(s score_snapshot, u unit) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', s.id, 'year', s.year, 'month', s.month,
        'unit', jsonb_build_object('id', u.id, 'code', u.code, 'name', u.name, 'kind', u.kind,
                                   'parent_id', u.parent_id),
        'as_of', s.as_of, 'score', s.score, 'rank', s.rank, 'figures', s.figures,
        'frozen_by', s.frozen_by, 'frozen_at', s.frozen_at)
$$;

CREATE FUNCTION score_month_end(p_year integer, p_month integer) RETURNS date LANGUAGE sql IMMUTABLE AS
$$ SELECT (make_date(p_year, p_month, 1) + interval '1 month - 1 day')::date $$;

-- POST /scores/snapshots {year, month}: the assessment office (viewer) or an
-- admin freezes the scores of every unit of their scope with a target or
-- quota that year, as of the month's last day, once the month has ended.
-- Each unit's figures are those of GET /stats/units (kpi_json; the scope
-- is checked here) plus its score and its rank among its siblings with a
-- target or quota (by score, ties share a rank; siblings outside the
-- caller's scope are ranked, not frozen). Units already frozen for the
-- month are left as they are; 409 when all of them are.
CREATE FUNCTION snapshot_freeze(p_year integer, p_month integer) RETURNS jsonb LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    month_end date;
    in_scope bigint[];
    todo bigint[];
    items jsonb;
BEGIN
    IF crm_caller_role() IS NULL OR crm_caller_role() NOT IN ('viewer', 'admin') THEN
        RAISE EXCEPTION 'only the assessment office or an admin freezes scores' USING ERRCODE = 'CR403';
    END IF;
    IF p_year IS NULL OR p_year NOT BETWEEN 2000 AND 2999 THEN
        RAISE check_violation USING MESSAGE = 'must be a year from 2000 to 2999', COLUMN = 'year';
    END IF;
    IF p_month IS NULL OR p_month NOT BETWEEN 1 AND 12 THEN
        RAISE check_violation USING MESSAGE = 'must be a month from 1 to 12', COLUMN = 'month';
    END IF;
    month_end := score_month_end(p_year, p_month);
    IF month_end >= crm_today() THEN
        RAISE check_violation USING MESSAGE = 'the month has not ended yet', COLUMN = 'month';
    END IF;
    -- One freeze of a month at a time: the second waits, then finds it frozen.
    PERFORM pg_advisory_xact_lock(hashtext('score_snapshot'), p_year * 100 + p_month);
    in_scope := ARRAY(SELECT t.unit_id FROM target t JOIN unit u ON u.id = t.unit_id
                       WHERE t.year = p_year AND crm_in_scope(u.path) ORDER BY u.path);
    IF cardinality(in_scope) = 0 THEN
        RAISE check_violation USING MESSAGE = 'no unit of your scope has a target or quota that year',
              COLUMN = 'year';
    END IF;
    todo := ARRAY(SELECT x FROM unnest(in_scope) x
                   WHERE NOT EXISTS (SELECT 1 FROM score_snapshot s
                                      WHERE s.year = p_year AND s.month = p_month AND s.unit_id = x));
    IF cardinality(todo) = 0 THEN
        RAISE unique_violation USING MESSAGE = format('%s-%s is already frozen', p_year, lpad(p_month::text, 2, '0')),
              COLUMN = 'month';
    END IF;
    WITH family AS (
        SELECT u.id, u.parent_id, u.path FROM unit u JOIN target t ON t.unit_id = u.id AND t.year = p_year
         WHERE coalesce(u.parent_id, 0) IN (SELECT coalesce(p.parent_id, 0) FROM unit p WHERE p.id = ANY (todo))),
    -- The deductions of every family member in one pass per subtree: under
    -- the families' parents (or the members themselves, at the top), those
    -- not inside another.
    tops AS (
        SELECT DISTINCT coalesce(fa.parent_id, fa.id) AS id FROM family fa),
    covering AS (
        SELECT tp.id FROM tops tp JOIN unit tu ON tu.id = tp.id
         WHERE NOT EXISTS (SELECT 1 FROM tops o WHERE o.id <> tp.id AND tu.path @> ARRAY[o.id])),
    deductions AS (
        SELECT d.* FROM covering cv, score_deductions(cv.id, p_year, month_end) d),
    scored AS (
        SELECT fa.id, fa.parent_id, score_build(fa.id, p_year, month_end, d.overdue, d.falsified) AS sc
          FROM family fa LEFT JOIN deductions d ON d.unit_id = fa.id),
    ranked AS (
        SELECT sd.id, sd.sc, (sd.sc ->> 'score')::numeric AS score,
               rank() OVER (PARTITION BY coalesce(sd.parent_id, 0)
                            ORDER BY (sd.sc ->> 'score')::numeric DESC NULLS LAST) AS rk,
               count(*) OVER (PARTITION BY coalesce(sd.parent_id, 0)) AS siblings
          FROM scored sd)
    INSERT INTO score_snapshot (year, month, unit_id, as_of, figures, score, rank, frozen_by)
    SELECT p_year, p_month, rd.id, month_end,
           kpi_json(rd.id, p_year, month_end)
               || jsonb_build_object('score', rd.sc, 'rank', rd.rk, 'ranked_among', rd.siblings),
           rd.score, rd.rk, crm_caller_user()
      FROM ranked rd WHERE rd.id = ANY (todo);
    SELECT coalesce(jsonb_agg(snapshot_json(s, u) ORDER BY u.path), '[]') INTO items
      FROM score_snapshot s JOIN unit u ON u.id = s.unit_id
     WHERE s.year = p_year AND s.month = p_month AND s.unit_id = ANY (todo);
    RETURN jsonb_build_object('year', p_year, 'month', p_month, 'as_of', month_end, 'items', items);
END
$$;

-- GET /scores/snapshots?year=Y[&month=M]: the frozen snapshots of the
-- caller's subtree, by month, then down the unit tree.
CREATE FUNCTION snapshots_list(p_year integer, p_month integer) RETURNS jsonb LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF p_year IS NULL OR p_year NOT BETWEEN 2000 AND 2999 THEN
        RAISE check_violation USING MESSAGE = 'must be a year from 2000 to 2999', COLUMN = 'year';
    END IF;
    IF p_month IS NOT NULL AND p_month NOT BETWEEN 1 AND 12 THEN
        RAISE check_violation USING MESSAGE = 'must be a month from 1 to 12', COLUMN = 'month';
    END IF;
    RETURN jsonb_build_object('year', p_year, 'month', p_month, 'items', coalesce((
        SELECT jsonb_agg(snapshot_json(s, u) ORDER BY s.month, u.path)
          FROM score_snapshot s JOIN unit u ON u.id = s.unit_id
         WHERE s.year = p_year AND (p_month IS NULL OR s.month = p_month) AND crm_in_scope(s.unit_path)), '[]'));
END
$$;

-- ---- alerts ----

-- The alerts of p_root's subtree for p_year as of p_as_of (DESIGN.md
-- section 5), no scope check: at most p_limit of each part after the
-- cursor, unsorted (callers sort by sort_key and cut). Kinds and levels:
--   not_started (red)      signed in the year (verified formal contract), no
--                          counting start, planned start date passed;
--   at_risk (yellow)       the same but not yet past its planned date, with
--                          fewer than 60 days of the year left;
--   no_progress            nothing logged (last_progress_at) for 2 months
--                          (yellow) or 3 months (red), projects neither
--                          terminated nor at capacity;
--   behind_time_progress   a unit with a target or quota whose verified signing
--                          progress is under the time progress (red under half of it);
--   forecast_under_target  (red) a county whose forecast is under its target.
-- Signed projects are taken as of the cutoff; the subtree is the current
-- one. sort_key: level (0 red, 1 yellow), kind (1..5), unit id and project
-- id (0 for unit alerts), zero-padded: the keyset of alerts_page.
CREATE FUNCTION alerts_compute(p_root bigint, p_year integer, p_as_of date, p_kind text, p_level text,
                               p_after text, p_limit integer)
RETURNS TABLE (sort_key text, item jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    d date := kpi_as_of(p_year, p_as_of);
    cut timestamptz := kpi_cutoff(kpi_as_of(p_year, p_as_of));
    ref timestamptz := least(now(), kpi_cutoff(kpi_as_of(p_year, p_as_of)));
    days_left integer := make_date(p_year + 1, 1, 1) - kpi_as_of(p_year, p_as_of);
    tp numeric := kpi_time_progress(p_year, kpi_as_of(p_year, p_as_of));
    a_prefix text;
    a_unit bigint;
    a_pid bigint;
    part record;
    lo_unit bigint;
    lo_pid bigint;
    elapsed integer := kpi_days_elapsed(p_year, kpi_as_of(p_year, p_as_of));
    days integer := kpi_days_in_year(p_year);
    units jsonb;
    unstarted jsonb;
BEGIN
    IF p_after IS NOT NULL THEN
        IF p_after !~ '^[01][1-5][0-9]{38}$' THEN
            RAISE invalid_parameter_value USING MESSAGE = 'the cursor is not valid', COLUMN = 'cursor';
        END IF;
        a_prefix := substr(p_after, 1, 2);
        a_unit := substr(p_after, 3, 19)::bigint;
        a_pid := substr(p_after, 22, 19)::bigint;
    END IF;
    -- The projects signed in the year and not started, found once for both
    -- of their kinds.
    IF (p_kind IS NULL OR p_kind IN ('not_started', 'at_risk')) THEN
        SELECT coalesce(jsonb_agg(jsonb_build_object('project_id', sp.project_id, 'signed_on', sp.signed_on,
                                                     'amount_yuan', sp.amount_yuan,
                                                     'start_reported', sp.start_reported)), '[]')
          INTO unstarted
          FROM score_signed_projects(p_root, p_year, cut, false) sp
         WHERE NOT sp.started;
    END IF;
    -- The units with a target or quota, measured once for the unit alerts.
    IF p_kind IS NULL OR p_kind IN ('behind_time_progress', 'forecast_under_target') THEN
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'id', u.id, 'name', u.name, 'kind', u.kind, 'target_yuan', t.signing_amount_yuan,
                   'signed_yuan', (kpi_fast(u.id, p_year, d)).signing_amount_yuan,
                   'forecast_yuan', CASE WHEN u.kind = 'county' THEN kpi_forecast(u.id, p_year, d) END)), '[]')
          INTO units
          FROM unit u JOIN target t ON t.unit_id = u.id AND t.year = p_year
         WHERE u.path @> ARRAY[p_root];
    END IF;
    FOR part IN
        SELECT v.prefix, v.kind, v.level FROM (VALUES
            ('01', 'not_started', 'red'), ('03', 'no_progress', 'red'),
            ('04', 'behind_time_progress', 'red'), ('05', 'forecast_under_target', 'red'),
            ('12', 'at_risk', 'yellow'), ('13', 'no_progress', 'yellow'),
            ('14', 'behind_time_progress', 'yellow')) AS v (prefix, kind, level)
         WHERE (p_kind IS NULL OR v.kind = p_kind) AND (p_level IS NULL OR v.level = p_level)
           AND (a_prefix IS NULL OR v.prefix >= a_prefix)
         ORDER BY v.prefix
    LOOP
        -- Within the cursor's own part, only what comes after it.
        IF part.prefix = a_prefix THEN
            lo_unit := a_unit;
            lo_pid := a_pid;
        ELSE
            lo_unit := -1;
            lo_pid := -1;
        END IF;
        IF part.kind IN ('not_started', 'at_risk') THEN
            CONTINUE WHEN part.kind = 'at_risk' AND days_left >= 60;
            RETURN QUERY
            SELECT part.prefix || lpad(p.unit_id::text, 19, '0') || lpad(p.id::text, 19, '0'),
                   jsonb_build_object(
                       'kind', part.kind, 'level', part.level, 'unit_id', p.unit_id,
                       'unit_name', (SELECT u.name FROM unit u WHERE u.id = p.unit_id),
                       'project_id', p.id, 'project_code', p.code, 'project_name', p.name,
                       'message', CASE part.kind
                           WHEN 'not_started' THEN format('已签约项目计划 %s 开工，至今未开工', p.planned_start_on)
                           WHEN 'at_risk' THEN CASE WHEN days_left > 0
                               THEN format('已签约项目尚未开工，距年底仅剩 %s 天，当年开工有风险', days_left)
                               ELSE '已签约项目当年未开工' END END,
                       'since', CASE WHEN part.kind = 'not_started' THEN p.planned_start_on END,
                       'due', CASE WHEN part.kind = 'at_risk' THEN make_date(p_year, 12, 31) END,
                       'figures', jsonb_build_object(
                           'signed_on', s.signed_on, 'amount_yuan', s.amount_yuan,
                           'planned_start_on', p.planned_start_on, 'stage', p.stage,
                           'start_reported', s.start_reported,
                           'days_overdue', CASE WHEN part.kind = 'not_started' THEN d - p.planned_start_on END,
                           'days_left', greatest(days_left, 0)))
              FROM jsonb_to_recordset(unstarted) AS s (project_id bigint, signed_on date, amount_yuan bigint,
                                                       start_reported boolean)
              JOIN project p ON p.id = s.project_id
             WHERE p.stage <> 'terminated'
               AND CASE WHEN part.kind = 'not_started' THEN p.planned_start_on < d
                        ELSE p.planned_start_on IS NULL OR p.planned_start_on >= d END
               AND (p.unit_id, p.id) > (lo_unit, lo_pid)
             ORDER BY p.unit_id, p.id
             LIMIT p_limit;
        ELSIF part.kind = 'no_progress' THEN
            RETURN QUERY
            SELECT part.prefix || lpad(p.unit_id::text, 19, '0') || lpad(p.id::text, 19, '0'),
                   jsonb_build_object(
                       'kind', part.kind, 'level', part.level, 'unit_id', p.unit_id,
                       'unit_name', (SELECT u.name FROM unit u WHERE u.id = p.unit_id),
                       'project_id', p.id, 'project_code', p.code, 'project_name', p.name,
                       'message', format('项目已 %s 天没有进展记录',
                                         (ref AT TIME ZONE 'Asia/Shanghai')::date
                                             - (p.last_progress_at AT TIME ZONE 'Asia/Shanghai')::date),
                       'since', (p.last_progress_at AT TIME ZONE 'Asia/Shanghai')::date,
                       'due', NULL,
                       'figures', jsonb_build_object(
                           'stage', p.stage, 'last_progress_at', p.last_progress_at,
                           'days_without_progress',
                           (ref AT TIME ZONE 'Asia/Shanghai')::date
                               - (p.last_progress_at AT TIME ZONE 'Asia/Shanghai')::date))
              FROM project p
             WHERE p.unit_path @> ARRAY[p_root]
               AND p.stage NOT IN ('terminated', 'at_capacity')
               AND p.last_progress_at < ref - interval '2 months'
               AND CASE WHEN part.level = 'red' THEN p.last_progress_at < ref - interval '3 months'
                        ELSE p.last_progress_at >= ref - interval '3 months' END
               AND (p.unit_id, p.id) > (lo_unit, lo_pid)
             ORDER BY p.unit_id, p.id
             LIMIT p_limit;
        ELSE
            -- Unit alerts, from the figures measured once above. Behind:
            -- signing / target < elapsed / days, compared exactly; red
            -- under half of that.
            RETURN QUERY
            SELECT part.prefix || lpad(m.id::text, 19, '0') || lpad('0', 19, '0'),
                   jsonb_build_object(
                       'kind', part.kind, 'level', part.level, 'unit_id', m.id, 'unit_name', m.name,
                       'project_id', NULL, 'project_code', NULL, 'project_name', NULL,
                       'message', CASE part.kind
                           WHEN 'forecast_under_target' THEN
                               format('预计全年签约 %s 元，低于目标 %s 元', m.forecast_yuan, m.target_yuan)
                           ELSE format('签约额完成 %s%%，落后于序时进度 %s%%',
                                       round(m.signed_yuan * 100.0 / m.target_yuan, 1), round(tp * 100, 1)) END,
                       'since', NULL,
                       'due', make_date(p_year, 12, 31),
                       'figures', jsonb_build_object(
                           'signing_amount_yuan', m.signed_yuan, 'target_yuan', m.target_yuan,
                           'signing_progress', CASE WHEN m.target_yuan > 0
                                                    THEN score_round(m.signed_yuan::numeric / m.target_yuan) END,
                           'time_progress', score_round(tp), 'forecast_yuan', m.forecast_yuan))
              FROM jsonb_to_recordset(units) AS m (id bigint, name text, kind text, target_yuan bigint,
                                                   signed_yuan bigint, forecast_yuan bigint)
             WHERE m.id > lo_unit
               AND CASE part.kind
                       WHEN 'forecast_under_target' THEN m.kind = 'county' AND m.forecast_yuan < m.target_yuan
                       WHEN 'behind_time_progress' THEN
                           m.target_yuan > 0 AND m.signed_yuan::numeric * days < m.target_yuan::numeric * elapsed
                           AND (m.signed_yuan::numeric * days * 2 < m.target_yuan::numeric * elapsed)
                               = (part.level = 'red')
                   END
             ORDER BY m.id
             LIMIT p_limit;
        END IF;
    END LOOP;
END
$$;

-- GET /alerts: the alerts of the caller's subtree (or of the subtree of
-- the unit_id filter, when it is in scope; nothing otherwise), filters
-- kind, level, year (default the current year); red first, then by kind,
-- unit and project. {"items": [...], "next_after": cursor text or null}.
CREATE FUNCTION alerts_page(f jsonb, p_after text, p_limit integer) RETURNS jsonb LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    root bigint := coalesce((f ->> 'unit_id')::bigint, crm_caller_unit());
    y integer := coalesce((f ->> 'year')::integer, extract(year FROM crm_today())::integer);
    lim integer := least(greatest(coalesce(p_limit, 50), 1), 200);
    page jsonb;
BEGIN
    IF y NOT BETWEEN 2000 AND 2999 THEN
        RAISE check_violation USING MESSAGE = 'must be a year from 2000 to 2999', COLUMN = 'year';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM unit u WHERE u.id = root AND crm_in_scope(u.path)) THEN
        RETURN jsonb_build_object('items', '[]'::jsonb, 'next_after', NULL);
    END IF;
    WITH page AS (
        SELECT a.sort_key, a.item
          FROM alerts_compute(root, y, NULL, f ->> 'kind', f ->> 'level', p_after, lim + 1) a
         WHERE p_after IS NULL OR a.sort_key > p_after
         ORDER BY a.sort_key LIMIT lim + 1),
    numbered AS (SELECT pg.*, row_number() OVER (ORDER BY pg.sort_key) AS n FROM page pg)
    SELECT jsonb_build_object(
               'items', coalesce(jsonb_agg(nb.item ORDER BY nb.sort_key) FILTER (WHERE nb.n <= lim), '[]'),
               'next_after', CASE WHEN count(*) > lim THEN max(nb.sort_key) FILTER (WHERE nb.n <= lim) END)
      INTO page FROM numbered nb;
    RETURN page;
END
$$;

-- ---- the scorecard ----

-- A project as the scorecard lists it.
CREATE FUNCTION scorecard_project_json(p project, p_signed_on date, p_amount bigint, p_start_reported boolean,
                                       p_as_of date) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', p.id, 'code', p.code, 'name', p.name, 'unit_id', p.unit_id,
        'unit_name', (SELECT u.name FROM unit u WHERE u.id = p.unit_id), 'stage', p.stage,
        'leader_id', p.leader_id,
        'leader_name', (SELECT coalesce(nullif(l.display_name, ''), l.username) FROM app_user l
                         WHERE l.id = p.leader_id),
        'signed_on', p_signed_on, 'amount_yuan', p_amount, 'planned_start_on', p.planned_start_on,
        'overdue', coalesce(p.planned_start_on < p_as_of, false), 'start_reported', p_start_reported)
$$;

-- GET /units/{id}/scorecard?year=Y&as_of=D: what a township head opens, for
-- a unit of the caller's own subtree (404 otherwise): quota, actual
-- (verified and reported), progress against the time progress, rank among
-- its siblings, score, alerts (top 20), the projects at risk and what
-- would close the gap (the signing gap and the pipeline that covers it,
-- the starts needed and the signed projects that could start).
CREATE FUNCTION unit_scorecard(p_unit bigint, p_year integer, p_as_of date) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    y integer := coalesce(p_year, extract(year FROM crm_today())::integer);
    d date;
    cut timestamptz;
    u unit;
    t target;
    st jsonb;
    rk jsonb;
    mine jsonb;
    gap bigint;
    needed integer;
    at_risk jsonb;
    candidates jsonb;
    available integer;
    pipeline jsonb;
    pipeline_total bigint;
    expected bigint;
BEGIN
    SELECT * INTO u FROM unit WHERE id = p_unit AND crm_in_scope(path);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such unit' USING ERRCODE = 'CR404';
    END IF;
    IF y NOT BETWEEN 2000 AND 2999 THEN
        RAISE check_violation USING MESSAGE = 'must be a year from 2000 to 2999', COLUMN = 'year';
    END IF;
    d := kpi_as_of(y, p_as_of);
    cut := kpi_cutoff(d);
    t := unit_target(p_unit, y);
    st := stats_unit(p_unit, y, d);
    expected := CASE WHEN t.unit_id IS NOT NULL
                     THEN ceil(t.signing_amount_yuan::numeric * kpi_days_elapsed(y, d) / kpi_days_in_year(y))::bigint END;

    -- The rank among its siblings, from the ranking of its parent.
    IF u.parent_id IS NOT NULL THEN
        BEGIN
            rk := stats_ranking(y, u.parent_id, d);
            SELECT e INTO mine FROM jsonb_array_elements(rk -> 'units') e
             WHERE (e -> 'unit' ->> 'id')::bigint = p_unit;
        EXCEPTION WHEN SQLSTATE 'CR404' THEN
            rk := NULL;
        END;
    END IF;

    gap := CASE WHEN t.unit_id IS NOT NULL
                THEN greatest(0, t.signing_amount_yuan
                                 - coalesce((st -> 'verified' ->> 'signing_amount_yuan')::bigint, 0)) END;
    needed := (st -> 'verified' ->> 'needed_starts')::integer;

    -- Signed this year (as of d), not started: at risk, and the candidates
    -- for the starts needed (a reported start awaiting verification first).
    WITH signed AS (
        SELECT s.*, p FROM score_signed_projects(p_unit, y, cut, false) s JOIN project p ON p.id = s.project_id
         WHERE NOT s.started)
    SELECT coalesce((SELECT jsonb_agg(x.j ORDER BY x.o1 NULLS LAST, x.o2) FROM (
                SELECT scorecard_project_json(sg.p, sg.signed_on, sg.amount_yuan, sg.start_reported, d) AS j,
                       (sg.p).planned_start_on AS o1, (sg.p).id AS o2
                  FROM signed sg ORDER BY (sg.p).planned_start_on NULLS LAST, (sg.p).id LIMIT 100) x), '[]'),
           coalesce((SELECT jsonb_agg(x.j ORDER BY x.n) FROM (
                SELECT scorecard_project_json(sg.p, sg.signed_on, sg.amount_yuan, sg.start_reported, d) AS j,
                       row_number() OVER (ORDER BY sg.start_reported DESC, (sg.p).planned_start_on NULLS LAST,
                                                   sg.amount_yuan DESC, (sg.p).id) AS n
                  FROM signed sg WHERE (sg.p).stage <> 'terminated') x
                 WHERE x.n <= least(coalesce(needed, 0), 100)), '[]'),
           (SELECT count(*) FROM signed sg WHERE (sg.p).stage <> 'terminated')
      INTO at_risk, candidates, available
      FROM (SELECT 1) one;

    -- The open pipeline expected to sign this year, largest first, until
    -- the signing gap is covered.
    SELECT coalesce(sum(p.planned_investment_yuan), 0) INTO pipeline_total
      FROM project p
     WHERE p.unit_path @> ARRAY[p_unit] AND p.stage IN ('lead', 'negotiating')
       AND p.expected_sign_on >= make_date(y, 1, 1) AND p.expected_sign_on < make_date(y + 1, 1, 1);
    SELECT coalesce(jsonb_agg(x.j ORDER BY x.n), '[]') INTO pipeline
      FROM (SELECT jsonb_build_object('id', p.id, 'code', p.code, 'name', p.name, 'unit_id', p.unit_id,
                       'unit_name', (SELECT un.name FROM unit un WHERE un.id = p.unit_id),
                       'stage', p.stage, 'expected_sign_on', p.expected_sign_on,
                       'planned_investment_yuan', p.planned_investment_yuan,
                       'cumulative_yuan', sum(coalesce(p.planned_investment_yuan, 0)) OVER w) AS j,
                   row_number() OVER w AS n,
                   sum(coalesce(p.planned_investment_yuan, 0)) OVER w
                       - coalesce(p.planned_investment_yuan, 0) AS before
              FROM project p
             WHERE p.unit_path @> ARRAY[p_unit] AND p.stage IN ('lead', 'negotiating')
               AND p.expected_sign_on >= make_date(y, 1, 1) AND p.expected_sign_on < make_date(y + 1, 1, 1)
            WINDOW w AS (ORDER BY p.planned_investment_yuan DESC NULLS LAST, p.id)) x
     WHERE x.before < coalesce(gap, 0) AND x.n <= 100;

    RETURN jsonb_build_object(
        'unit', unit_brief(p_unit),
        'year', y, 'as_of', d,
        'time_progress', st -> 'time_progress',
        'quota', CASE WHEN t.unit_id IS NOT NULL THEN jsonb_build_object(
                     'signing_amount_yuan', t.signing_amount_yuan, 'signed_count', t.signed_count,
                     'start_rate', t.start_rate, 'parent_unit_id', t.parent_unit_id,
                     'set_at', t.set_at, 'version', t.version) END,
        'actual', jsonb_build_object('verified', st -> 'verified', 'reported', st -> 'reported'),
        'progress', jsonb_build_object(
            'signing_progress', st -> 'verified' -> 'signing_progress',
            'time_progress', st -> 'time_progress',
            -- the signing that would be exactly at the time progress, and
            -- what is missing to it (0 exactly when not behind)
            'expected_by_now_yuan', expected,
            'behind_by_yuan', CASE WHEN expected IS NOT NULL THEN greatest(0, expected
                                  - coalesce((st -> 'verified' ->> 'signing_amount_yuan')::bigint, 0)) END),
        'behind', st -> 'verified' -> 'behind',
        'forecast_yuan', st -> 'forecast_yuan',
        'forecast_under_target', st -> 'forecast_under_target',
        'rank', CASE WHEN mine IS NOT NULL THEN jsonb_build_object(
                    'rank', mine -> 'rank',
                    'of', (SELECT count(*) FROM jsonb_array_elements(rk -> 'units') e
                            WHERE jsonb_typeof(e -> 'target') = 'object'),
                    'parent', rk -> 'parent' -> 'unit') END,
        'score', unit_score_calc(p_unit, y, d),
        'alerts', coalesce((SELECT jsonb_agg(a.item ORDER BY a.sort_key) FROM (
                      SELECT al.sort_key, al.item FROM alerts_compute(p_unit, y, d, NULL, NULL, NULL, 20) al
                       ORDER BY al.sort_key LIMIT 20) a), '[]'),
        'projects_at_risk', at_risk,
        'close_the_gap', jsonb_build_object(
            'signing_gap_yuan', gap,
            'needed_starts', needed,
            'start_candidates', candidates,
            'start_candidates_available', available,
            'pipeline', pipeline,
            'pipeline_total_yuan', pipeline_total,
            'pipeline_covers_gap', CASE WHEN gap IS NOT NULL THEN coalesce(pipeline_total, 0) >= gap END));
END
$$;

-- ---- rights ----

-- Building blocks read across scopes: the owner's functions only.
REVOKE EXECUTE ON FUNCTION score_placement(bigint, timestamptz),
    score_signed_projects(bigint, integer, timestamptz, boolean), score_deductions(bigint, integer, date),
    score_build(bigint, integer, date, integer, integer), unit_score_calc(bigint, integer, date),
    alerts_compute(bigint, integer, date, text, text, text, integer), score_rules_effective(integer),
    score_rules_json(integer) FROM PUBLIC;

GRANT SELECT ON score_rule, score_snapshot TO crm_app;
GRANT EXECUTE ON FUNCTION claim_revoke(regclass, bigint, text, boolean), contract_revoke(bigint, text, boolean),
    start_revoke(bigint, text, boolean), score_rules_get(integer), score_rules_put(integer, jsonb),
    unit_score(bigint, integer, date), snapshot_freeze(integer, integer), snapshots_list(integer, integer),
    alerts_page(jsonb, text, integer), unit_scorecard(bigint, integer, date) TO crm_app;
