-- Targets and quotas: /targets/{year} and /targets/{year}/quotas. A target (parent_unit_id
-- NULL) is what a unit is given for a year; a quota is a unit's share of its parent's target
-- or quota. Earlier versions are in the audit log.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- A target or quota as the figures show it; NULL when the unit has none.
CREATE OR REPLACE FUNCTION target_json(t target) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN t.unit_id IS NULL THEN NULL ELSE jsonb_build_object(
        'unit_id', t.unit_id, 'parent_unit_id', t.parent_unit_id,
        'signing_amount_yuan', t.signing_amount_yuan, 'signed_count', t.signed_count,
        'start_rate', t.start_rate, 'set_by', t.set_by, 'set_at', t.set_at, 'version', t.version) END
$$;

-- ---- targets and quotas: read and replace ----

-- A target or quota as the lists show it, with its unit's name.
CREATE OR REPLACE FUNCTION target_row_json(t target) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT target_json(t) || jsonb_build_object('unit_name', (SELECT name FROM unit WHERE id = t.unit_id))
$$;
REVOKE EXECUTE ON FUNCTION target_row_json(target) FROM PUBLIC;

-- Targets: those of units in the caller's subtree and of units above it
-- (a township sees the county's target).
CREATE OR REPLACE FUNCTION target_visible(t target) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT crm_in_scope(t.unit_path)
        OR t.unit_id = ANY (crm_unit_path(crm_caller_unit()))
        OR t.parent_unit_id = ANY (crm_unit_path(crm_caller_unit()))
$$;
REVOKE EXECUTE ON FUNCTION target_visible(target) FROM PUBLIC;

-- GET /targets/{year}: the year's targets the caller may see
-- (target_visible), by depth in the tree, then unit.
CREATE OR REPLACE FUNCTION targets_get(p_year integer) RETURNS jsonb LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT jsonb_build_object('year', p_year, 'targets', coalesce(jsonb_agg(target_row_json(t)
                                  ORDER BY array_length(t.unit_path, 1), t.unit_id), '[]'))
      FROM target t
     WHERE t.year = p_year AND t.parent_unit_id IS NULL AND target_visible(t)
$$;

-- GET /targets/{year}/quotas: the year's quotas the caller may see, those
-- under p_parent or all of them, in the same order.
CREATE OR REPLACE FUNCTION quotas_get(p_year integer, p_parent bigint) RETURNS jsonb LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT jsonb_build_object('year', p_year, 'parent_unit_id', p_parent,
                              'quotas', coalesce(jsonb_agg(target_row_json(t)
                                  ORDER BY array_length(t.unit_path, 1), t.unit_id), '[]'))
      FROM target t
     WHERE t.year = p_year AND t.parent_unit_id IS NOT NULL
       AND (p_parent IS NULL OR t.parent_unit_id = p_parent) AND target_visible(t)
$$;

-- A JSON number that is whole, from 0 to p_max; else p_message on p_field.
CREATE OR REPLACE FUNCTION json_whole(v jsonb, p_max numeric, p_message text, p_field text) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF jsonb_typeof(v) IS DISTINCT FROM 'number' OR v::text::numeric <> trunc(v::text::numeric)
       OR v::text::numeric < 0 OR v::text::numeric > p_max THEN
        RAISE check_violation USING MESSAGE = p_message, COLUMN = p_field;
    END IF;
    RETURN v::text::numeric;
END
$$;

-- The three figures of a target or quota from JSON, checked; errors name
-- the field (prefix || name).
CREATE OR REPLACE FUNCTION target_figures(j jsonb, prefix text,
                               OUT amount bigint, OUT cnt integer, OUT rate numeric)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v jsonb;
BEGIN
    IF jsonb_typeof(j) IS DISTINCT FROM 'object' THEN
        RAISE check_violation USING MESSAGE = 'must be an object', COLUMN = rtrim(prefix, '.');
    END IF;
    amount := json_whole(j -> 'signing_amount_yuan', 9000000000000000, 'must be a whole number of yuan, 0 or more',
                         prefix || 'signing_amount_yuan');
    cnt := json_whole(j -> 'signed_count', 1000000000, 'must be a whole number, 0 or more', prefix || 'signed_count');
    v := j -> 'start_rate';
    IF jsonb_typeof(v) IS DISTINCT FROM 'number' OR v::text::numeric < 0 OR v::text::numeric > 1
       OR round(v::text::numeric, 4) <> round(v::text::numeric, 12) THEN
        RAISE check_violation USING MESSAGE = 'must be a fraction from 0 to 1 with at most 4 decimals',
              COLUMN = prefix || 'start_rate';
    END IF;
    rate := round(v::text::numeric, 4);
END
$$;

-- Whether the quotas under a unit cover its target: amounts, counts, and
-- the starts the rates imply. Names the first figure that falls short.
CREATE OR REPLACE FUNCTION quotas_shortfall(p_unit bigint, p_year integer) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN q.n = 0 THEN NULL
                WHEN q.amount < t.signing_amount_yuan THEN 'signing_amount_yuan'
                WHEN q.cnt < t.signed_count THEN 'signed_count'
                WHEN q.starts < t.signed_count * t.start_rate THEN 'start_rate' END
      FROM target t,
           LATERAL (SELECT count(*) AS n, coalesce(sum(c.signing_amount_yuan), 0) AS amount,
                           coalesce(sum(c.signed_count), 0) AS cnt,
                           coalesce(sum(c.signed_count * c.start_rate), 0) AS starts
                      FROM target c WHERE c.parent_unit_id = t.unit_id AND c.year = t.year) q
     WHERE t.unit_id = p_unit AND t.year = p_year
$$;
REVOKE EXECUTE ON FUNCTION quotas_shortfall(bigint, integer) FROM PUBLIC;

-- Sets one unit's target (p_parent NULL) or quota from its JSON item, and
-- checks that the quotas already under it still cover it. Errors name the
-- field as prefix || name.
CREATE OR REPLACE FUNCTION target_set(p_unit bigint, p_year integer, p_parent bigint, p_item jsonb, p_prefix text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    f record := target_figures(p_item, p_prefix);
    short text;
BEGIN
    INSERT INTO target AS t (unit_id, year, parent_unit_id, signing_amount_yuan, signed_count, start_rate, set_by)
    VALUES (p_unit, p_year, p_parent, f.amount, f.cnt, f.rate, crm_caller_user())
    ON CONFLICT (unit_id, year) DO UPDATE
       SET signing_amount_yuan = EXCLUDED.signing_amount_yuan, signed_count = EXCLUDED.signed_count,
           start_rate = EXCLUDED.start_rate, set_by = EXCLUDED.set_by, set_at = now(),
           version = t.version + 1
     WHERE (t.signing_amount_yuan, t.signed_count, t.start_rate)
           IS DISTINCT FROM (EXCLUDED.signing_amount_yuan, EXCLUDED.signed_count, EXCLUDED.start_rate);
    short := quotas_shortfall(p_unit, p_year);
    IF short IS NOT NULL THEN
        RAISE check_violation USING MESSAGE = 'the quotas under this unit do not cover it; change them first',
              COLUMN = p_prefix || short;
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION target_set(bigint, integer, bigint, jsonb, text) FROM PUBLIC;

-- Sets the year's targets (p_parent NULL) or the quotas under p_parent from
-- the JSON array p_items, which errors name p_key ('targets' or 'quotas'),
-- and returns the units set. Each item names a unit once: one in the
-- caller's scope for a target, one directly under p_parent for a quota, and
-- not one that holds the other kind this year.
CREATE OR REPLACE FUNCTION targets_place(p_year integer, p_parent bigint, p_items jsonb, p_key text)
RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
    what text := CASE WHEN p_parent IS NULL THEN 'target' ELSE 'quota' END;
    item jsonb;
    i integer := 0;
    col text;
    uid bigint;
    unit_ids bigint[] := '{}';
BEGIN
    IF jsonb_typeof(p_items) IS DISTINCT FROM 'array' THEN
        RAISE check_violation USING MESSAGE = format('must be an array of %ss', what), COLUMN = p_key;
    END IF;
    FOR item IN SELECT e FROM jsonb_array_elements(p_items) e LOOP
        col := format('%s[%s].unit_id', p_key, i);
        uid := CASE WHEN jsonb_typeof(item -> 'unit_id') = 'number' AND (item ->> 'unit_id') ~ '^[0-9]{1,18}$'
                    THEN (item ->> 'unit_id')::bigint END;
        IF p_parent IS NULL AND NOT crm_unit_in_scope(uid) THEN
            RAISE check_violation USING MESSAGE = 'no such unit in your scope', COLUMN = col;
        ELSIF p_parent IS NOT NULL AND NOT EXISTS (SELECT 1 FROM unit u WHERE u.id = uid AND u.parent_id = p_parent) THEN
            RAISE check_violation USING MESSAGE = 'must be a unit directly under parent_unit_id', COLUMN = col;
        END IF;
        IF uid = ANY (unit_ids) THEN
            RAISE check_violation USING MESSAGE = format('a unit has one %s a year', what), COLUMN = col;
        END IF;
        IF EXISTS (SELECT 1 FROM target t WHERE t.unit_id = uid AND t.year = p_year
                                            AND (t.parent_unit_id IS NULL) = (p_parent IS NOT NULL)) THEN
            RAISE check_violation USING COLUMN = col,
                  MESSAGE = CASE WHEN p_parent IS NULL THEN 'this unit has a quota from its parent this year'
                                 ELSE 'this unit has a target of its own this year' END;
        END IF;
        unit_ids := unit_ids || uid;
        PERFORM target_set(uid, p_year, p_parent, item, format('%s[%s].', p_key, i));
        i := i + 1;
    END LOOP;
    RETURN unit_ids;
END
$$;
REVOKE EXECUTE ON FUNCTION targets_place(integer, bigint, jsonb, text) FROM PUBLIC;

-- PUT /targets/{year}: {"targets": [{unit_id, signing_amount_yuan,
-- signed_count, start_rate}]} replaces the year's targets in the caller's
-- subtree; a target dropped takes its quotas with it.
CREATE OR REPLACE FUNCTION targets_put(p_year integer, p_body jsonb) RETURNS jsonb LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    unit_ids bigint[];
BEGIN
    IF crm_caller_role() IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION 'only administrators set targets' USING ERRCODE = 'CR403';
    END IF;
    unit_ids := targets_place(p_year, NULL, p_body -> 'targets', 'targets');
    DELETE FROM target t
     WHERE t.year = p_year AND t.parent_unit_id IS NULL AND crm_in_scope(t.unit_path)
       AND NOT t.unit_id = ANY (unit_ids);
    RETURN targets_get(p_year);
END
$$;

-- PUT /targets/{year}/quotas: {"parent_unit_id": P, "quotas": [...]}
-- replaces the quotas of P's children, which must cover P's target.
CREATE OR REPLACE FUNCTION quotas_put(p_year integer, p_body jsonb) RETURNS jsonb LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    parent bigint;
    unit_ids bigint[];
    short text;
BEGIN
    IF crm_caller_role() IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION 'only administrators set quotas' USING ERRCODE = 'CR403';
    END IF;
    IF jsonb_typeof(p_body -> 'parent_unit_id') IS DISTINCT FROM 'number'
       OR (p_body ->> 'parent_unit_id') !~ '^[0-9]{1,18}$'
       OR NOT crm_unit_in_scope((p_body ->> 'parent_unit_id')::bigint) THEN
        RAISE check_violation USING MESSAGE = 'no such unit in your scope', COLUMN = 'parent_unit_id';
    END IF;
    parent := (p_body ->> 'parent_unit_id')::bigint;
    IF NOT EXISTS (SELECT 1 FROM target WHERE unit_id = parent AND year = p_year) THEN
        RAISE check_violation USING MESSAGE = format('this unit has no target or quota for %s to divide', p_year),
              COLUMN = 'parent_unit_id';
    END IF;
    unit_ids := targets_place(p_year, parent, p_body -> 'quotas', 'quotas');
    DELETE FROM target t WHERE t.year = p_year AND t.parent_unit_id = parent AND NOT t.unit_id = ANY (unit_ids);
    short := quotas_shortfall(parent, p_year);
    IF short IS NOT NULL THEN
        RAISE check_violation USING MESSAGE = format('the quotas do not cover the parent''s %s', short),
              COLUMN = 'quotas';
    END IF;
    RETURN quotas_get(p_year, parent);
END
$$;
