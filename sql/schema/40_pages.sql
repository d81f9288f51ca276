-- What every collection route shares: text search patterns and the unit filter of a page.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- Escapes LIKE's wildcards in user text.
CREATE OR REPLACE FUNCTION like_text(t text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT '%' || replace(replace(replace(t, '\', '\\'), '%', '\%'), '_', '\_') || '%' $$;

-- 4. A page of project ids (0008). The caller's scope and a unit filter were
--    both conditions on the GIN index of unit_path, which then intersected
--    the posting list of the caller's unit (at the province root: every
--    project) with the filter's: 16 ms for a township's first page. Now the
--    page is drawn from one unit, the deeper of the filter's and the
--    caller's when one holds the other (nothing otherwise), so every
--    project under it is in the caller's scope; and from the units under
--    it, through (unit_id, id): a township's projects in id order with no
--    sort, by a query planned once per connection when no other filter is
--    given; a county's from that index alone (its 7,500 entries rather than
--    the 6,800 projects the primary key walked past to find 50 of them:
--    4.5 to 1 ms); the root's along the primary key.
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
