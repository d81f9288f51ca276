-- Interactions (meetings with investors) and the leaders present: the /interactions routes.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).

CREATE OR REPLACE FUNCTION interaction_rules() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.occurred_on > crm_today() THEN
        RAISE check_violation USING MESSAGE = 'an interaction is logged once it happened', COLUMN = 'occurred_on';
    END IF;
    IF NEW.project_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM project WHERE id = NEW.project_id AND unit_path @> ARRAY[NEW.unit_id]) THEN
        RAISE check_violation USING MESSAGE = 'the project belongs to another unit', COLUMN = 'project_id';
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.created_by := coalesce(crm_caller_user(), NEW.created_by);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER interaction_rules BEFORE INSERT OR UPDATE ON interaction
    FOR EACH ROW EXECUTE FUNCTION interaction_rules();

CREATE OR REPLACE FUNCTION interaction_leader_rules() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM app_user WHERE id = NEW.leader_id AND role = 'leader') THEN
        RAISE check_violation USING MESSAGE = 'a leader present must be a user with the leader role',
              COLUMN = 'leader_ids';
    END IF;
    SELECT unit_path INTO NEW.unit_path FROM interaction WHERE id = NEW.interaction_id;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER interaction_leader_rules BEFORE INSERT OR UPDATE ON interaction_leader
    FOR EACH ROW EXECUTE FUNCTION interaction_leader_rules();

-- An interaction is progress on its project.
CREATE OR REPLACE FUNCTION interaction_progress() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.project_id IS NOT NULL THEN
        UPDATE project SET last_progress_at = now() WHERE id = NEW.project_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER interaction_progress AFTER INSERT ON interaction
    FOR EACH ROW EXECUTE FUNCTION interaction_progress();

-- ---- interactions ----
-- PL/pgSQL, so that its query is planned once per connection: a SQL
-- function with a sub-select is never inlined, and was parsed and planned
-- again at every call (each logged visit answers with it).
CREATE OR REPLACE FUNCTION interaction_json(i interaction) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object('id', i.id, 'unit_id', i.unit_id, 'project_id', i.project_id,
        'investor_id', i.investor_id, 'kind', i.kind, 'occurred_on', i.occurred_on,
        'place', i.place, 'summary', i.summary,
        'leader_ids', coalesce((SELECT jsonb_agg(l.leader_id ORDER BY l.leader_id)
                                  FROM interaction_leader l WHERE l.interaction_id = i.id), '[]'),
        'participants', to_jsonb(i.participants), 'next_step', i.next_step,
        'next_step_due', i.next_step_due, 'created_by', i.created_by, 'created_at', i.created_at,
        'updated_at', i.updated_at, 'version', i.version);
END
$$;

CREATE OR REPLACE FUNCTION interactions_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE sql STABLE AS $fn$
SELECT page_json('interaction', 'interaction_json', $w$
       ($1 ->> 'project_id' IS NULL OR r.project_id = ($1 ->> 'project_id')::bigint)
   AND ($1 ->> 'investor_id' IS NULL OR r.investor_id = ($1 ->> 'investor_id')::bigint)
   AND ($1 ->> 'kind' IS NULL OR r.kind = $1 ->> 'kind')
   AND ($1 ->> 'leader_id' IS NULL OR EXISTS (
           SELECT 1 FROM interaction_leader l WHERE l.interaction_id = r.id
              AND l.leader_id = ($1 ->> 'leader_id')::bigint))
   AND ($1 ->> 'year' IS NULL OR extract(year FROM r.occurred_on) = ($1 ->> 'year')::int)
   AND ($1 ->> 'q' IS NULL OR r.summary ILIKE like_text($1 ->> 'q'))
$w$, f, p_after, p_limit)
$fn$;

-- The leaders present at an interaction, replaced by the body's leader_ids
-- when it has them. PL/pgSQL, whose plan is kept per connection (a SQL
-- function that is not inlined is planned at every call): every logged
-- meeting calls it.
CREATE OR REPLACE FUNCTION interaction_leaders_put(p_id bigint, b jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM children_put('interaction_leader', 'interaction_id', 'leader_id', 'leader_ids', p_id, b);
END
$$;

CREATE OR REPLACE FUNCTION interactions_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
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
    PERFORM interaction_leaders_put(i.id, b);
    RETURN interaction_json(i)::text;
END
$$;

CREATE OR REPLACE FUNCTION interactions_update(p_id bigint, p_version integer, b jsonb) RETURNS text LANGUAGE sql AS
$$ SELECT row_patch('interaction',
                 'kind, occurred_on, place, summary, participants, next_step, next_step_due',
                 'interaction_json', p_id, p_version, b, 'interaction_leaders_put') $$;

