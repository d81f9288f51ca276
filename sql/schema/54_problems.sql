-- Problems raised on projects: the /problems routes.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).

CREATE OR REPLACE FUNCTION problem_rules() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    SELECT unit_path INTO NEW.unit_path FROM project WHERE id = NEW.project_id;
    IF NEW.unit_path IS NULL THEN
        RAISE foreign_key_violation USING MESSAGE = 'project does not exist', COLUMN = 'project_id';
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.created_by := coalesce(crm_caller_user(), NEW.created_by);
    END IF;
    IF NEW.status IN ('resolved', 'closed') AND (TG_OP = 'INSERT' OR OLD.status NOT IN ('resolved', 'closed')) THEN
        NEW.resolved_at := now();
    ELSIF NEW.status IN ('open', 'in_progress') THEN
        NEW.resolved_at := NULL;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER problem_rules BEFORE INSERT OR UPDATE ON problem FOR EACH ROW EXECUTE FUNCTION problem_rules();

-- ---- problems ----
CREATE OR REPLACE FUNCTION problem_json(p problem) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', p.id, 'project_id', p.project_id, 'owner_unit_id', p.owner_unit_id,
        'title', p.title, 'description', p.description, 'due_on', p.due_on, 'level', p.level,
        'status', p.status, 'overdue', p.status IN ('open', 'in_progress') AND p.due_on < crm_today(),
        'resolved_at', p.resolved_at, 'created_by', p.created_by, 'created_at', p.created_at,
        'updated_at', p.updated_at, 'version', p.version)
$$;

CREATE OR REPLACE FUNCTION problems_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE sql STABLE AS $fn$
SELECT page_json('problem', 'problem_json', $w$
       ($1 ->> 'project_id' IS NULL OR r.project_id = ($1 ->> 'project_id')::bigint)
   AND ($1 ->> 'owner_unit_id' IS NULL OR r.owner_unit_id = ($1 ->> 'owner_unit_id')::bigint)
   AND ($1 ->> 'status' IS NULL OR r.status = $1 ->> 'status')
   AND ($1 ->> 'level' IS NULL OR r.level = ($1 ->> 'level')::int)
   AND ($1 ->> 'overdue' IS NULL OR (r.status IN ('open', 'in_progress') AND r.due_on < crm_today())
           = ($1 ->> 'overdue')::boolean)
$w$, f, p_after, p_limit)
$fn$;

CREATE OR REPLACE FUNCTION problems_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    p problem;
BEGIN
    INSERT INTO problem (project_id, owner_unit_id, title, description, due_on, level, status)
    VALUES (project_required((b ->> 'project_id')::bigint), (b ->> 'owner_unit_id')::bigint, b ->> 'title',
            coalesce(b ->> 'description', ''), (b ->> 'due_on')::date,
            coalesce((b ->> 'level')::smallint, 1), coalesce(b ->> 'status', 'open'))
    RETURNING * INTO p;
    RETURN problem_json(p)::text;
END
$$;

CREATE OR REPLACE FUNCTION problems_update(p_id bigint, p_version integer, b jsonb) RETURNS text LANGUAGE sql AS
$$ SELECT row_patch('problem', 'owner_unit_id, title, description, due_on, level, status',
                 'problem_json', p_id, p_version, b) $$;

