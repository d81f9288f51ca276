-- The API's functions over the CRM tables: for each collection a page
-- (filters, keyset after an id, limit), get, create (from the JSON body the
-- service checked for shape), update (only the fields present, at a given
-- version), version and delete. They run as the caller (SECURITY INVOKER):
-- row-level security and the triggers of 0003 decide what is allowed.
-- A page is {"items": [...], "next_after": id or null}. Pages run their query
-- with EXECUTE, so that it is planned with the filters' values: planned
-- blind, "(filter IS NULL OR ...)" looks selective and the planner sorts the
-- whole table instead of walking the primary key.

-- Escapes LIKE's wildcards in user text.
CREATE FUNCTION like_text(t text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT '%' || replace(replace(replace(t, '\', '\\'), '%', '\%'), '_', '\_') || '%' $$;

-- Name search over a large table: row-level security keeps ILIKE (not
-- leakproof) out of index scans, so the trigram index is used here, as the
-- owner, with the caller's scope applied explicitly; the page query then
-- filters by these ids as the caller, under row-level security as usual.
CREATE FUNCTION investor_ids_named(q text, p_after bigint, p_limit integer) RETURNS SETOF bigint
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

CREATE FUNCTION project_ids_named(q text, p_after bigint, p_limit integer) RETURNS SETOF bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
BEGIN
    RETURN QUERY EXECUTE
        'SELECT id FROM project WHERE (name ILIKE like_text($1) OR code = $1) AND crm_in_scope(unit_path)
            AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3'
        USING q, p_after, p_limit;
END
$fn$;

-- ---- investors ----

CREATE FUNCTION investor_json(i investor) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', i.id, 'unit_id', i.unit_id, 'name', i.name, 'uscc', i.uscc,
        'origin_region', i.origin_region, 'industry', i.industry, 'chain_role', i.chain_role,
        'notes', i.notes, 'created_at', i.created_at, 'updated_at', i.updated_at, 'version', i.version)
$$;

CREATE FUNCTION investors_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    cond text := '';
    page text;
BEGIN
    -- Only the filters given become conditions, so that each query is
    -- planned for what it asks (a name search through the trigram index).
    IF f ? 'unit_id' THEN cond := cond || ' AND i.unit_path @> ARRAY[($1 ->> ''unit_id'')::bigint]'; END IF;
    IF f ? 'q' THEN cond := cond || ' AND i.id IN (SELECT investor_ids_named($1 ->> ''q'', $2, $3 + 1))'; END IF;
    IF f ? 'industry' THEN cond := cond || ' AND i.industry = ($1 ->> ''industry'')'; END IF;
    IF f ? 'chain_role' THEN cond := cond || ' AND i.chain_role = ($1 ->> ''chain_role'')'; END IF;
    IF f ? 'uscc' THEN cond := cond || ' AND i.uscc = ($1 ->> ''uscc'')'; END IF;
    IF p_after IS NOT NULL THEN cond := cond || ' AND i.id > $2'; END IF;
    EXECUTE format($q$
        WITH page AS (
            SELECT i.id, investor_json(i) AS j FROM investor i WHERE true %s
             ORDER BY i.id LIMIT $3 + 1),
        numbered AS (SELECT page.*, row_number() OVER (ORDER BY id) AS n FROM page)
        SELECT json_build_object(
            'items', coalesce(json_agg(j ORDER BY id) FILTER (WHERE n <= $3), '[]'),
            'next_after', CASE WHEN count(*) > $3 THEN max(id) FILTER (WHERE n <= $3) END)::text
          FROM numbered
    $q$, cond) INTO page USING f, p_after, p_limit;
    RETURN page;
END
$fn$;

CREATE FUNCTION investors_get(p_id bigint) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT investor_json(i)::text FROM investor i WHERE i.id = p_id $$;

CREATE FUNCTION investors_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
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

CREATE FUNCTION investors_update(p_id bigint, p_version integer, b jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    i investor;
BEGIN
    UPDATE investor SET
        unit_id = CASE WHEN b ? 'unit_id' THEN (b ->> 'unit_id')::bigint ELSE unit_id END,
        name = CASE WHEN b ? 'name' THEN b ->> 'name' ELSE name END,
        uscc = CASE WHEN b ? 'uscc' THEN nullif(b ->> 'uscc', '') ELSE uscc END,
        origin_region = CASE WHEN b ? 'origin_region' THEN b ->> 'origin_region' ELSE origin_region END,
        industry = CASE WHEN b ? 'industry' THEN b ->> 'industry' ELSE industry END,
        chain_role = CASE WHEN b ? 'chain_role' THEN b ->> 'chain_role' ELSE chain_role END,
        notes = CASE WHEN b ? 'notes' THEN b ->> 'notes' ELSE notes END
     WHERE id = p_id AND version = p_version
    RETURNING * INTO i;
    RETURN CASE WHEN FOUND THEN investor_json(i)::text END;
END
$$;

CREATE FUNCTION investors_version(p_id bigint) RETURNS integer LANGUAGE sql STABLE AS
$$ SELECT version FROM investor WHERE id = p_id $$;

CREATE FUNCTION investors_delete(p_id bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RAISE feature_not_supported USING MESSAGE = 'investors are not deleted';
END
$$;

-- ---- contacts ----

CREATE FUNCTION contact_json(c contact) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', c.id, 'investor_id', c.investor_id, 'name', c.name,
        'title', c.title, 'phone', c.phone, 'email', c.email, 'notes', c.notes,
        'created_at', c.created_at)
$$;

-- NULL (404) when the investor is not visible: a caller learns nothing of
-- another unit's investors, not even that they have no contacts.
CREATE FUNCTION contacts_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    page text;
BEGIN
    EXECUTE $q$
            WITH visible AS (SELECT 1 FROM investor WHERE id = ($1 ->> 'investor_id')::bigint),
            page AS (
                SELECT c.id, contact_json(c) AS j FROM contact c
                 WHERE ($2 IS NULL OR c.id > $2)
                   AND ($1 ->> 'investor_id' IS NULL OR c.investor_id = ($1 ->> 'investor_id')::bigint)
                 ORDER BY c.id LIMIT $3 + 1),
            numbered AS (SELECT page.*, row_number() OVER (ORDER BY id) AS n FROM page)
            SELECT CASE WHEN $1 ->> 'investor_id' IS NULL OR EXISTS (SELECT 1 FROM visible) THEN
                   json_build_object(
                       'items', coalesce(json_agg(j ORDER BY id) FILTER (WHERE n <= $3), '[]'),
                       'next_after', CASE WHEN count(*) > $3 THEN max(id) FILTER (WHERE n <= $3) END)::text
                   END
              FROM numbered
    $q$ INTO page USING f, p_after, p_limit;
    RETURN page;
END
$fn$;

CREATE FUNCTION contacts_get(p_id bigint) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT contact_json(c)::text FROM contact c WHERE c.id = p_id $$;

CREATE FUNCTION contacts_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
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

CREATE FUNCTION contacts_update(p_id bigint, p_version integer, b jsonb) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RAISE feature_not_supported USING MESSAGE = 'contacts are replaced, not changed';
END
$$;

CREATE FUNCTION contacts_version(p_id bigint) RETURNS integer LANGUAGE sql STABLE AS
$$ SELECT 1 FROM contact WHERE id = p_id $$;

CREATE FUNCTION contacts_delete(p_id bigint) RETURNS bigint LANGUAGE sql AS
$$ DELETE FROM contact WHERE id = p_id RETURNING id $$;

-- ---- projects ----

CREATE FUNCTION projects_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    cond text := '';
    page text;
BEGIN
    -- As investors_page: only the filters given become conditions.
    IF f ? 'unit_id' THEN cond := cond || ' AND p.unit_path @> ARRAY[($1 ->> ''unit_id'')::bigint]'; END IF;
    IF f ? 'stage' THEN cond := cond || ' AND p.stage = ($1 ->> ''stage'')'; END IF;
    IF f ? 'chain' THEN cond := cond || ' AND p.industry_chain = ($1 ->> ''chain'')'; END IF;
    IF f ? 'is_key' THEN cond := cond || ' AND p.is_key = ($1 ->> ''is_key'')::boolean'; END IF;
    IF f ? 'leader_id' THEN cond := cond || ' AND p.leader_id = ($1 ->> ''leader_id'')::bigint'; END IF;
    IF f ? 'investor_id' THEN cond := cond || ' AND p.investor_id = ($1 ->> ''investor_id'')::bigint'; END IF;
    IF f ? 'year' THEN
        cond := cond || ' AND p.signed_on >= make_date(($1 ->> ''year'')::int, 1, 1)'
                     || ' AND p.signed_on < make_date(($1 ->> ''year'')::int + 1, 1, 1)';
    END IF;
    IF f ? 'q' THEN cond := cond || ' AND p.id IN (SELECT project_ids_named($1 ->> ''q'', $2, $3 + 1))'; END IF;
    IF p_after IS NOT NULL THEN cond := cond || ' AND p.id > $2'; END IF;
    EXECUTE format($q$
        WITH page AS (
            SELECT p.id, project_json(p) AS j FROM project p WHERE true %s
             ORDER BY p.id LIMIT $3 + 1),
        numbered AS (SELECT page.*, row_number() OVER (ORDER BY id) AS n FROM page)
        SELECT json_build_object(
            'items', coalesce(json_agg(j ORDER BY id) FILTER (WHERE n <= $3), '[]'),
            'next_after', CASE WHEN count(*) > $3 THEN max(id) FILTER (WHERE n <= $3) END)::text
          FROM numbered
    $q$, cond) INTO page USING f, p_after, p_limit;
    RETURN page;
END
$fn$;

CREATE FUNCTION projects_get(p_id bigint) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT project_json(p)::text FROM project p WHERE p.id = p_id $$;

CREATE FUNCTION projects_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    p project;
BEGIN
    INSERT INTO project (code, name, unit_id, investor_id, leader_id, industry_chain, park,
                         planned_investment_yuan, is_key, five_one, plan, planned_start_on, stage,
                         created_by)
    VALUES (b ->> 'code', b ->> 'name', (b ->> 'unit_id')::bigint, (b ->> 'investor_id')::bigint,
            (b ->> 'leader_id')::bigint, coalesce(b ->> 'industry_chain', ''),
            coalesce(b ->> 'park', ''), (b ->> 'planned_investment_yuan')::bigint,
            coalesce((b ->> 'is_key')::boolean, false), coalesce(b -> 'five_one', '{}'),
            coalesce(b ->> 'plan', ''), (b ->> 'planned_start_on')::date,
            coalesce(b ->> 'stage', 'lead'), crm_caller_user())
    RETURNING * INTO p;
    RETURN project_json(p)::text;
END
$$;

CREATE FUNCTION projects_update(p_id bigint, p_version integer, b jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    p project;
BEGIN
    UPDATE project SET
        name = CASE WHEN b ? 'name' THEN b ->> 'name' ELSE name END,
        unit_id = CASE WHEN b ? 'unit_id' THEN (b ->> 'unit_id')::bigint ELSE unit_id END,
        investor_id = CASE WHEN b ? 'investor_id' THEN (b ->> 'investor_id')::bigint ELSE investor_id END,
        leader_id = CASE WHEN b ? 'leader_id' THEN (b ->> 'leader_id')::bigint ELSE leader_id END,
        industry_chain = CASE WHEN b ? 'industry_chain' THEN b ->> 'industry_chain' ELSE industry_chain END,
        park = CASE WHEN b ? 'park' THEN b ->> 'park' ELSE park END,
        planned_investment_yuan = CASE WHEN b ? 'planned_investment_yuan'
                                       THEN (b ->> 'planned_investment_yuan')::bigint
                                       ELSE planned_investment_yuan END,
        is_key = CASE WHEN b ? 'is_key' THEN (b ->> 'is_key')::boolean ELSE is_key END,
        five_one = CASE WHEN b ? 'five_one' THEN b -> 'five_one' ELSE five_one END,
        plan = CASE WHEN b ? 'plan' THEN b ->> 'plan' ELSE plan END,
        planned_start_on = CASE WHEN b ? 'planned_start_on' THEN (b ->> 'planned_start_on')::date
                                ELSE planned_start_on END
     WHERE id = p_id AND version = p_version
    RETURNING * INTO p;
    RETURN CASE WHEN FOUND THEN project_json(p)::text END;
END
$$;

CREATE FUNCTION projects_version(p_id bigint) RETURNS integer LANGUAGE sql STABLE AS
$$ SELECT version FROM project WHERE id = p_id $$;

CREATE FUNCTION projects_delete(p_id bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RAISE feature_not_supported USING MESSAGE = 'projects are terminated, not deleted';
END
$$;

-- The audit entries of a project and of its claims, interactions and
-- problems, oldest first; NULL when the caller cannot see the project.
CREATE FUNCTION project_history(p_id bigint) RETURNS jsonb LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM project WHERE id = p_id AND crm_in_scope(unit_path)) THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object('items', coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', a.id, 'at', a.at, 'actor_id', a.actor_id,
                   'actor_name', (SELECT coalesce(nullif(u.display_name, ''), u.username)
                                    FROM app_user u WHERE u.id = a.actor_id),
                   'request_id', a.request_id, 'table', a.table_name, 'row_id', a.row_id,
                   'action', a.action, 'before', a.before, 'after', a.after) ORDER BY a.id)
          FROM audit_log a WHERE a.project_id = p_id), '[]'));
END
$$;

-- ---- claims ----

CREATE FUNCTION contract_json(c contract) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', c.id, 'project_id', c.project_id, 'kind', c.kind,
        'amount_yuan', c.amount_yuan, 'signed_on', c.signed_on, 'evidence', c.evidence,
        'state', claim_state(c.verified_at, c.revoked_at),
        'reported_by', c.reported_by, 'reported_at', c.reported_at,
        'verified_by', c.verified_by, 'verified_at', c.verified_at,
        'revoked_by', c.revoked_by, 'revoked_at', c.revoked_at, 'revoke_reason', c.revoke_reason,
        'version', c.version)
$$;

CREATE FUNCTION start_json(s project_start) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', s.id, 'project_id', s.project_id, 'started_on', s.started_on,
        'evidence', s.evidence, 'state', claim_state(s.verified_at, s.revoked_at),
        'reported_by', s.reported_by, 'reported_at', s.reported_at,
        'verified_by', s.verified_by, 'verified_at', s.verified_at,
        'revoked_by', s.revoked_by, 'revoked_at', s.revoked_at, 'revoke_reason', s.revoke_reason,
        'version', s.version)
$$;

CREATE FUNCTION contracts_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    page text;
BEGIN
    EXECUTE $q$
            WITH page AS (
                SELECT c.id, contract_json(c) AS j FROM contract c
                 WHERE ($2 IS NULL OR c.id > $2)
                   AND ($1 ->> 'project_id' IS NULL OR c.project_id = ($1 ->> 'project_id')::bigint)
                   AND ($1 ->> 'unit_id' IS NULL OR c.unit_path @> ARRAY[($1 ->> 'unit_id')::bigint])
                   AND ($1 ->> 'kind' IS NULL OR c.kind = $1 ->> 'kind')
                   AND ($1 ->> 'state' IS NULL OR claim_state(c.verified_at, c.revoked_at) = $1 ->> 'state')
                   AND ($1 ->> 'year' IS NULL OR extract(year FROM c.signed_on) = ($1 ->> 'year')::int)
                 ORDER BY c.id LIMIT $3 + 1),
            numbered AS (SELECT page.*, row_number() OVER (ORDER BY id) AS n FROM page)
            SELECT json_build_object(
                'items', coalesce(json_agg(j ORDER BY id) FILTER (WHERE n <= $3), '[]'),
                'next_after', CASE WHEN count(*) > $3 THEN max(id) FILTER (WHERE n <= $3) END)::text
              FROM numbered
    $q$ INTO page USING f, p_after, p_limit;
    RETURN page;
END
$fn$;

CREATE FUNCTION contracts_get(p_id bigint) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT contract_json(c)::text FROM contract c WHERE c.id = p_id $$;

CREATE FUNCTION contracts_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    c contract;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM project WHERE id = (b ->> 'project_id')::bigint) THEN
        RAISE foreign_key_violation USING MESSAGE = 'no such project', COLUMN = 'project_id';
    END IF;
    INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence)
    VALUES ((b ->> 'project_id')::bigint, b ->> 'kind', (b ->> 'amount_yuan')::bigint,
            (b ->> 'signed_on')::date, b ->> 'evidence')
    RETURNING * INTO c;
    RETURN contract_json(c)::text;
END
$$;

CREATE FUNCTION contracts_update(p_id bigint, p_version integer, b jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    c contract;
BEGIN
    UPDATE contract SET
        kind = CASE WHEN b ? 'kind' THEN b ->> 'kind' ELSE kind END,
        amount_yuan = CASE WHEN b ? 'amount_yuan' THEN (b ->> 'amount_yuan')::bigint ELSE amount_yuan END,
        signed_on = CASE WHEN b ? 'signed_on' THEN (b ->> 'signed_on')::date ELSE signed_on END,
        evidence = CASE WHEN b ? 'evidence' THEN b ->> 'evidence' ELSE evidence END
     WHERE id = p_id AND version = p_version
    RETURNING * INTO c;
    RETURN CASE WHEN FOUND THEN contract_json(c)::text END;
END
$$;

CREATE FUNCTION contracts_version(p_id bigint) RETURNS integer LANGUAGE sql STABLE AS
$$ SELECT version FROM contract WHERE id = p_id $$;

CREATE FUNCTION contracts_delete(p_id bigint) RETURNS bigint LANGUAGE sql AS
$$ DELETE FROM contract WHERE id = p_id RETURNING id $$;

-- Verifying and revoking a claim, the same for both claim tables: the
-- claim as the caller sees it (NULL when not visible), refused when it is
-- already verified or revoked; the triggers of 0003 check the rest.
CREATE FUNCTION claim_verify(tbl regclass, p_id bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    j jsonb;
BEGIN
    EXECUTE format('SELECT claim_state(verified_at, revoked_at) FROM %s WHERE id = $1', tbl)
       INTO state USING p_id;
    IF state IS NULL THEN RETURN NULL; END IF;
    IF state <> 'reported' THEN
        RAISE check_violation USING MESSAGE = format('the claim is already %s', state);
    END IF;
    EXECUTE format('UPDATE %s t SET verified_at = now(), verified_by = crm_caller_user() WHERE id = $1 '
                   'RETURNING %s(t)', tbl, CASE WHEN tbl = 'contract'::regclass THEN 'contract_json'
                                                 ELSE 'start_json' END)
       INTO j USING p_id;
    RETURN j::text;
END
$$;

CREATE FUNCTION claim_revoke(tbl regclass, p_id bigint, p_reason text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    j jsonb;
BEGIN
    EXECUTE format('SELECT claim_state(verified_at, revoked_at) FROM %s WHERE id = $1', tbl)
       INTO state USING p_id;
    IF state IS NULL THEN RETURN NULL; END IF;
    IF state = 'revoked' THEN
        RAISE check_violation USING MESSAGE = 'the claim is already revoked';
    END IF;
    EXECUTE format('UPDATE %s t SET revoked_at = now(), revoked_by = crm_caller_user(), revoke_reason = $2 '
                   'WHERE id = $1 RETURNING %s(t)', tbl, CASE WHEN tbl = 'contract'::regclass
                                                              THEN 'contract_json' ELSE 'start_json' END)
       INTO j USING p_id, p_reason;
    RETURN j::text;
END
$$;

CREATE FUNCTION contract_verify(p_id bigint) RETURNS text LANGUAGE sql AS
$$ SELECT claim_verify('contract', p_id) $$;

CREATE FUNCTION contract_revoke(p_id bigint, p_reason text) RETURNS text LANGUAGE sql AS
$$ SELECT claim_revoke('contract', p_id, p_reason) $$;


CREATE FUNCTION starts_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    page text;
BEGIN
    EXECUTE $q$
            WITH page AS (
                SELECT s.id, start_json(s) AS j FROM project_start s
                 WHERE ($2 IS NULL OR s.id > $2)
                   AND ($1 ->> 'project_id' IS NULL OR s.project_id = ($1 ->> 'project_id')::bigint)
                   AND ($1 ->> 'unit_id' IS NULL OR s.unit_path @> ARRAY[($1 ->> 'unit_id')::bigint])
                   AND ($1 ->> 'state' IS NULL OR claim_state(s.verified_at, s.revoked_at) = $1 ->> 'state')
                   AND ($1 ->> 'year' IS NULL OR extract(year FROM s.started_on) = ($1 ->> 'year')::int)
                 ORDER BY s.id LIMIT $3 + 1),
            numbered AS (SELECT page.*, row_number() OVER (ORDER BY id) AS n FROM page)
            SELECT json_build_object(
                'items', coalesce(json_agg(j ORDER BY id) FILTER (WHERE n <= $3), '[]'),
                'next_after', CASE WHEN count(*) > $3 THEN max(id) FILTER (WHERE n <= $3) END)::text
              FROM numbered
    $q$ INTO page USING f, p_after, p_limit;
    RETURN page;
END
$fn$;

CREATE FUNCTION starts_get(p_id bigint) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT start_json(s)::text FROM project_start s WHERE s.id = p_id $$;

CREATE FUNCTION starts_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    s project_start;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM project WHERE id = (b ->> 'project_id')::bigint) THEN
        RAISE foreign_key_violation USING MESSAGE = 'no such project', COLUMN = 'project_id';
    END IF;
    INSERT INTO project_start (project_id, started_on, evidence)
    VALUES ((b ->> 'project_id')::bigint, (b ->> 'started_on')::date, b ->> 'evidence')
    RETURNING * INTO s;
    RETURN start_json(s)::text;
END
$$;

CREATE FUNCTION starts_update(p_id bigint, p_version integer, b jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    s project_start;
BEGIN
    UPDATE project_start SET
        started_on = CASE WHEN b ? 'started_on' THEN (b ->> 'started_on')::date ELSE started_on END,
        evidence = CASE WHEN b ? 'evidence' THEN b ->> 'evidence' ELSE evidence END
     WHERE id = p_id AND version = p_version
    RETURNING * INTO s;
    RETURN CASE WHEN FOUND THEN start_json(s)::text END;
END
$$;

CREATE FUNCTION starts_version(p_id bigint) RETURNS integer LANGUAGE sql STABLE AS
$$ SELECT version FROM project_start WHERE id = p_id $$;

CREATE FUNCTION starts_delete(p_id bigint) RETURNS bigint LANGUAGE sql AS
$$ DELETE FROM project_start WHERE id = p_id RETURNING id $$;

CREATE FUNCTION start_verify(p_id bigint) RETURNS text LANGUAGE sql AS
$$ SELECT claim_verify('project_start', p_id) $$;

CREATE FUNCTION start_revoke(p_id bigint, p_reason text) RETURNS text LANGUAGE sql AS
$$ SELECT claim_revoke('project_start', p_id, p_reason) $$;

-- ---- interactions ----

CREATE FUNCTION interaction_json(i interaction) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', i.id, 'unit_id', i.unit_id, 'project_id', i.project_id,
        'investor_id', i.investor_id, 'kind', i.kind, 'occurred_on', i.occurred_on,
        'place', i.place, 'summary', i.summary,
        'leader_ids', coalesce((SELECT jsonb_agg(l.leader_id ORDER BY l.leader_id)
                                  FROM interaction_leader l WHERE l.interaction_id = i.id), '[]'),
        'participants', to_jsonb(i.participants), 'next_step', i.next_step,
        'next_step_due', i.next_step_due, 'created_by', i.created_by, 'created_at', i.created_at,
        'updated_at', i.updated_at, 'version', i.version)
$$;

CREATE FUNCTION interactions_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    page text;
BEGIN
    EXECUTE $q$
            WITH page AS (
                SELECT i.id, interaction_json(i) AS j FROM interaction i
                 WHERE ($2 IS NULL OR i.id > $2)
                   AND ($1 ->> 'unit_id' IS NULL OR i.unit_path @> ARRAY[($1 ->> 'unit_id')::bigint])
                   AND ($1 ->> 'project_id' IS NULL OR i.project_id = ($1 ->> 'project_id')::bigint)
                   AND ($1 ->> 'investor_id' IS NULL OR i.investor_id = ($1 ->> 'investor_id')::bigint)
                   AND ($1 ->> 'kind' IS NULL OR i.kind = $1 ->> 'kind')
                   AND ($1 ->> 'leader_id' IS NULL OR EXISTS (
                           SELECT 1 FROM interaction_leader l WHERE l.interaction_id = i.id
                              AND l.leader_id = ($1 ->> 'leader_id')::bigint))
                   AND ($1 ->> 'year' IS NULL OR extract(year FROM i.occurred_on) = ($1 ->> 'year')::int)
                   AND ($1 ->> 'q' IS NULL OR i.summary ILIKE like_text($1 ->> 'q'))
                 ORDER BY i.id LIMIT $3 + 1),
            numbered AS (SELECT page.*, row_number() OVER (ORDER BY id) AS n FROM page)
            SELECT json_build_object(
                'items', coalesce(json_agg(j ORDER BY id) FILTER (WHERE n <= $3), '[]'),
                'next_after', CASE WHEN count(*) > $3 THEN max(id) FILTER (WHERE n <= $3) END)::text
              FROM numbered
    $q$ INTO page USING f, p_after, p_limit;
    RETURN page;
END
$fn$;

CREATE FUNCTION interactions_get(p_id bigint) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT interaction_json(i)::text FROM interaction i WHERE i.id = p_id $$;

CREATE FUNCTION interaction_set_leaders(p_id bigint, p_leaders jsonb) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM interaction_leader WHERE interaction_id = p_id;
    INSERT INTO interaction_leader (interaction_id, leader_id)
    SELECT DISTINCT p_id, value::text::bigint FROM jsonb_array_elements(p_leaders);
$$;

CREATE FUNCTION interactions_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    i interaction;
BEGIN
    INSERT INTO interaction (unit_id, project_id, investor_id, kind, occurred_on, place, summary,
                             participants, next_step, next_step_due)
    VALUES ((b ->> 'unit_id')::bigint, (b ->> 'project_id')::bigint, (b ->> 'investor_id')::bigint,
            b ->> 'kind', (b ->> 'occurred_on')::date, coalesce(b ->> 'place', ''), b ->> 'summary',
            coalesce(ARRAY(SELECT jsonb_array_elements_text(b -> 'participants')), '{}'),
            coalesce(b ->> 'next_step', ''), (b ->> 'next_step_due')::date)
    RETURNING * INTO i;
    IF b ? 'leader_ids' THEN
        PERFORM interaction_set_leaders(i.id, b -> 'leader_ids');
    END IF;
    RETURN interaction_json(i)::text;
END
$$;

CREATE FUNCTION interactions_update(p_id bigint, p_version integer, b jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    i interaction;
BEGIN
    UPDATE interaction SET
        kind = CASE WHEN b ? 'kind' THEN b ->> 'kind' ELSE kind END,
        occurred_on = CASE WHEN b ? 'occurred_on' THEN (b ->> 'occurred_on')::date ELSE occurred_on END,
        place = CASE WHEN b ? 'place' THEN b ->> 'place' ELSE place END,
        summary = CASE WHEN b ? 'summary' THEN b ->> 'summary' ELSE summary END,
        participants = CASE WHEN b ? 'participants'
                            THEN ARRAY(SELECT jsonb_array_elements_text(b -> 'participants'))
                            ELSE participants END,
        next_step = CASE WHEN b ? 'next_step' THEN b ->> 'next_step' ELSE next_step END,
        next_step_due = CASE WHEN b ? 'next_step_due' THEN (b ->> 'next_step_due')::date
                             ELSE next_step_due END
     WHERE id = p_id AND version = p_version
    RETURNING * INTO i;
    IF NOT FOUND THEN RETURN NULL; END IF;
    IF b ? 'leader_ids' THEN
        PERFORM interaction_set_leaders(i.id, b -> 'leader_ids');
    END IF;
    RETURN interaction_json(i)::text;
END
$$;

CREATE FUNCTION interactions_version(p_id bigint) RETURNS integer LANGUAGE sql STABLE AS
$$ SELECT version FROM interaction WHERE id = p_id $$;

CREATE FUNCTION interactions_delete(p_id bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RAISE feature_not_supported USING MESSAGE = 'interactions are kept';
END
$$;

-- What each leader personally did in a year: meetings, site visits
-- accompanied, negotiations, problems coordinated, calls, and for which
-- projects; plus the projects they are the 包联 leader of.
CREATE FUNCTION stats_leaders(p_year integer) RETURNS jsonb LANGUAGE sql STABLE AS $$
    WITH acts AS (
        SELECT l.leader_id, i.kind, i.project_id
          FROM interaction_leader l JOIN interaction i ON i.id = l.interaction_id
         WHERE i.occurred_on >= make_date(p_year, 1, 1) AND i.occurred_on < make_date(p_year + 1, 1, 1)),
    leaders AS (
        SELECT DISTINCT leader_id FROM acts
        UNION
        SELECT DISTINCT leader_id FROM project WHERE leader_id IS NOT NULL)
    SELECT jsonb_build_object('year', p_year, 'leaders', coalesce(jsonb_agg(jsonb_build_object(
        'leader_id', ld.leader_id,
        'name', (SELECT coalesce(nullif(u.display_name, ''), u.username) FROM app_user u
                  WHERE u.id = ld.leader_id),
        'meetings', (SELECT count(*) FROM acts a WHERE a.leader_id = ld.leader_id AND a.kind = 'meeting'),
        'site_visits', (SELECT count(*) FROM acts a WHERE a.leader_id = ld.leader_id AND a.kind = 'site_visit'),
        'negotiations', (SELECT count(*) FROM acts a WHERE a.leader_id = ld.leader_id AND a.kind = 'negotiation'),
        'coordinations', (SELECT count(*) FROM acts a WHERE a.leader_id = ld.leader_id AND a.kind = 'coordination'),
        'calls', (SELECT count(*) FROM acts a WHERE a.leader_id = ld.leader_id AND a.kind = 'call'),
        'projects', coalesce((SELECT jsonb_agg(DISTINCT a.project_id) FROM acts a
                               WHERE a.leader_id = ld.leader_id AND a.project_id IS NOT NULL), '[]'),
        'lead_projects', coalesce((SELECT jsonb_agg(p.id ORDER BY p.id) FROM project p
                                    WHERE p.leader_id = ld.leader_id), '[]'))
        ORDER BY ld.leader_id), '[]'))
      FROM leaders ld
$$;

-- ---- problems ----

CREATE FUNCTION problem_json(p problem) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', p.id, 'project_id', p.project_id, 'owner_unit_id', p.owner_unit_id,
        'title', p.title, 'description', p.description, 'due_on', p.due_on, 'level', p.level,
        'status', p.status, 'overdue', p.status IN ('open', 'in_progress') AND p.due_on < crm_today(),
        'resolved_at', p.resolved_at, 'created_by', p.created_by, 'created_at', p.created_at,
        'updated_at', p.updated_at, 'version', p.version)
$$;

CREATE FUNCTION problems_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    page text;
BEGIN
    EXECUTE $q$
            WITH page AS (
                SELECT p.id, problem_json(p) AS j FROM problem p
                 WHERE ($2 IS NULL OR p.id > $2)
                   AND ($1 ->> 'unit_id' IS NULL OR p.unit_path @> ARRAY[($1 ->> 'unit_id')::bigint])
                   AND ($1 ->> 'project_id' IS NULL OR p.project_id = ($1 ->> 'project_id')::bigint)
                   AND ($1 ->> 'owner_unit_id' IS NULL OR p.owner_unit_id = ($1 ->> 'owner_unit_id')::bigint)
                   AND ($1 ->> 'status' IS NULL OR p.status = $1 ->> 'status')
                   AND ($1 ->> 'level' IS NULL OR p.level = ($1 ->> 'level')::int)
                   AND ($1 ->> 'overdue' IS NULL OR (p.status IN ('open', 'in_progress') AND p.due_on < crm_today())
                                                   = ($1 ->> 'overdue')::boolean)
                 ORDER BY p.id LIMIT $3 + 1),
            numbered AS (SELECT page.*, row_number() OVER (ORDER BY id) AS n FROM page)
            SELECT json_build_object(
                'items', coalesce(json_agg(j ORDER BY id) FILTER (WHERE n <= $3), '[]'),
                'next_after', CASE WHEN count(*) > $3 THEN max(id) FILTER (WHERE n <= $3) END)::text
              FROM numbered
    $q$ INTO page USING f, p_after, p_limit;
    RETURN page;
END
$fn$;

CREATE FUNCTION problems_get(p_id bigint) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT problem_json(p)::text FROM problem p WHERE p.id = p_id $$;

CREATE FUNCTION problems_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    p problem;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM project WHERE id = (b ->> 'project_id')::bigint) THEN
        RAISE foreign_key_violation USING MESSAGE = 'no such project', COLUMN = 'project_id';
    END IF;
    INSERT INTO problem (project_id, owner_unit_id, title, description, due_on, level, status)
    VALUES ((b ->> 'project_id')::bigint, (b ->> 'owner_unit_id')::bigint, b ->> 'title',
            coalesce(b ->> 'description', ''), (b ->> 'due_on')::date,
            coalesce((b ->> 'level')::smallint, 1), coalesce(b ->> 'status', 'open'))
    RETURNING * INTO p;
    RETURN problem_json(p)::text;
END
$$;

CREATE FUNCTION problems_update(p_id bigint, p_version integer, b jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    p problem;
BEGIN
    UPDATE problem SET
        owner_unit_id = CASE WHEN b ? 'owner_unit_id' THEN (b ->> 'owner_unit_id')::bigint ELSE owner_unit_id END,
        title = CASE WHEN b ? 'title' THEN b ->> 'title' ELSE title END,
        description = CASE WHEN b ? 'description' THEN b ->> 'description' ELSE description END,
        due_on = CASE WHEN b ? 'due_on' THEN (b ->> 'due_on')::date ELSE due_on END,
        level = CASE WHEN b ? 'level' THEN (b ->> 'level')::smallint ELSE level END,
        status = CASE WHEN b ? 'status' THEN b ->> 'status' ELSE status END
     WHERE id = p_id AND version = p_version
    RETURNING * INTO p;
    RETURN CASE WHEN FOUND THEN problem_json(p)::text END;
END
$$;

CREATE FUNCTION problems_version(p_id bigint) RETURNS integer LANGUAGE sql STABLE AS
$$ SELECT version FROM problem WHERE id = p_id $$;

CREATE FUNCTION problems_delete(p_id bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RAISE feature_not_supported USING MESSAGE = 'problems are closed, not deleted';
END
$$;

-- ---- batches ----

CREATE FUNCTION batch_json(b batch) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', b.id, 'unit_id', b.unit_id, 'kind', b.kind, 'name', b.name,
        'held_on', b.held_on, 'place', b.place,
        'project_ids', coalesce((SELECT jsonb_agg(bp.project_id ORDER BY bp.project_id)
                                   FROM batch_project bp WHERE bp.batch_id = b.id), '[]'),
        'created_at', b.created_at, 'updated_at', b.updated_at, 'version', b.version)
$$;

CREATE FUNCTION batches_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    page text;
BEGIN
    EXECUTE $q$
            WITH page AS (
                SELECT b.id, batch_json(b) AS j FROM batch b
                 WHERE ($2 IS NULL OR b.id > $2)
                   AND ($1 ->> 'unit_id' IS NULL OR b.unit_path @> ARRAY[($1 ->> 'unit_id')::bigint])
                   AND ($1 ->> 'kind' IS NULL OR b.kind = $1 ->> 'kind')
                   AND ($1 ->> 'year' IS NULL OR extract(year FROM b.held_on) = ($1 ->> 'year')::int)
                 ORDER BY b.id LIMIT $3 + 1),
            numbered AS (SELECT page.*, row_number() OVER (ORDER BY id) AS n FROM page)
            SELECT json_build_object(
                'items', coalesce(json_agg(j ORDER BY id) FILTER (WHERE n <= $3), '[]'),
                'next_after', CASE WHEN count(*) > $3 THEN max(id) FILTER (WHERE n <= $3) END)::text
              FROM numbered
    $q$ INTO page USING f, p_after, p_limit;
    RETURN page;
END
$fn$;

CREATE FUNCTION batches_get(p_id bigint) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT batch_json(b)::text FROM batch b WHERE b.id = p_id $$;

CREATE FUNCTION batch_set_projects(p_id bigint, p_projects jsonb) RETURNS void LANGUAGE sql AS $$
    DELETE FROM batch_project WHERE batch_id = p_id;
    INSERT INTO batch_project (batch_id, project_id)
    SELECT DISTINCT p_id, value::text::bigint FROM jsonb_array_elements(p_projects);
$$;

CREATE FUNCTION batches_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r batch;
BEGIN
    INSERT INTO batch (unit_id, kind, name, held_on, place, created_by)
    VALUES ((b ->> 'unit_id')::bigint, b ->> 'kind', b ->> 'name', (b ->> 'held_on')::date,
            coalesce(b ->> 'place', ''), crm_caller_user())
    RETURNING * INTO r;
    IF b ? 'project_ids' THEN
        PERFORM batch_set_projects(r.id, b -> 'project_ids');
    END IF;
    RETURN batch_json(r)::text;
END
$$;

CREATE FUNCTION batches_update(p_id bigint, p_version integer, b jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r batch;
BEGIN
    UPDATE batch SET
        kind = CASE WHEN b ? 'kind' THEN b ->> 'kind' ELSE kind END,
        name = CASE WHEN b ? 'name' THEN b ->> 'name' ELSE name END,
        held_on = CASE WHEN b ? 'held_on' THEN (b ->> 'held_on')::date ELSE held_on END,
        place = CASE WHEN b ? 'place' THEN b ->> 'place' ELSE place END
     WHERE id = p_id AND version = p_version
    RETURNING * INTO r;
    IF NOT FOUND THEN RETURN NULL; END IF;
    IF b ? 'project_ids' THEN
        PERFORM batch_set_projects(r.id, b -> 'project_ids');
    END IF;
    RETURN batch_json(r)::text;
END
$$;

CREATE FUNCTION batches_version(p_id bigint) RETURNS integer LANGUAGE sql STABLE AS
$$ SELECT version FROM batch WHERE id = p_id $$;

CREATE FUNCTION batches_delete(p_id bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RAISE feature_not_supported USING MESSAGE = 'batches are kept';
END
$$;

-- ---- import and export (replaced by 0005_import.sql) ----

CREATE FUNCTION project_import(rows jsonb, all_or_nothing boolean) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    RAISE feature_not_supported USING MESSAGE = 'import is not available yet';
END
$$;

CREATE FUNCTION projects_export(filters jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    RAISE feature_not_supported USING MESSAGE = 'export is not available yet';
END
$$;
