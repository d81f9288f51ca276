-- Events: what changed, told to whoever listens (the live stream
-- GET /api/v1/events, the webhooks). Every state change writes its event in
-- the changing transaction (the outbox, event_pending); a publisher numbers
-- the committed ones and moves them to event, and NOTIFY tells crm.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- ---- what a change tells ----

-- The event a change of a row makes, from the row as it was (p_old, NULL on
-- insert) and as it is (p_new, NULL on delete): its type and what it says
-- (small: the figures and names a dashboard or another system acts on, not
-- the row). No row when the change tells nothing (a project's progress
-- time, an edit that changed nothing).
--   contract.* and start.*  reported, verified, revoked, changed, deleted
--   project.*               created, stage_changed (from, to), updated
--   interaction.logged      a meeting, a visit, a call
--   problem.*               opened, updated (its status)
--   target.set, quota.set   a unit's figures for a year (a quota has a parent)
--   unit.*                  created, updated
--   score.frozen            a month-end snapshot
CREATE OR REPLACE FUNCTION event_of(p_table text, p_old jsonb, p_new jsonb,
                                    OUT type text, OUT payload jsonb)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    j jsonb := coalesce(p_new, p_old);
    family text := CASE p_table WHEN 'project_start' THEN 'start'
                                WHEN 'score_snapshot' THEN 'score' ELSE p_table END;
BEGIN
    IF p_table IN ('contract', 'project_start') THEN
        type := family || '.' || CASE
            WHEN p_new IS NULL THEN 'deleted'
            WHEN p_old IS NULL THEN 'reported'
            WHEN p_new ->> 'revoked_at' IS NOT NULL AND p_old ->> 'revoked_at' IS NULL THEN 'revoked'
            WHEN p_new ->> 'verified_at' IS NOT NULL AND p_old ->> 'verified_at' IS NULL THEN 'verified'
            WHEN p_new -> 'version' IS DISTINCT FROM p_old -> 'version' THEN 'changed' END;
        payload := jsonb_strip_nulls(jsonb_build_object(
            'project_id', j -> 'project_id', 'kind', j -> 'kind', 'amount_yuan', j -> 'amount_yuan',
            'signed_on', j -> 'signed_on', 'started_on', j -> 'started_on',
            'verified', j ->> 'verified_at' IS NOT NULL, 'revoked', j ->> 'revoked_at' IS NOT NULL,
            'revoke_reason', j -> 'revoke_reason'));
    ELSIF p_table = 'project' THEN
        type := CASE WHEN p_old IS NULL THEN 'project.created'
                     WHEN p_new IS NULL THEN NULL
                     WHEN p_new -> 'stage' IS DISTINCT FROM p_old -> 'stage' THEN 'project.stage_changed'
                     WHEN p_new -> 'version' IS DISTINCT FROM p_old -> 'version' THEN 'project.updated' END;
        payload := jsonb_build_object('code', j -> 'code', 'name', j -> 'name', 'stage', j -> 'stage',
                                      'is_key', j -> 'is_key')
                   || CASE WHEN type = 'project.stage_changed'
                           THEN jsonb_build_object('from', p_old -> 'stage') ELSE '{}' END;
    ELSIF p_table = 'interaction' THEN
        type := CASE WHEN p_old IS NULL THEN 'interaction.logged' END;
        payload := jsonb_build_object('project_id', j -> 'project_id', 'investor_id', j -> 'investor_id',
                                      'kind', j -> 'kind', 'occurred_on', j -> 'occurred_on');
    ELSIF p_table = 'problem' THEN
        type := CASE WHEN p_old IS NULL THEN 'problem.opened'
                     WHEN p_new IS NULL THEN NULL
                     WHEN p_new -> 'version' IS DISTINCT FROM p_old -> 'version' THEN 'problem.updated' END;
        payload := jsonb_build_object('project_id', j -> 'project_id', 'title', j -> 'title',
                                      'status', j -> 'status', 'level', j -> 'level', 'due_on', j -> 'due_on');
    ELSIF p_table = 'target' THEN
        type := CASE WHEN p_new IS NULL THEN NULL
                     WHEN j ->> 'parent_unit_id' IS NULL THEN 'target.set' ELSE 'quota.set' END;
        payload := jsonb_build_object('year', j -> 'year', 'signing_amount_yuan', j -> 'signing_amount_yuan',
                                      'signed_count', j -> 'signed_count', 'start_rate', j -> 'start_rate',
                                      'parent_unit_id', j -> 'parent_unit_id');
    ELSIF p_table = 'unit' THEN
        type := CASE WHEN p_old IS NULL THEN 'unit.created' WHEN p_new IS NULL THEN NULL
                     WHEN p_new <> p_old THEN 'unit.updated' END;
        payload := jsonb_build_object('code', j -> 'code', 'name', j -> 'name', 'kind', j -> 'kind',
                                      'parent_id', j -> 'parent_id');
    ELSIF p_table = 'score_snapshot' THEN
        type := CASE WHEN p_old IS NULL THEN 'score.frozen' END;
        payload := jsonb_build_object('year', j -> 'year', 'month', j -> 'month', 'as_of', j -> 'as_of',
                                      'score', j -> 'score', 'rank', j -> 'rank');
    END IF;
END
$$;

-- Every type of event there is: those event_of makes and the schedule's
-- alerts.digest (94_schedule.sql). What a webhook may name, itself or by its
-- family ('contract.*'); api.events checks that every event written has
-- one of these types.
CREATE OR REPLACE FUNCTION event_types() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['contract.reported', 'contract.verified', 'contract.revoked', 'contract.changed',
                 'contract.deleted', 'start.reported', 'start.verified', 'start.revoked', 'start.changed',
                 'start.deleted', 'project.created', 'project.stage_changed', 'project.updated',
                 'interaction.logged', 'problem.opened', 'problem.updated', 'target.set', 'quota.set',
                 'unit.created', 'unit.updated', 'score.frozen', 'alerts.digest']
$$;

-- Wakes the publisher once the current transaction commits: NOTIFY
-- crm_outbox (one a transaction: PostgreSQL folds identical ones), unless
-- the session's client wakes it itself. crm's connections say they do
-- (crm.outbox_wake = 'client', api/app.c) and crm wakes its publisher when
-- it has answered a write. A NOTIFY costs more than its message: the
-- notifying transactions take a lock they hold until their commit is
-- flushed, so they commit one at a time (issue 16: 1,300 writes a second
-- through crm without it, 950 with it).
CREATE OR REPLACE FUNCTION outbox_wake() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('crm.outbox_wake', true) IS DISTINCT FROM 'client' THEN
        PERFORM pg_notify('crm_outbox', '');
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION outbox_wake() FROM PUBLIC;

-- Writes an event of the current transaction: the outbox. Its scope is the
-- unit's subtree (the unit's path); the actor and request are the caller's.
CREATE OR REPLACE FUNCTION event_emit(p_type text, p_entity text, p_entity_id bigint, p_unit bigint,
                                      p_payload jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO event_pending (type, entity, entity_id, unit_id, unit_path, actor_id, request_id, payload)
    VALUES (p_type, p_entity, p_entity_id, p_unit, crm_unit_path(p_unit), crm_caller_user(),
            crm_request_id(), coalesce(p_payload, '{}'));
    PERFORM outbox_wake();
END
$$;
REVOKE EXECUTE ON FUNCTION event_emit(text, text, bigint, bigint, jsonb) FROM PUBLIC;

-- The events a statement's rows make, one INSERT a statement (an AFTER
-- STATEMENT trigger with its transition tables old_rows and new_rows): a
-- logged meeting costs one more insert, not a row trigger's loop. Each
-- changed row as it was and as it is (NULL before an insert, after a
-- delete) goes through event_of; the unit of a row is the last of its
-- scope path (a unit is its own).
CREATE OR REPLACE FUNCTION events_written() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    olds jsonb[];
    news jsonb[];
    written integer;
BEGIN
    -- A row trigger (project_events_update) passes its row; a statement
    -- trigger's transition table exists only for the operations it names.
    IF TG_LEVEL = 'ROW' THEN
        olds := ARRAY[CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END];
        news := ARRAY[CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END];
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(NULL::jsonb), array_agg(to_jsonb(r)) INTO olds, news FROM new_rows r;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(to_jsonb(o)), array_agg(to_jsonb(r)) INTO olds, news
          FROM new_rows r JOIN old_rows o ON o.id = r.id;
    ELSE
        SELECT array_agg(to_jsonb(o)), array_agg(NULL::jsonb) INTO olds, news FROM old_rows o;
    END IF;
    INSERT INTO event_pending (type, entity, entity_id, unit_id, unit_path, actor_id, request_id, payload)
    SELECT e.type, TG_TABLE_NAME, (c.j ->> 'id')::bigint, u.id, u.path, crm_caller_user(), crm_request_id(),
           e.payload
      FROM (SELECT o, n, coalesce(n, o) AS j FROM unnest(olds, news) AS c (o, n)) c
     CROSS JOIN LATERAL event_of(TG_TABLE_NAME, c.o, c.n) e
      JOIN unit u ON u.id = CASE WHEN TG_TABLE_NAME = 'unit' THEN (c.j ->> 'id')::bigint
                                 ELSE coalesce((c.j -> 'unit_path' ->> -1)::bigint, (c.j ->> 'unit_id')::bigint) END
     WHERE e.type IS NOT NULL;
    GET DIAGNOSTICS written = ROW_COUNT;
    IF written > 0 THEN
        PERFORM outbox_wake();
    END IF;
    RETURN NULL;
END
$$;

-- Attaches events_written to each table as <table>_events_insert, _update
-- and _delete (statement triggers with their transition tables), for the
-- operations p_ops names.
CREATE OR REPLACE PROCEDURE events_attach(p_tables text[], p_ops text[] DEFAULT '{insert, update, delete}')
LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY p_tables LOOP
        IF 'insert' = ANY (p_ops) THEN
            EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows '
                           'FOR EACH STATEMENT EXECUTE FUNCTION events_written()', t || '_events_insert', t);
        END IF;
        IF 'update' = ANY (p_ops) THEN
            EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows '
                           'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_written()',
                           t || '_events_update', t);
        END IF;
        IF 'delete' = ANY (p_ops) THEN
            EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows '
                           'FOR EACH STATEMENT EXECUTE FUNCTION events_written()', t || '_events_delete', t);
        END IF;
    END LOOP;
END
$$;
REVOKE EXECUTE ON PROCEDURE events_attach(text[], text[]) FROM PUBLIC;

CALL events_attach('{contract, project_start, interaction, problem, target, unit, score_snapshot}');
CALL events_attach('{project}', p_ops => '{insert, delete}');
-- A project's update tells something when it bumps the version: a row
-- trigger, whose WHEN spares progress alone (last_progress_at, set by every
-- logged visit and claim, which project_touch leaves unversioned) a
-- statement trigger's call and transition tables to find nothing (0.37 of
-- the 0.9 ms the progress update took).
CREATE OR REPLACE TRIGGER project_events_update AFTER UPDATE ON project
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION events_written();

-- ---- publishing ----

-- Numbers the committed pending events and moves them to event, in one
-- transaction under an advisory lock: one publisher at a time, so ids
-- increase in the order they become visible and a reader holding every id
-- up to n never sees a smaller one appear. Owes each new event to the
-- webhooks that want it, then NOTIFYs crm_event with the last id. Returns
-- the last id published, or NULL when another publisher holds the lock
-- (its NOTIFY will follow).
CREATE OR REPLACE FUNCTION events_publish() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    first_id bigint;
    last_id bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('crm.events_publish')) THEN
        RETURN NULL;
    END IF;
    WITH moved AS (DELETE FROM event_pending RETURNING *),
         numbered AS (
             INSERT INTO event (id, type, entity, entity_id, unit_id, unit_path, at, actor_id, request_id, payload)
             SELECT nextval('event_id_seq'), m.type, m.entity, m.entity_id, m.unit_id, m.unit_path, m.at,
                    m.actor_id, m.request_id, m.payload
               FROM (SELECT * FROM moved ORDER BY seq) m
             RETURNING id)
    SELECT min(id), max(id) INTO first_id, last_id FROM numbered;
    IF last_id IS NOT NULL THEN
        PERFORM webhook_deliveries_add(first_id - 1, last_id);
        PERFORM pg_notify('crm_event', last_id::text);
        RETURN last_id;
    END IF;
    RETURN events_head();
END
$$;
REVOKE EXECUTE ON FUNCTION events_publish() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION events_publish() TO crm_app;

-- The last id published (0 before the first).
CREATE OR REPLACE FUNCTION events_head() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
    SELECT coalesce(max(id), 0) FROM event
$$;
REVOKE EXECUTE ON FUNCTION events_head() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION events_head() TO crm_app;

-- ---- reading ----

-- The one public shape of an event (the stream's data, a webhook's body).
CREATE OR REPLACE FUNCTION event_json(e event) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', e.id, 'type', e.type, 'entity', e.entity, 'entity_id', e.entity_id,
                              'unit_id', e.unit_id, 'at', e.at, 'actor_id', e.actor_id,
                              'request_id', e.request_id, 'data', e.payload)
$$;

-- The events after p_after for the live streams of one crm worker, read
-- once for all its clients: each with the scope roots, among p_roots (the
-- roots of the clients connected), that may see it, by the rule of every
-- row-level policy (crm_in_scope's scope_covers). Owner's rights: the
-- callers are the roots.
CREATE OR REPLACE FUNCTION events_feed(p_after bigint, p_roots bigint[], p_limit integer)
RETURNS TABLE (id bigint, roots bigint[], body text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT e.id, ARRAY(SELECT r FROM unnest(p_roots) r WHERE scope_covers(e.unit_path, r)), event_json(e)::text
      FROM event e
     WHERE e.id > p_after
     ORDER BY e.id
     LIMIT p_limit
$$;
REVOKE EXECUTE ON FUNCTION events_feed(bigint, bigint[], integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION events_feed(bigint, bigint[], integer) TO crm_app;
