-- Investors and their contacts: rules and the /investors and /contacts routes.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).

-- Name search over a large table: row-level security keeps ILIKE (not
-- leakproof) out of index scans, so the trigram index is used here, as the
-- owner, with the caller's scope applied explicitly; the page query then
-- filters by these ids as the caller, under row-level security as usual.
CREATE OR REPLACE FUNCTION investor_ids_named(q text, p_after bigint, p_limit integer) RETURNS SETOF bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
BEGIN
    -- The first matches after the cursor, in id order: the planner walks the
    -- primary key when matches are many, the trigram index when they are few.
    RETURN QUERY EXECUTE
        'SELECT id FROM investor WHERE name ILIKE like_text($1) AND crm_in_scope(unit_path)
            AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3'
        USING q, p_after, p_limit;
END
$fn$;

-- ---- investors ----
CREATE OR REPLACE FUNCTION investor_json(i investor) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', i.id, 'unit_id', i.unit_id, 'name', i.name, 'uscc', i.uscc,
        'origin_region', i.origin_region, 'industry', i.industry, 'chain_role', i.chain_role,
        'notes', i.notes, 'created_at', i.created_at, 'updated_at', i.updated_at, 'version', i.version)
$$;

-- A page: the ids (one more than asked, to know whether a next page
-- exists), then their investors (page_of_ids); a generic plan, as
-- projects_rows.
CREATE OR REPLACE FUNCTION investors_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
    ids bigint[] := investor_ids_page(f, p_after, p_limit + 1);
BEGIN
    RETURN page_of_ids(ids, p_limit, (SELECT json_agg(investor_json(i) ORDER BY i.id)
                                        FROM investor i WHERE i.id = ANY (ids[1:p_limit])));
END
$fn$;

CREATE OR REPLACE FUNCTION investors_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    i investor;
BEGIN
    INSERT INTO investor (unit_id, name, uscc, origin_region, industry, chain_role, notes, created_by)
    VALUES ((b ->> 'unit_id')::bigint, b ->> 'name', nullif(b ->> 'uscc', ''),
            coalesce(b ->> 'origin_region', ''), coalesce(b ->> 'industry', ''),
            coalesce(b ->> 'chain_role', 'none'), coalesce(b ->> 'notes', ''), crm_caller_user())
    RETURNING * INTO i;
    RETURN investor_json(i)::text;
END
$$;

-- An empty USCC is none.
CREATE OR REPLACE FUNCTION investors_update(p_id bigint, p_version integer, b jsonb) RETURNS text LANGUAGE sql AS
$$ SELECT row_patch('investor', 'unit_id, name, uscc, origin_region, industry, chain_role, notes',
                 'investor_json', p_id, p_version,
                 b || CASE WHEN b ->> 'uscc' = '' THEN '{"uscc": null}'::jsonb ELSE '{}' END) $$;

-- ---- contacts ----
CREATE OR REPLACE FUNCTION contact_json(c contact) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', c.id, 'investor_id', c.investor_id, 'name', c.name,
        'title', c.title, 'phone', c.phone, 'email', c.email, 'notes', c.notes,
        'created_at', c.created_at)
$$;

-- NULL (404) when the investor is not visible: a caller learns nothing of
-- another unit's investors, not even that they have no contacts.
CREATE OR REPLACE FUNCTION contacts_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE sql STABLE AS $fn$
SELECT CASE WHEN f ->> 'investor_id' IS NULL
              OR EXISTS (SELECT 1 FROM investor WHERE id = (f ->> 'investor_id')::bigint) THEN
       page_json('contact', 'contact_json', $w$
           ($1 ->> 'investor_id' IS NULL OR r.investor_id = ($1 ->> 'investor_id')::bigint)
       $w$, f, p_after, p_limit)
       END
$fn$;

CREATE OR REPLACE FUNCTION contacts_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    c contact;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM investor WHERE id = (b ->> 'investor_id')::bigint) THEN
        RAISE EXCEPTION 'no such investor' USING ERRCODE = 'CR404';
    END IF;
    INSERT INTO contact (investor_id, name, title, phone, email, notes)
    VALUES ((b ->> 'investor_id')::bigint, b ->> 'name', coalesce(b ->> 'title', ''),
            coalesce(b ->> 'phone', ''), coalesce(b ->> 'email', ''), coalesce(b ->> 'notes', ''))
    RETURNING * INTO c;
    RETURN contact_json(c)::text;
END
$$;

-- The ids of a page of investors, chosen as the owner from the GIN index of
-- the unit the page is drawn from (crm_page_unit: within the caller's scope);
-- investors_page then reads them by id under the policy. A unit filter
-- under the row-level policy is not leakproof, so it would never be an index
-- condition: a township's first page would walk the whole table (91 ms at
-- 100,000 investors).
CREATE OR REPLACE FUNCTION investor_ids_page(f jsonb, p_after bigint, p_limit integer) RETURNS bigint[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    v_unit bigint := crm_page_unit(f);
    cond text := 'r.unit_path @> ARRAY[$4]';
BEGIN
    IF v_unit IS NULL THEN
        RETURN '{}';
    END IF;
    IF f ? 'q' THEN cond := cond || ' AND r.id IN (SELECT investor_ids_named($1 ->> ''q'', $2, $3))'; END IF;
    IF f ? 'industry' THEN cond := cond || ' AND r.industry = ($1 ->> ''industry'')'; END IF;
    IF f ? 'chain_role' THEN cond := cond || ' AND r.chain_role = ($1 ->> ''chain_role'')'; END IF;
    IF f ? 'uscc' THEN cond := cond || ' AND r.uscc = ($1 ->> ''uscc'')'; END IF;
    RETURN ids_page('investor', cond, f, p_after, p_limit, v_unit);
END
$fn$;
REVOKE EXECUTE ON FUNCTION investor_ids_page(jsonb, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION investor_ids_page(jsonb, bigint, integer) TO crm_app;

-- ---- what a taken code tells a township ----

-- Project codes and credit codes are unique across the deployment, so a
-- township that sends a taken one learns that it is taken; decided
-- deliberately: a project code is the county's ledger number (a 409 on
-- `code` says only that the number is used), and a credit code names a
-- company that another unit already works with, which the bureau should
-- know (two townships courting one investor): the 409 says so, without
-- naming the other unit or record, and the attempt is in the log.
CREATE OR REPLACE FUNCTION investor_uscc_taken() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.uscc IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.uscc IS DISTINCT FROM OLD.uscc)
       AND EXISTS (SELECT 1 FROM investor i WHERE i.uscc = NEW.uscc AND i.id IS DISTINCT FROM NEW.id) THEN
        RAISE unique_violation USING COLUMN = 'uscc',
              MESSAGE = 'this company is already an investor of the county (another unit''s record, or yours): ask the investment bureau';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER investor_uscc_taken BEFORE INSERT OR UPDATE OF uscc ON investor
    FOR EACH ROW EXECUTE FUNCTION investor_uscc_taken();
