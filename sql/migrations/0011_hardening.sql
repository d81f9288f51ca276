-- Hardening (issue 12): what an outside probe found in the rules of the
-- data, each closed here for every writer (the API, the CLI, SQL as the
-- service's role).
--
-- 3. Amounts are bounded and the roll-ups cannot overflow. A contract of
--    2^63-1 yuan made every other claim of its county that day fail with
--    "bigint out of range" (the day's roll-up row of the county summed past
--    bigint). Now an amount is at most 10^13 yuan (¥10万亿, a hundred times
--    the largest single investment China has signed), and the sums kept by
--    the roll-ups are numeric, which no sum of claims can overflow.
-- 4. Nobody who reported or changed a claim since it was reported may
--    verify it. Only the last editor was barred: A edits the amount, B
--    touches the evidence, A verifies A's own amount. Each claim now keeps
--    everyone who touched it (touched_by), kept by the database itself.
-- 5. Verification is independent of the unit: only a verifier (bureau,
--    assessment office) of a unit above the claim's unit, or of a
--    department serving the claim's unit, verifies it; a verified claim is
--    revoked only by such a verifier, the unit withdraws only what is not
--    verified yet. (A township's admin could make a viewer of the township
--    who verified the township's claims; a unit could revoke its own
--    verified claim to dodge the falsified-claim deduction.)
-- 7. Scope: a record links only what its writer can see (an investor or
--    project of another township is "no such record", 422 on the field), a
--    problem's owner is a unit of the writer's scope or above it, and names
--    and titles are not blank.

-- ---- 3. bounded amounts, roll-ups that cannot overflow ----

ALTER TABLE contract DROP CONSTRAINT contract_amount_yuan_check,
    ADD CONSTRAINT contract_amount_yuan_check CHECK (amount_yuan BETWEEN 1 AND 10000000000000);
ALTER TABLE project DROP CONSTRAINT project_planned_investment_yuan_check,
    ADD CONSTRAINT project_planned_investment_yuan_check
        CHECK (planned_investment_yuan IS NULL OR planned_investment_yuan BETWEEN 1 AND 10000000000000);
ALTER TABLE kpi_rollup ALTER COLUMN signing TYPE numeric, ALTER COLUMN signed_amt TYPE numeric,
    ALTER COLUMN started_amt TYPE numeric;
ALTER TABLE kpi_project_delta ALTER COLUMN signing TYPE numeric, ALTER COLUMN signed_amt TYPE numeric,
    ALTER COLUMN started_amt TYPE numeric;
ALTER TABLE kpi_pipeline ALTER COLUMN amount_yuan TYPE numeric;

-- ---- 4. everyone who touched a claim ----

ALTER TABLE contract ADD COLUMN touched_by bigint[] NOT NULL DEFAULT '{}';
ALTER TABLE project_start ADD COLUMN touched_by bigint[] NOT NULL DEFAULT '{}';
UPDATE contract SET touched_by = array_remove(ARRAY[reported_by, changed_by], NULL);
UPDATE project_start SET touched_by = array_remove(ARRAY[reported_by, changed_by], NULL);

-- Runs after claim_rules (0003, 0006), which has set reported_by and, on an
-- edit of the claim itself, changed_by: touched_by is the reporter and every
-- editor since, whatever the writer sent; nobody in it verifies. With a
-- caller, the verifier and the revoker of a verified claim must be
-- independent of the claim's unit (5).
CREATE FUNCTION claim_independence() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    claim_unit bigint := NEW.unit_path[cardinality(NEW.unit_path)];
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.touched_by := array_remove(ARRAY[NEW.reported_by], NULL);
        RETURN NEW;
    END IF;
    NEW.touched_by := OLD.touched_by;
    IF NEW.changed_by IS NOT NULL AND NEW.changed_by IS DISTINCT FROM OLD.changed_by
       AND NOT NEW.changed_by = ANY (NEW.touched_by) THEN
        NEW.touched_by := NEW.touched_by || NEW.changed_by;
    ELSIF crm_caller_user() IS NOT NULL AND NEW.changed_by = crm_caller_user()
          AND NOT crm_caller_user() = ANY (NEW.touched_by) THEN
        NEW.touched_by := NEW.touched_by || crm_caller_user();
    END IF;
    IF NEW.verified_at IS NOT NULL AND OLD.verified_at IS NULL THEN
        IF NEW.verified_by = ANY (NEW.touched_by) THEN
            RAISE check_violation USING
                MESSAGE = 'you reported or changed this claim: another user verifies it';
        END IF;
        IF crm_caller_user() IS NOT NULL AND NOT claim_verifier_independent(NEW.unit_path) THEN
            RAISE insufficient_privilege USING
                MESSAGE = 'a claim is verified by a unit above the claiming unit (or a department serving it)';
        END IF;
    END IF;
    IF NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL AND OLD.verified_at IS NOT NULL
       AND crm_caller_user() IS NOT NULL
       AND (crm_caller_role() NOT IN ('bureau', 'viewer') OR NOT claim_verifier_independent(NEW.unit_path)) THEN
        RAISE insufficient_privilege USING
            MESSAGE = format('a verified claim is revoked by a verifier of a unit above %s; the unit withdraws only what is not verified',
                             (SELECT u.name FROM unit u WHERE u.id = claim_unit));
    END IF;
    RETURN NEW;
END
$$;

-- Whether the caller may verify (or revoke once verified) a claim of the
-- unit at the end of p_path: their scope starts above it, or they belong to
-- a department serving it (the investment centre of the county, for a
-- claim of the county itself). Never the claiming unit's own users.
CREATE FUNCTION claim_verifier_independent(p_path bigint[]) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT crm_caller_unit() = ANY (p_path)
       AND (crm_caller_unit() <> p_path[cardinality(p_path)]
            OR crm_caller_home_unit() IS DISTINCT FROM crm_caller_unit())
$$;

-- Named to fire right after contract_rules and project_start_rules (BEFORE
-- triggers fire in name order).
CREATE TRIGGER contract_rules_independence BEFORE INSERT OR UPDATE ON contract
    FOR EACH ROW EXECUTE FUNCTION claim_independence();
CREATE TRIGGER project_start_rules_independence BEFORE INSERT OR UPDATE ON project_start
    FOR EACH ROW EXECUTE FUNCTION claim_independence();

-- ---- 7. links within the writer's scope; no blank names ----

-- A caller links only what they can see: the investor of a project or an
-- interaction, the project of an interaction; a problem's owner is a unit of
-- their scope or above it. The owner loading data (no caller) is trusted.
CREATE FUNCTION links_in_scope() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    j jsonb := to_jsonb(NEW);
    o jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END;
    col text;
    path bigint[];
BEGIN
    IF crm_caller_user() IS NULL THEN
        RETURN NEW;
    END IF;
    FOREACH col IN ARRAY TG_ARGV LOOP
        CONTINUE WHEN j ->> col IS NULL OR (o IS NOT NULL AND o -> col = j -> col);
        path := CASE col WHEN 'investor_id' THEN (SELECT i.unit_path FROM investor i WHERE i.id = (j ->> col)::bigint)
                         WHEN 'project_id' THEN (SELECT p.unit_path FROM project p WHERE p.id = (j ->> col)::bigint)
                         ELSE crm_unit_path((j ->> col)::bigint) END;
        IF path IS NULL OR NOT (crm_in_scope(path)
                                OR (col = 'owner_unit_id' AND (j ->> col)::bigint = ANY (crm_unit_path(crm_caller_unit())))) THEN
            RAISE foreign_key_violation USING MESSAGE = 'does not name a record you can see', COLUMN = col;
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;
CREATE TRIGGER project_links BEFORE INSERT OR UPDATE OF investor_id ON project
    FOR EACH ROW EXECUTE FUNCTION links_in_scope('investor_id');
CREATE TRIGGER interaction_links BEFORE INSERT OR UPDATE OF investor_id, project_id ON interaction
    FOR EACH ROW EXECUTE FUNCTION links_in_scope('investor_id', 'project_id');
CREATE TRIGGER problem_links BEFORE INSERT OR UPDATE OF owner_unit_id ON problem
    FOR EACH ROW EXECUTE FUNCTION links_in_scope('owner_unit_id');

-- The text columns named are not blank (spaces, full-width spaces, tabs).
CREATE FUNCTION text_required() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER unit_text BEFORE INSERT OR UPDATE ON unit FOR EACH ROW EXECUTE FUNCTION text_required('name');
CREATE TRIGGER investor_text BEFORE INSERT OR UPDATE ON investor FOR EACH ROW EXECUTE FUNCTION text_required('name');
CREATE TRIGGER contact_text BEFORE INSERT OR UPDATE ON contact FOR EACH ROW EXECUTE FUNCTION text_required('name');
CREATE TRIGGER project_text BEFORE INSERT OR UPDATE ON project
    FOR EACH ROW EXECUTE FUNCTION text_required('code', 'name');
CREATE TRIGGER interaction_text BEFORE INSERT OR UPDATE ON interaction
    FOR EACH ROW EXECUTE FUNCTION text_required('summary');
CREATE TRIGGER problem_text BEFORE INSERT OR UPDATE ON problem FOR EACH ROW EXECUTE FUNCTION text_required('title');
CREATE TRIGGER batch_text BEFORE INSERT OR UPDATE ON batch FOR EACH ROW EXECUTE FUNCTION text_required('name');
CREATE TRIGGER contract_text BEFORE INSERT OR UPDATE ON contract
    FOR EACH ROW EXECUTE FUNCTION text_required('evidence');
CREATE TRIGGER project_start_text BEFORE INSERT OR UPDATE ON project_start
    FOR EACH ROW EXECUTE FUNCTION text_required('evidence');

-- /stats/units/{id} of a unit that does not exist: 404, like a hidden one
-- (0006 answered 200 with "unit": null).
CREATE OR REPLACE FUNCTION kpi_visible(p_unit bigint) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
DECLARE
    me bigint := crm_caller_unit();
    path bigint[];
BEGIN
    IF me IS NULL THEN
        RETURN false;
    END IF;
    SELECT u.path INTO path FROM unit u WHERE u.id = p_unit;
    RETURN coalesce(path @> ARRAY[me] OR p_unit = crm_caller_county(), false);
END
$$;

-- ---- 6. an idempotent request's key is settled in its write's transaction ----

-- The key was claimed in a transaction of its own and the answer stored in
-- a third, after the write's: when that failed, the key stayed in_flight,
-- and a retry a minute later ran the write again (a second record). Now
-- every transaction a keyed request runs also settles its key: the
-- statement that answers a write stores that answer (idempotency_keep: the
-- key is then done, and a retry replays it), and any other marks the key
-- written (idempotency_written). Both commit or roll back with the write.
-- A key still in_flight therefore means nothing of its request committed,
-- and only such a key is taken over by a retry; a written key whose answer
-- could not be stored is answered 409 (the request was carried out), never
-- run again.
ALTER TABLE idempotency_key DROP CONSTRAINT idempotency_key_state_check,
    ADD CONSTRAINT idempotency_key_state_check CHECK (state IN ('in_flight', 'written', 'done'));

CREATE FUNCTION idempotency_keep(p_key text, p_status integer, p_body text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE idempotency_key
       SET state = CASE WHEN p_body IS NULL THEN 'written' ELSE 'done' END,
           status = CASE WHEN p_body IS NOT NULL THEN p_status END,
           content_type = CASE WHEN p_body IS NOT NULL THEN 'application/json; charset=utf-8' END,
           body = p_body
     WHERE user_id = crm_caller_user() AND key = p_key AND state = 'in_flight';
    RETURN p_body;
END
$$;

CREATE FUNCTION idempotency_written(p_key text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE idempotency_key SET state = 'written'
     WHERE user_id = crm_caller_user() AND key = p_key AND state = 'in_flight'
$$;

-- As in 0003; the answer stored after the write (a 4xx, or one the write's
-- statement could not keep) settles an in_flight or written key; a 5xx
-- releases only an in_flight one.
CREATE OR REPLACE FUNCTION idempotency_finish(p_user bigint, p_key text, p_status integer,
                                              p_content_type text, p_body text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF p_status IS NULL THEN
        DELETE FROM idempotency_key WHERE user_id = p_user AND key = p_key AND state = 'in_flight';
    ELSE
        UPDATE idempotency_key SET state = 'done', status = p_status, content_type = p_content_type,
               body = p_body
         WHERE user_id = p_user AND key = p_key AND state IN ('in_flight', 'written');
    END IF;
END
$$;

-- As in 0003, with the written state: only an in_flight key (nothing of
-- its request committed) is taken over after a minute; a written one is
-- answered 'written' (409), never run again.
CREATE OR REPLACE FUNCTION idempotency_claim(p_key text, p_route text, p_hash bytea)
RETURNS TABLE (outcome text, status integer, content_type text, body text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    k idempotency_key;
BEGIN
    DELETE FROM idempotency_key i WHERE i.user_id = crm_caller_user() AND i.key = p_key
       AND i.state = 'in_flight' AND i.created_at < now() - interval '1 minute';
    INSERT INTO idempotency_key (user_id, key, route, request_hash)
    VALUES (crm_caller_user(), p_key, p_route, p_hash)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        RETURN QUERY SELECT 'new'::text, NULL::integer, NULL::text, NULL::text;
        RETURN;
    END IF;
    SELECT * INTO k FROM idempotency_key i WHERE i.user_id = crm_caller_user() AND i.key = p_key;
    IF k.route <> p_route OR k.request_hash <> p_hash THEN
        RETURN QUERY SELECT 'mismatch'::text, NULL::integer, NULL::text, NULL::text;
    ELSIF k.state = 'done' THEN
        RETURN QUERY SELECT 'replay'::text, k.status, k.content_type, k.body;
    ELSE
        RETURN QUERY SELECT k.state, NULL::integer, NULL::text, NULL::text;
    END IF;
END
$$;

-- ---- 7. what a taken code tells a township ----

-- Project codes and credit codes are unique across the deployment, so a
-- township that sends a taken one learns that it is taken; decided
-- deliberately: a project code is the county's ledger number (a 409 on
-- `code` says only that the number is used), and a credit code names a
-- company that another unit already works with, which the bureau should
-- know (two townships courting one investor): the 409 says so, without
-- naming the other unit or record, and the attempt is in the log.
CREATE FUNCTION investor_uscc_taken() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.uscc IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.uscc IS DISTINCT FROM OLD.uscc)
       AND EXISTS (SELECT 1 FROM investor i WHERE i.uscc = NEW.uscc AND i.id IS DISTINCT FROM NEW.id) THEN
        RAISE unique_violation USING COLUMN = 'uscc',
              MESSAGE = 'this company is already an investor of the county (another unit''s record, or yours): ask the investment bureau';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER investor_uscc_taken BEFORE INSERT OR UPDATE OF uscc ON investor
    FOR EACH ROW EXECUTE FUNCTION investor_uscc_taken();
