-- Helpers of the pgTAP files (\ir lib/helpers.sql), in pg_temp: rolled back
-- with the rest of the file's transaction.

-- A fixture id by name: test.<name>.
CREATE FUNCTION pg_temp.id(p_name text) RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT current_setting('test.' || p_name)::bigint $$;

-- The rows a statement affected, run with the caller's rights; NULL (and a
-- warning) when it failed, so that the assertion fails instead of the file.
CREATE FUNCTION pg_temp.affected(p_sql text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE p_sql;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'affected(%): % (%)', p_sql, SQLERRM, SQLSTATE;
    RETURN NULL;
END
$$;

-- Plays a caller, as auth_session would set it (NULLs: no caller).
CREATE PROCEDURE pg_temp.act_as(p_user text, p_unit text, p_role text, p_request text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('crm.user_id', coalesce(p_user, ''), true),
            set_config('crm.unit_id', coalesce(p_unit, ''), true),
            set_config('crm.role', coalesce(p_role, ''), true),
            set_config('crm.request_id', coalesce(p_request, ''), true);
END
$$;
