-- Units administered through the API and the CLI, departments acting for
-- the unit they serve, and the figures as people read them (issue 11).
--
-- 1. The unit tree: units are created, renamed, moved and retired by
--    admins within their subtree (units_create, units_update), never only
--    by SQL. unit_rules keeps the tree sensible for every writer (the API,
--    `crm init`, `crm unit import`, the demo): kinds nest province > city >
--    county > town/township > zone, a department sits under the unit it
--    serves and has no units under it, nothing goes under a retired unit,
--    and a unit is retired only once nothing under it is still at work.
-- 2. A moved unit takes its subtree and every scoped row under it along, in
--    the moving transaction (unit_scope_follows). The figures keep their
--    history: a project counts toward the units it belonged to at the time
--    (its placement history, 0006), so the old county keeps what was signed
--    while the township was its own, and the new one counts from the move.
-- 3. Departments act for the unit they serve: a user of the county's
--    investment centre (a `department` under the county) works on the
--    county's scope. auth_session sets crm.unit_id, the root of the
--    caller's scope that every row-level policy reads, to the served unit;
--    crm.home_unit_id keeps the user's own unit. Departments hold no
--    targets or quotas, and so are never ranked, scored or alerted on.
--
-- Tables, columns, indexes, constraints and data only; the functions, views, triggers
-- and policies are in sql/schema/ (issue 13).

-- ---- the unit row ----

ALTER TABLE unit
    ADD COLUMN retired_at timestamptz,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN version integer NOT NULL DEFAULT 1;
UPDATE score_rule SET rules = rules || '{"signed_count_weight": 0, "signed_count_cap": 1.0}'::jsonb
 WHERE NOT rules ? 'signed_count_weight';
