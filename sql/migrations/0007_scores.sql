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
--
-- Tables, columns, indexes, constraints and data only; the functions, views, triggers
-- and policies are in sql/schema/ (issue 13).

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

-- ---- building blocks (owner only) ----

-- Projects that moved (a placement after their first): the only ones that
-- can have been under a unit they are not under now.
CREATE INDEX project_placement_moved ON project_placement (project_id) WHERE valid_from > '-infinity';
-- A project's start claims (signed-not-started, here and in the KPI engine).
CREATE INDEX project_start_project ON project_start (project_id);

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

ALTER TABLE score_snapshot ENABLE ROW LEVEL SECURITY;
ALTER TABLE score_snapshot FORCE ROW LEVEL SECURITY;
CREATE POLICY score_snapshot_owner ON score_snapshot TO crm_owner USING (true) WITH CHECK (true);

GRANT SELECT ON score_rule, score_snapshot TO crm_app;
