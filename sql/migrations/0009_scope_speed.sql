-- Speed of scope checks and of the project reads (issue 6), found with perf
-- on the PostgreSQL backends while pgbench sent crm's statements.
--
-- Tables, columns, indexes, constraints and data only; the functions, views, triggers
-- and policies are in sql/schema/ (issue 13).

DROP INDEX project_progress;
ALTER TABLE project SET (fillfactor = 90);
