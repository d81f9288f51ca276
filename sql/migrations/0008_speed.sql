-- Speed of the reads every screen makes (issue 6), measured with pgbench on
-- the statements crm sends.
--
-- project_json named the project's unit and 包联 leader through sub-selects
-- under row-level security: the leader's through app_user's policy, a
-- sub-select of its own per row (about half of a point read's time, and of
-- a list page's). The names of the unit a project belongs to and of the
-- leader assigned to it are part of the project: they are looked up as the
-- owner, by id. A township head now also sees the name of their project's
-- county leader, which the policy on app_user used to hide.

CREATE FUNCTION user_display_name(p_id bigint) RETURNS text LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n text;
BEGIN
    SELECT coalesce(nullif(l.display_name, ''), l.username) INTO n FROM app_user l WHERE l.id = p_id;
    RETURN n;
END
$$;

CREATE FUNCTION unit_name_of(p_id bigint) RETURNS text LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n text;
BEGIN
    SELECT u.name INTO n FROM unit u WHERE u.id = p_id;
    RETURN n;
END
$$;

-- And in PL/pgSQL: PostgreSQL does not inline this SQL function, so each
-- query planned its body again (about 0.3 ms of a point read); a PL/pgSQL
-- body's plans are kept for the connection.
CREATE OR REPLACE FUNCTION project_json(p project) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object(
        'id', p.id, 'code', p.code, 'name', p.name, 'unit_id', p.unit_id,
        'unit_name', unit_name_of(p.unit_id),
        'investor_id', p.investor_id,
        'investor_name', (SELECT i.name FROM investor i WHERE i.id = p.investor_id),
        'leader_id', p.leader_id,
        'leader_name', user_display_name(p.leader_id),
        'industry_chain', p.industry_chain, 'park', p.park,
        'planned_investment_yuan', p.planned_investment_yuan, 'is_key', p.is_key,
        'five_one', p.five_one, 'plan', p.plan, 'planned_start_on', p.planned_start_on,
        'expected_sign_on', p.expected_sign_on,
        'stage', p.stage, 'stalled_from', p.stalled_from, 'terminated_reason', p.terminated_reason,
        'signed_on', p.signed_on, 'started_on', p.started_on, 'production_on', p.production_on,
        'capacity_on', p.capacity_on, 'last_progress_at', p.last_progress_at,
        'created_at', p.created_at, 'updated_at', p.updated_at, 'version', p.version);
END
$$;
