-- Signing batches (集中签约) and their projects: the /batches routes.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).

CREATE OR REPLACE FUNCTION batch_project_rules() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    b batch;
BEGIN
    SELECT * INTO b FROM batch WHERE id = NEW.batch_id;
    SELECT unit_path INTO NEW.unit_path FROM project WHERE id = NEW.project_id AND unit_path @> ARRAY[b.unit_id];
    IF NEW.unit_path IS NULL THEN
        RAISE check_violation USING MESSAGE = 'the project is not one of the batch unit''s', COLUMN = 'project_ids';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER batch_project_rules BEFORE INSERT OR UPDATE ON batch_project
    FOR EACH ROW EXECUTE FUNCTION batch_project_rules();

-- ---- batches ----
CREATE OR REPLACE FUNCTION batch_json(b batch) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', b.id, 'unit_id', b.unit_id, 'kind', b.kind, 'name', b.name,
        'held_on', b.held_on, 'place', b.place,
        'project_ids', coalesce((SELECT jsonb_agg(bp.project_id ORDER BY bp.project_id)
                                   FROM batch_project bp WHERE bp.batch_id = b.id), '[]'),
        'created_at', b.created_at, 'updated_at', b.updated_at, 'version', b.version)
$$;

CREATE OR REPLACE FUNCTION batches_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE sql STABLE AS $fn$
SELECT page_json('batch', 'batch_json', $w$
       ($1 ->> 'unit_id' IS NULL OR r.unit_path @> ARRAY[($1 ->> 'unit_id')::bigint])
   AND ($1 ->> 'kind' IS NULL OR r.kind = $1 ->> 'kind')
   AND ($1 ->> 'year' IS NULL OR extract(year FROM r.held_on) = ($1 ->> 'year')::int)
$w$, f, p_after, p_limit)
$fn$;

CREATE OR REPLACE FUNCTION batches_get(p_id bigint) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT batch_json(b)::text FROM batch b WHERE b.id = p_id $$;

CREATE OR REPLACE FUNCTION batch_set_projects(p_id bigint, p_projects jsonb) RETURNS void LANGUAGE sql AS $$
    DELETE FROM batch_project WHERE batch_id = p_id;
    INSERT INTO batch_project (batch_id, project_id)
    SELECT DISTINCT p_id, value::text::bigint FROM jsonb_array_elements(p_projects);
$$;

CREATE OR REPLACE FUNCTION batches_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
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

CREATE OR REPLACE FUNCTION batches_update(p_id bigint, p_version integer, b jsonb) RETURNS text
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

CREATE OR REPLACE FUNCTION batches_version(p_id bigint) RETURNS integer LANGUAGE sql STABLE AS
$$ SELECT version FROM batch WHERE id = p_id $$;

