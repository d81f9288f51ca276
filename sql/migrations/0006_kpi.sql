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
--
-- Tables, columns, indexes, constraints and data only; the functions, views, triggers
-- and policies are in sql/schema/ (issue 13).

-- ---- settings and columns the engine reads ----

-- When an open project is expected to sign (the forecast counts those
-- expected in the year), and the chance of it by stage.
ALTER TABLE project ADD COLUMN expected_sign_on date;
INSERT INTO setting VALUES ('forecast_probability', '{"planned": 0.1, "lead": 0.2, "negotiating": 0.5}');

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
ALTER TABLE target ENABLE ROW LEVEL SECURITY;
ALTER TABLE target FORCE ROW LEVEL SECURITY;
CREATE POLICY target_owner ON target TO crm_owner USING (true) WITH CHECK (true);

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
