-- A list page of projects is now rows (projects_rows, sql/schema) that crm
-- writes as JSON; the function that built the page's JSON goes.
DROP FUNCTION IF EXISTS projects_page(jsonb, bigint, integer);

-- events_attach gained the operations to attach (p_ops): its one-argument
-- form goes.
DROP PROCEDURE IF EXISTS events_attach(text[]);
