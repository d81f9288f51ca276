-- The project's version bump fires first of its BEFORE UPDATE triggers
-- under a new name (project_bump, sql/schema/10_rows.sql), so that its rules
-- can skip progress alone: the old name goes.
DROP TRIGGER IF EXISTS project_touch ON project;
