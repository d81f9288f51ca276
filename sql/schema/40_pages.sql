-- What every collection route shares: the page skeleton, text search patterns and the unit
-- filter of a page.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- A LIKE pattern that finds user text anywhere: its wildcards escaped,
-- wrapped in %.
CREATE OR REPLACE FUNCTION like_text(t text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT '%' || replace(replace(replace(t, '\', '\\'), '%', '\%'), '_', '\_') || '%' $$;

-- The unit a page is drawn from: without a unit_id filter the caller's;
-- with one, the deeper of the filter's and the caller's when one holds the
-- other, else NULL (an empty page). Every row under it is in the caller's
-- scope, so the page needs one condition on the unit, not the caller's scope
-- and the filter both: as two conditions on the GIN index of unit_path they
-- intersect the caller's posting list (at the province root, every project)
-- with the filter's, 16 ms for a township's first page of projects. Read as
-- the owner: a filter naming a unit above the caller's gives the caller's.
CREATE OR REPLACE FUNCTION crm_page_unit(f jsonb) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v bigint;
BEGIN
    IF NOT f ? 'unit_id' THEN
        RETURN crm_caller_unit();
    END IF;
    SELECT CASE WHEN u.path @> ARRAY[c.id] THEN u.id WHEN c.path @> ARRAY[u.id] THEN c.id END
      INTO v
      FROM unit u, unit c
     WHERE u.id = (f ->> 'unit_id')::bigint AND c.id = crm_caller_unit();
    RETURN v;
END
$$;
REVOKE EXECUTE ON FUNCTION crm_page_unit(jsonb) FROM PUBLIC;
-- projects_rows runs as the caller: what it learns (which of two units
-- holds the other, or that neither does) is what the page itself shows.
GRANT EXECUTE ON FUNCTION crm_page_unit(jsonb) TO crm_app;

-- The page of a collection: {"items": [...], "next_after": id or null}, the
-- rows of table p_table (aliased r) whose id is after p_after, under the
-- filter's unit_id when it has one, and that p_where keeps, in id order, at
-- most p_limit of them, each as p_json(r); next_after is the last id given
-- when more rows follow. p_where reads the filters as $1 (jsonb), the cursor
-- as $2 and the limit as $3; it is the caller's constant text, never the
-- client's. Run with EXECUTE, so that the query is planned with the
-- filters' values: planned blind, "(filter IS NULL OR ...)" looks selective
-- and the planner sorts the whole table instead of walking the primary key. Row-level security applies: it runs
-- as the caller.
CREATE OR REPLACE FUNCTION page_json(p_table regclass, p_json regproc, p_where text, f jsonb,
                                     p_after bigint, p_limit integer) RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    page text;
BEGIN
    EXECUTE format($q$
            WITH page AS (
                SELECT r.id, %s(r) AS j FROM %s r
                 WHERE ($2 IS NULL OR r.id > $2)
                   AND ($1 ->> 'unit_id' IS NULL OR r.unit_path @> ARRAY[($1 ->> 'unit_id')::bigint])
                   AND %s
                 ORDER BY r.id LIMIT $3 + 1),
            numbered AS (SELECT page.*, row_number() OVER (ORDER BY id) AS n FROM page)
            SELECT json_build_object(
                'items', coalesce(json_agg(j ORDER BY id) FILTER (WHERE n <= $3), '[]'),
                'next_after', CASE WHEN count(*) > $3 THEN max(id) FILTER (WHERE n <= $3) END)::text
              FROM numbered
    $q$, p_json, p_table, p_where) INTO page USING f, p_after, p_limit;
    RETURN page;
END
$fn$;

-- The ids of a page chosen first (investor_ids_page, project_ids_page): of
-- the rows of p_table (aliased r) whose id is after p_after and that p_where
-- keeps, the first p_limit in id order. p_where reads the filters as $1,
-- the cursor as $2, the limit as $3 and p_scope (a unit, or units) as $4;
-- it is planned with their values, as page_json is. It runs as its caller:
-- the owner, from those two.
CREATE OR REPLACE FUNCTION ids_page(p_table regclass, p_where text, f jsonb, p_after bigint, p_limit integer,
                                    p_scope anycompatible) RETURNS bigint[]
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    ids bigint[];
BEGIN
    EXECUTE format($q$
        SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM (
            SELECT r.id FROM %s r WHERE ($2 IS NULL OR r.id > $2) AND %s ORDER BY r.id LIMIT $3) x
    $q$, p_table, p_where) INTO ids USING f, p_after, p_limit, p_scope;
    RETURN ids;
END
$fn$;

-- The page of a collection whose ids are chosen first (<collection>_ids_page,
-- asked for one more id than the page holds): {"items": p_items, the JSON
-- array of the rows of the first p_limit ids, "next_after": the last of
-- them when more follow}. Inlined into the caller's query.
CREATE OR REPLACE FUNCTION page_of_ids(p_ids bigint[], p_limit integer, p_items json) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object('items', coalesce(p_items, '[]'),
                             'next_after', CASE WHEN cardinality(p_ids) > p_limit THEN p_ids[p_limit] END)::text
$$;

-- PATCH of a collection's row: the columns p_columns (a list) of row p_id
-- of p_table, at version p_version (else nothing changes), take the body's
-- values where it has their keys and keep theirs where it has not (the
-- body's keys are checked by crm's field specs first); p_children(p_id, b)
-- then puts the row's child rows (a batch's projects, say), when given. The
-- row afterwards as p_json(row), as text; NULL when no row of that id and
-- version is visible.
-- Row-level security applies: it runs as the caller. The statements are
-- planned with each call (EXECUTE), the price of one definition for every
-- collection: PATCH is not a hot route.
CREATE OR REPLACE FUNCTION row_patch(p_table regclass, p_columns text, p_json regproc, p_id bigint,
                                     p_version integer, b jsonb,
                                     p_children regproc DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    n bigint;
    j text;
BEGIN
    EXECUTE format('UPDATE %s t SET (%2$s) = (SELECT %2$s FROM jsonb_populate_record(t, $3))'
                   ' WHERE t.id = $1 AND t.version = $2', p_table, p_columns)
       USING p_id, p_version, b;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    IF p_children IS NOT NULL THEN
        EXECUTE format('SELECT %s($1, $2)', p_children) USING p_id, b;
    END IF;
    EXECUTE format('SELECT %s(r)::text FROM %s r WHERE r.id = $1', p_json, p_table)
       INTO j USING p_id;
    RETURN j;
END
$fn$;

-- The child rows of a row (a batch's projects, the leaders present at an
-- interaction), in p_table: those of parent p_id (column p_parent) replaced
-- by the ids in the body's array p_key (column p_child), when the body has
-- that key; nothing is done when it has not.
CREATE OR REPLACE FUNCTION children_put(p_table regclass, p_parent text, p_child text, p_key text,
                                        p_id bigint, b jsonb) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    IF b ? p_key THEN
        EXECUTE format('DELETE FROM %s WHERE %I = $1', p_table, p_parent) USING p_id;
        EXECUTE format('INSERT INTO %s (%I, %I) SELECT DISTINCT $1, value::text::bigint FROM jsonb_array_elements($2)',
                       p_table, p_parent, p_child)
           USING p_id, b -> p_key;
    END IF;
END
$fn$;
