-- The generation of the figures (issue 16): one number, raised in the same
-- transaction as any change to what a unit's figures are computed from (the
-- roll-ups, the pipeline, targets and quotas, units, settings; the triggers
-- are in sql/schema/72_stats.sql). crm keeps the figures it answered with
-- the generation they were computed at, and asks PostgreSQL for them again
-- only when it has moved (stats_unit_cached). Read in the same snapshot as
-- the figures, so a cached answer is never older than what it stands for.
-- One row: the writes that raise it already queue on the root's roll-up and
-- pipeline rows, so it adds no new wait. Raised once per transaction, by the
-- first row it changes: a statement that changes no row (an update whose
-- version did not match) leaves it, as it leaves everything else.
CREATE TABLE stats_generation (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    n        bigint NOT NULL
);
INSERT INTO stats_generation (n) VALUES (1);
-- Read and written only by the owner's functions (stats_unit_cached, the triggers).
ALTER TABLE stats_generation ENABLE ROW LEVEL SECURITY;
ALTER TABLE stats_generation FORCE ROW LEVEL SECURITY;
CREATE POLICY stats_generation_owner ON stats_generation TO crm_owner USING (true) WITH CHECK (true);
