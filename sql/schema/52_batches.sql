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
       ($1 ->> 'kind' IS NULL OR r.kind = $1 ->> 'kind')
   AND ($1 ->> 'year' IS NULL OR extract(year FROM r.held_on) = ($1 ->> 'year')::int)
$w$, f, p_after, p_limit)
$fn$;

-- The projects of a batch, replaced by the body's project_ids when it has them.
CREATE OR REPLACE FUNCTION batch_projects_put(p_id bigint, b jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM children_put('batch_project', 'batch_id', 'project_id', 'project_ids', p_id, b);
END
$$;

CREATE OR REPLACE FUNCTION batches_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r batch;
BEGIN
    INSERT INTO batch (unit_id, kind, name, held_on, place, created_by)
    VALUES ((b ->> 'unit_id')::bigint, b ->> 'kind', b ->> 'name', (b ->> 'held_on')::date,
            coalesce(b ->> 'place', ''), crm_caller_user())
    RETURNING * INTO r;
    PERFORM batch_projects_put(r.id, b);
    RETURN batch_json(r)::text;
END
$$;

CREATE OR REPLACE FUNCTION batches_update(p_id bigint, p_version integer, b jsonb) RETURNS text LANGUAGE sql AS
$$ SELECT row_patch('batch', 'kind, name, held_on, place', 'batch_json', p_id, p_version, b,
                 'batch_projects_put') $$;

