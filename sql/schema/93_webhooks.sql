-- Webhooks: the receivers admins register (/webhooks), the deliveries owed to
-- them as events are published, the sender's claim of the due ones and its
-- record of each attempt (/webhooks/{id}/deliveries).
--
-- A webhook receives the events of its unit's subtree whose type it names
-- ('*', a type, or a family such as 'contract.*'), the same scope rule as
-- row-level security. Its secret signs each delivery and is never answered.
-- Deliveries and attempts are written only here, by functions run as the
-- owner: the sender (crm/events/webhook_sender.c) has no caller.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- Every update bumps the version (the ETag); unit_path follows unit_id; the
-- audit records each change with the secret redacted.
CALL rows_attach('touch', 'BEFORE UPDATE', 'row_touch()', '{webhook}');
CALL rows_attach('unit_path', 'BEFORE INSERT OR UPDATE OF unit_id', 'row_unit_path()', '{webhook}');
CALL audit_attach('{webhook}', 'unit_path', '{secret}');

-- ---- the rules of a webhook ----

-- Whether an event of type p_type is one a webhook naming p_types wants.
CREATE OR REPLACE FUNCTION webhook_wants(p_types text[], p_type text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT EXISTS (SELECT 1 FROM unnest(p_types) t
                    WHERE t = '*' OR t = p_type
                       OR (t LIKE '%.*' AND starts_with(p_type, left(t, -1))))
$$;

-- The URL, event types and secret of a webhook written (on insert and on
-- any update of them), each refused on its own field (a check_violation
-- naming the column: 422 on that field). The destination's allowlist is
-- crm's (CRM_WEBHOOK_ALLOW), checked before this.
CREATE OR REPLACE FUNCTION webhook_rules() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    families text[] := ARRAY(SELECT DISTINCT split_part(n, '.', 1) || '.*' FROM unnest(event_types()) n);
BEGIN
    IF NEW.url !~* '^https?://[^/?#@[:space:]]+([/?#][^[:space:]]*)?$' THEN
        RAISE check_violation USING MESSAGE = 'must be an http or https URL with a host', COLUMN = 'url';
    END IF;
    IF cardinality(NEW.event_types) IS NULL OR cardinality(NEW.event_types) = 0
       OR EXISTS (SELECT 1 FROM unnest(NEW.event_types) t
                   WHERE t IS NULL OR NOT (t = '*' OR t = ANY (event_types()) OR t = ANY (families))) THEN
        RAISE check_violation USING COLUMN = 'event_types',
            MESSAGE = 'must name event types (contract.verified), families (contract.*) or *';
    END IF;
    IF length(NEW.secret) NOT BETWEEN 16 AND 200 THEN
        RAISE check_violation USING MESSAGE = 'must be 16 to 200 characters', COLUMN = 'secret';
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.created_by := crm_caller_user();
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER webhook_rules BEFORE INSERT OR UPDATE OF url, event_types, secret ON webhook
    FOR EACH ROW EXECUTE FUNCTION webhook_rules();

-- ---- /webhooks ----

-- A webhook as the API shows it: never its secret.
CREATE OR REPLACE FUNCTION webhook_json(w webhook) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', w.id, 'unit_id', w.unit_id, 'url', w.url,
        'event_types', to_jsonb(w.event_types), 'description', w.description, 'active', w.active,
        'created_by', w.created_by, 'created_at', w.created_at, 'updated_at', w.updated_at,
        'version', w.version)
$$;

CREATE OR REPLACE FUNCTION webhooks_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE sql STABLE AS $fn$
SELECT page_json('webhook', 'webhook_json', $w$
       ($1 ->> 'active' IS NULL OR r.active = ($1 ->> 'active')::boolean)
$w$, f, p_after, p_limit)
$fn$;

-- A webhook of the caller's unit unless the body names one of their scope
-- (row-level security refuses any other: 422 on unit_id).
CREATE OR REPLACE FUNCTION webhooks_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    w webhook;
BEGIN
    INSERT INTO webhook (unit_id, url, event_types, secret, description, active)
    VALUES (coalesce((b ->> 'unit_id')::bigint, crm_caller_unit()), b ->> 'url',
            ARRAY(SELECT jsonb_array_elements_text(b -> 'event_types')), b ->> 'secret',
            coalesce(b ->> 'description', ''), coalesce((b ->> 'active')::boolean, true))
    RETURNING * INTO w;
    RETURN webhook_json(w)::text;
END
$$;

CREATE OR REPLACE FUNCTION webhooks_update(p_id bigint, p_version integer, b jsonb) RETURNS text LANGUAGE sql AS
$$ SELECT row_patch('webhook', 'url, event_types, secret, description, active', 'webhook_json',
                 p_id, p_version, b) $$;

-- ---- deliveries ----

-- The deliveries owed for the events published with ids in (p_after,
-- p_upto]: one for every active webhook whose scope holds the event (its
-- path holds the webhook's unit) and that wants its type. Called by
-- events_publish (92_events.sql) in the publishing transaction; a
-- delivery already written is not written again. Returns how many were.
CREATE OR REPLACE FUNCTION webhook_deliveries_add(p_after bigint, p_upto bigint) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO webhook_delivery (webhook_id, event_id, unit_path)
    SELECT w.id, e.id, w.unit_path
      FROM event e
      JOIN webhook w ON w.active AND scope_covers(e.unit_path, w.unit_id) AND webhook_wants(w.event_types, e.type)
     WHERE e.id > p_after AND e.id <= p_upto
     ORDER BY e.id, w.id
    ON CONFLICT (webhook_id, event_id) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
REVOKE EXECUTE ON FUNCTION webhook_deliveries_add(bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_deliveries_add(bigint, bigint) TO crm_app;

-- The sender's claim: up to p_limit due deliveries (pending, their next
-- attempt due, no other sender's claim standing) of active webhooks, the
-- longest due first, each locked for p_lock_ms (another sender, or this one
-- after a crash, may take it once that lapses) and answered with what its
-- next attempt needs: its number, the URL, the secret, and the body
-- (event_json). Rows another transaction is claiming are skipped.
CREATE OR REPLACE FUNCTION webhook_deliveries_claim(p_limit integer, p_lock_ms integer)
RETURNS TABLE (delivery_id bigint, attempt integer, url text, secret text, body text, event_id bigint,
               event_type text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN QUERY
    WITH due AS (
        SELECT d.id FROM webhook_delivery d
         WHERE d.state = 'pending' AND d.next_attempt_at <= now()
           AND (d.locked_until IS NULL OR d.locked_until < now())
           AND EXISTS (SELECT 1 FROM webhook w WHERE w.id = d.webhook_id AND w.active)
         ORDER BY d.next_attempt_at, d.id
         LIMIT p_limit
           FOR UPDATE OF d SKIP LOCKED),
    claimed AS (
        UPDATE webhook_delivery d SET locked_until = now() + p_lock_ms * interval '1 millisecond'
          FROM due WHERE d.id = due.id
        RETURNING d.id, d.attempts, d.webhook_id, d.event_id, d.next_attempt_at)
    SELECT c.id, c.attempts + 1, w.url, w.secret, event_json(e)::text, e.id, e.type
      FROM claimed c JOIN webhook w ON w.id = c.webhook_id JOIN event e ON e.id = c.event_id
     ORDER BY c.next_attempt_at, c.id;
END
$$;
REVOKE EXECUTE ON FUNCTION webhook_deliveries_claim(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_deliveries_claim(integer, integer) TO crm_app;

-- The sender's record of attempt p_attempt of a delivery it claimed: the
-- attempt's row, then the delivery delivered (p_delivered), given up
-- (failed, at the p_max_attempts-th failure) or due again after the
-- backoff: p_backoff_ms * 2^(attempt - 1), at most p_backoff_max_ms. An
-- attempt recorded already (a claim that lapsed and was taken again)
-- changes nothing. Returns the delivery's state and, when pending, the
-- milliseconds until its next attempt.
CREATE OR REPLACE FUNCTION webhook_attempt_record(p_delivery bigint, p_attempt integer, p_duration_ms integer,
                                                  p_status_code integer, p_error text, p_delivered boolean,
                                                  p_max_attempts integer, p_backoff_ms integer,
                                                  p_backoff_max_ms integer,
                                                  OUT state text, OUT retry_ms bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    d webhook_delivery;
    wait_ms bigint;
BEGIN
    SELECT * INTO d FROM webhook_delivery WHERE id = p_delivery FOR UPDATE;
    IF NOT FOUND OR d.state <> 'pending' OR d.attempts <> p_attempt - 1 THEN
        state := d.state;
        RETURN;
    END IF;
    INSERT INTO webhook_attempt (delivery_id, unit_path, attempt, duration_ms, status_code, error, outcome)
    VALUES (p_delivery, d.unit_path, p_attempt, greatest(p_duration_ms, 0), p_status_code, left(p_error, 500),
            CASE WHEN p_delivered THEN 'delivered' ELSE 'failed' END);
    wait_ms := least(p_backoff_max_ms::numeric, p_backoff_ms * power(2::numeric, least(p_attempt - 1, 40)))::bigint;
    UPDATE webhook_delivery SET attempts = p_attempt, locked_until = NULL,
           state = CASE WHEN p_delivered THEN 'delivered' WHEN p_attempt >= p_max_attempts THEN 'failed'
                        ELSE 'pending' END,
           finished_at = CASE WHEN p_delivered OR p_attempt >= p_max_attempts THEN now() END,
           next_attempt_at = CASE WHEN p_delivered OR p_attempt >= p_max_attempts THEN next_attempt_at
                                  ELSE now() + wait_ms * interval '1 millisecond' END
     WHERE id = p_delivery
    RETURNING webhook_delivery.state INTO state;
    IF state = 'pending' THEN
        retry_ms := wait_ms;
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION webhook_attempt_record(bigint, integer, integer, integer, text, boolean, integer,
                                                  integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_attempt_record(bigint, integer, integer, integer, text, boolean, integer,
                                                 integer, integer) TO crm_app;

-- A delivery as the API shows it: its event, its state and each attempt.
CREATE OR REPLACE FUNCTION webhook_delivery_json(d webhook_delivery) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', d.id, 'webhook_id', d.webhook_id, 'event_id', d.event_id,
        'event_type', (SELECT e.type FROM event e WHERE e.id = d.event_id), 'state', d.state,
        'attempt_count', d.attempts,
        'next_attempt_at', CASE WHEN d.state = 'pending' THEN d.next_attempt_at END,
        'created_at', d.created_at, 'finished_at', d.finished_at,
        'attempts', coalesce((SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'at', a.at,
                                  'duration_ms', a.duration_ms, 'status_code', a.status_code, 'error', a.error,
                                  'outcome', a.outcome) ORDER BY a.attempt)
                                FROM webhook_attempt a WHERE a.delivery_id = d.id), '[]'))
$$;

-- The deliveries of webhook p_webhook, newest first, those before the
-- cursor p_before, at most p_limit: {"items", "next_after"} (the last id
-- given when more follow); NULL when the caller cannot see the webhook.
-- Row-level security applies: it runs as the caller.
CREATE OR REPLACE FUNCTION webhook_deliveries_page(p_webhook bigint, p_before bigint, p_limit integer)
RETURNS text LANGUAGE sql STABLE AS $$
    WITH page AS (
        SELECT d.id, webhook_delivery_json(d) AS j FROM webhook_delivery d
         WHERE d.webhook_id = p_webhook AND (p_before IS NULL OR d.id < p_before)
         ORDER BY d.id DESC LIMIT p_limit + 1),
    numbered AS (SELECT page.*, row_number() OVER (ORDER BY id DESC) AS n FROM page)
    SELECT CASE WHEN EXISTS (SELECT 1 FROM webhook w WHERE w.id = p_webhook) THEN
        (SELECT json_build_object(
                'items', coalesce(json_agg(j ORDER BY id DESC) FILTER (WHERE n <= p_limit), '[]'),
                'next_after', CASE WHEN count(*) > p_limit THEN min(id) FILTER (WHERE n <= p_limit) END)::text
           FROM numbered) END
$$;
