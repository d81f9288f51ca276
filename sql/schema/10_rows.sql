-- What every row gets from its table's triggers: its scope path, its touch time and version,
-- its audit record and its required texts.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- Attaches a trigger function to several tables at once, as the trigger
-- <table>_<p_name>, FOR EACH ROW at p_when: the row machinery below (and
-- unit_accepts in 30_units.sql) is the same on every table that has it, and
-- each list here says which tables those are.
CREATE OR REPLACE PROCEDURE rows_attach(p_name text, p_when text, p_call text, p_tables text[])
LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY p_tables LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER %I %s ON %I FOR EACH ROW EXECUTE FUNCTION %s',
                       t || '_' || p_name, p_when, t, p_call);
    END LOOP;
END
$$;
REVOKE EXECUTE ON PROCEDURE rows_attach(text, text, text, text[]) FROM PUBLIC;

-- Every update bumps the version (the ETag) and the time.
CREATE OR REPLACE FUNCTION row_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CALL rows_attach('touch', 'BEFORE UPDATE', 'row_touch()', '{unit, app_user, investor, interaction, problem, batch}');

-- The audit record of every change to a row, written in the changing
-- transaction: one INSERT a statement (AFTER STATEMENT triggers with their
-- transition tables old_rows and new_rows, as events_written in
-- 92_events.sql), not a row trigger's call per row. Its arguments are the
-- column that names the row's unit, then the redacted columns. The unit
-- column is 'unit_path' for a CRM row (investors, projects, claims,
-- interactions, problems, batches, targets, webhooks), whose unit is the
-- last of its path, a column the record leaves out. The record carries the
-- row's project too (the row itself for a project), so that a project's
-- history is one indexed query. An insert records the row as it became, a
-- delete as it was; an update only the fields it changed (version and
-- updated_at aside), as they were and as they became, found by one join of
-- each row's fields old and new; an update that changes nothing records
-- nothing. A redacted field shows as "[redacted]" (changed when its real
-- value changed). One exception: a project's update is audited by a row
-- trigger, only when it bumps the version (project_audit_update below).
-- (A logged visit, one row: about as costly as the row trigger it
-- replaces; an update of 5,000 investors: half the time.)
CREATE OR REPLACE FUNCTION audit_written() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    unit_col text := TG_ARGV[0];
    redacted text[] := coalesce(TG_ARGV[1:], '{}');
    mask jsonb;
    olds jsonb[];
    news jsonb[];
BEGIN
    -- What a row shows of its redacted columns (every row of the table has
    -- them); NULL when none is, which spares a row the copy || makes.
    IF TG_NARGS > 1 THEN
        mask := (SELECT jsonb_object_agg(c, '[redacted]'::text) FROM unnest(redacted) c);
    END IF;
    -- Inserts, the most frequent writes, straight from their transition table.
    IF TG_LEVEL = 'STATEMENT' AND TG_OP = 'INSERT' THEN
        INSERT INTO audit_log (actor_id, request_id, table_name, row_id, action, unit_id, project_id,
                               before, after)
        SELECT crm_caller_user(), crm_request_id(), TG_TABLE_NAME, r.j ->> 'id', 'insert',
               CASE WHEN unit_col = 'unit_path' THEN (r.j -> 'unit_path' ->> -1)::bigint
                    ELSE (r.j ->> unit_col)::bigint END,
               CASE WHEN TG_TABLE_NAME = 'project' THEN (r.j ->> 'id')::bigint
                    ELSE (r.j ->> 'project_id')::bigint END,
               NULL, CASE WHEN mask IS NULL THEN r.j - 'unit_path' ELSE r.j - 'unit_path' || mask END
          FROM (SELECT to_jsonb(n) AS j FROM new_rows n) r;
        RETURN NULL;
    END IF;
    -- Each changed row as it was and as it is (NULL after a delete): OLD
    -- and NEW for a row trigger (an update), else the transition tables, of
    -- which one exists only for the operations its trigger names.
    IF TG_LEVEL = 'ROW' THEN
        olds := ARRAY[to_jsonb(OLD)];
        news := ARRAY[to_jsonb(NEW)];
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(to_jsonb(o) ORDER BY r.k), array_agg(r.j ORDER BY r.k) INTO olds, news
          FROM (SELECT row_number() OVER () AS k, n.id, to_jsonb(n) AS j FROM new_rows n) r
          JOIN old_rows o ON o.id = r.id;
    ELSE
        SELECT array_agg(to_jsonb(o)), array_agg(NULL::jsonb) INTO olds, news FROM old_rows o;
    END IF;
    -- An update's record: each field as it became joined to the same field
    -- as it was, those that differ.
    INSERT INTO audit_log (actor_id, request_id, table_name, row_id, action, unit_id, project_id,
                           before, after)
    SELECT crm_caller_user(), crm_request_id(), TG_TABLE_NAME, c.j ->> 'id', lower(TG_OP),
           CASE WHEN unit_col = 'unit_path' THEN (c.j -> 'unit_path' ->> -1)::bigint
                ELSE (c.j ->> unit_col)::bigint END,
           CASE WHEN TG_TABLE_NAME = 'project' THEN (c.j ->> 'id')::bigint
                ELSE (c.j ->> 'project_id')::bigint END,
           CASE WHEN c.n IS NOT NULL THEN d.before WHEN mask IS NULL THEN c.o - 'unit_path'
                ELSE c.o - 'unit_path' || mask END,
           CASE WHEN c.n IS NULL THEN NULL ELSE d.after END
      FROM (SELECT u.o, u.n, coalesce(u.n, u.o) AS j, u.k
              FROM unnest(olds, news) WITH ORDINALITY AS u (o, n, k)) c
     CROSS JOIN LATERAL (
           SELECT jsonb_object_agg(f.key, CASE WHEN f.key = ANY (redacted) THEN '"[redacted]"'
                                               ELSE c.o -> f.key END) AS before,
                  jsonb_object_agg(f.key, CASE WHEN f.key = ANY (redacted) THEN '"[redacted]"'
                                               ELSE f.value END) AS after
             FROM jsonb_each(c.n) f
            WHERE f.key NOT IN ('version', 'updated_at', 'unit_path')
              AND f.value IS DISTINCT FROM c.o -> f.key) d
     WHERE c.n IS NULL OR d.after IS NOT NULL
     ORDER BY c.k;
    RETURN NULL;
END
$$;

-- Attaches audit_written to each table as <table>_audit_insert, _update and
-- _delete (statement triggers with their transition tables; p_ops: those
-- of the three that the table gets), with the table's unit column and
-- redacted columns as its arguments.
CREATE OR REPLACE PROCEDURE audit_attach(p_tables text[], p_unit text, p_redacted text[] DEFAULT '{}',
                                         p_ops text[] DEFAULT '{insert, update, delete}')
LANGUAGE plpgsql AS $$
DECLARE
    t text;
    op text;
    args text := (SELECT string_agg(quote_literal(a), ', ') FROM unnest(p_unit || p_redacted) a);
BEGIN
    FOREACH t IN ARRAY p_tables LOOP
        FOREACH op IN ARRAY p_ops LOOP
            EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER %s ON %I REFERENCING %s '
                           'FOR EACH STATEMENT EXECUTE FUNCTION audit_written(%s)',
                           t || '_audit_' || op, op, t,
                           CASE op WHEN 'insert' THEN 'NEW TABLE AS new_rows'
                                   WHEN 'update' THEN 'OLD TABLE AS old_rows NEW TABLE AS new_rows'
                                   ELSE 'OLD TABLE AS old_rows' END, args);
        END LOOP;
    END LOOP;
END
$$;
REVOKE EXECUTE ON PROCEDURE audit_attach(text[], text, text[], text[]) FROM PUBLIC;

CALL audit_attach('{unit}', 'id');
CALL audit_attach('{app_user}', 'unit_id', '{password_hash}');

-- Keeps unit_path (the scope key) in step with unit_id.
CREATE OR REPLACE FUNCTION row_unit_path() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.unit_path := crm_unit_path(NEW.unit_id);
    IF NEW.unit_path IS NULL THEN
        RAISE foreign_key_violation USING MESSAGE = 'unit does not exist', COLUMN = 'unit_id';
    END IF;
    RETURN NEW;
END
$$;

CALL rows_attach('unit_path', 'BEFORE INSERT OR UPDATE OF unit_id', 'row_unit_path()',
                 '{investor, project, interaction, batch, target}');
CALL rows_attach('unit_path', 'BEFORE INSERT', 'row_unit_path()', '{score_snapshot}');

-- A contact's scope is its investor's: the investor's unit_path, read as
-- the owner.
CREATE OR REPLACE FUNCTION contact_unit_path() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    SELECT unit_path INTO NEW.unit_path FROM investor WHERE id = NEW.investor_id;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER contact_unit_path BEFORE INSERT OR UPDATE OF investor_id ON contact
    FOR EACH ROW EXECUTE FUNCTION contact_unit_path();

CALL audit_attach('{investor, contract, project_start, interaction, problem, batch, target}', 'unit_path');

-- Progress alone (last_progress_at, set when a visit or a claim is logged,
-- for the no-progress alerts) changes neither a project's version nor the
-- audit log; any other change does both. An edit sent with the ETag read
-- before someone logged a visit is then not refused (412) for a change
-- nobody made, and the visit, audited in its own row, is not audited twice.
-- With no index on last_progress_at and a tenth of each page free, progress
-- is a heap-only update. (pgbench, logging a visit: 838 writes/s when
-- progress bumped the version, wrote an audit row and nine index entries;
-- 1,268 with no project update at all.)
--
-- BEFORE triggers fire in the order of their names: this one is named to
-- fire first, so that the project's rules (project_rules, 51_projects.sql)
-- see the bumped version and are spared on progress alone.
-- The WHEN compares the old row with the new one given back its old
-- progress (a progress update, 5,000 in one transaction: 125 µs each, against
-- 160 when both rows were compared as jsonb without it).
CREATE OR REPLACE TRIGGER project_bump BEFORE UPDATE ON project FOR EACH ROW
    WHEN (OLD IS DISTINCT FROM jsonb_populate_record(NEW, jsonb_build_object('last_progress_at', OLD.last_progress_at)))
    EXECUTE FUNCTION row_touch();

-- A project's update is audited when it bumps the version: a row trigger,
-- whose WHEN spares progress alone (every logged visit and claim) the call
-- a statement trigger would cost to record nothing (logging a visit, that
-- call doubled the audit's time).
CALL audit_attach('{project}', 'unit_path', p_ops => '{insert, delete}');
CREATE OR REPLACE TRIGGER project_audit_update AFTER UPDATE ON project
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version)
    EXECUTE FUNCTION audit_written('unit_path');

-- The text columns named are not blank (spaces, full-width spaces, tabs).
CREATE OR REPLACE FUNCTION text_required() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    col text;
    v text;
BEGIN
    FOREACH col IN ARRAY TG_ARGV LOOP
        v := to_jsonb(NEW) ->> col;
        IF v IS NOT NULL AND v !~ '[^[:space:]　]' THEN
            RAISE check_violation USING MESSAGE = 'must not be blank', COLUMN = col;
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;

-- Checked when those columns are written (UPDATE OF them): a project's
-- progress, say, is not a reason to read its name again.
CALL rows_attach('text', 'BEFORE INSERT OR UPDATE OF name', 'text_required(''name'')', '{unit, investor, contact, batch}');
CALL rows_attach('text', 'BEFORE INSERT OR UPDATE OF code, name', 'text_required(''code'', ''name'')', '{project}');
CALL rows_attach('text', 'BEFORE INSERT OR UPDATE OF summary', 'text_required(''summary'')', '{interaction}');
CALL rows_attach('text', 'BEFORE INSERT OR UPDATE OF title', 'text_required(''title'')', '{problem}');
CALL rows_attach('text', 'BEFORE INSERT OR UPDATE OF evidence', 'text_required(''evidence'')', '{contract, project_start}');
