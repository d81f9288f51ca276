-- Events (issue 15): the outbox every state change writes in its own
-- transaction, the webhooks that receive them, and the record of the
-- service's own scheduled work. The triggers that write events, the
-- publishing and the policies are definitions (sql/schema/9x_).

-- What a state change wrote, waiting to be published: a row trigger's
-- insert, in the changing transaction. seq orders a transaction's own
-- events; the published order is given by event.id.
CREATE TABLE event_pending (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type       text NOT NULL,
    entity     text NOT NULL,
    entity_id  bigint,
    unit_id    bigint NOT NULL,
    unit_path  bigint[] NOT NULL,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_id   bigint,
    request_id text,
    payload    jsonb NOT NULL DEFAULT '{}'
);

-- The published events. One publisher at a time (an advisory lock) moves
-- the committed pending rows here and numbers them after the highest id, in
-- one transaction: ids increase in the order readers can see them, so a
-- reader that has every id up to n never finds a smaller one later.
CREATE TABLE event (
    id           bigint PRIMARY KEY,
    type         text NOT NULL,
    entity       text NOT NULL,
    entity_id    bigint,
    unit_id      bigint NOT NULL,
    unit_path    bigint[] NOT NULL,
    at           timestamptz NOT NULL,
    actor_id     bigint,
    request_id   text,
    payload      jsonb NOT NULL,
    published_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX event_at ON event (at);
CREATE SEQUENCE event_id_seq AS bigint;

ALTER TABLE event_pending ENABLE ROW LEVEL SECURITY;
ALTER TABLE event_pending FORCE ROW LEVEL SECURITY;
CREATE POLICY event_pending_owner ON event_pending TO crm_owner USING (true) WITH CHECK (true);
ALTER TABLE event ENABLE ROW LEVEL SECURITY;
ALTER TABLE event FORCE ROW LEVEL SECURITY;
CREATE POLICY event_owner ON event TO crm_owner USING (true) WITH CHECK (true);
GRANT SELECT ON event TO crm_app;

-- A receiver of events: an admin's URL, the event types it wants ('*' for
-- all, 'contract.*' for a family), and the secret that signs each delivery.
-- It receives the events of its unit's subtree (the unit of the admin who
-- registered it, or one in their scope). The secret is kept to sign with;
-- the API never answers it.
CREATE TABLE webhook (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id     bigint NOT NULL REFERENCES unit (id),
    unit_path   bigint[] NOT NULL DEFAULT '{}',
    url         text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    event_types text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 50),
    secret      text NOT NULL CHECK (length(secret) BETWEEN 16 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    active      boolean NOT NULL DEFAULT true,
    created_by  bigint REFERENCES app_user (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1
);
CREATE INDEX webhook_unit_path ON webhook USING gin (unit_path);

-- One event owed to one webhook: written when the event is published, then
-- attempted until delivered or given up. A sender claims a due delivery by
-- setting locked_until, so that two processes never send it at once.
CREATE TABLE webhook_delivery (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      bigint NOT NULL REFERENCES webhook (id) ON DELETE CASCADE,
    event_id        bigint NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    unit_path       bigint[] NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_delivery_event ON webhook_delivery (event_id);

-- Each attempt at a delivery, as the sender saw it.
CREATE TABLE webhook_attempt (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id bigint NOT NULL REFERENCES webhook_delivery (id) ON DELETE CASCADE,
    unit_path   bigint[] NOT NULL,
    attempt     integer NOT NULL CHECK (attempt >= 1),
    at          timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL CHECK (duration_ms >= 0),
    status_code integer,
    error       text CHECK (length(error) <= 500),
    outcome     text NOT NULL CHECK (outcome IN ('delivered', 'failed')),
    UNIQUE (delivery_id, attempt)
);

ALTER TABLE webhook ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_owner ON webhook TO crm_owner USING (true) WITH CHECK (true);
ALTER TABLE webhook_delivery ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_delivery FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_delivery_owner ON webhook_delivery TO crm_owner USING (true) WITH CHECK (true);
ALTER TABLE webhook_attempt ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_attempt FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_attempt_owner ON webhook_attempt TO crm_owner USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook TO crm_app;
GRANT SELECT ON webhook_delivery, webhook_attempt TO crm_app;

-- The service's scheduled jobs: when each last ran, in any process, and
-- how it went. A job runs under an advisory lock and records its period
-- (the day, the month) so that it runs once however many processes share
-- the database.
CREATE TABLE job_run (
    job          text PRIMARY KEY,
    period       text,
    started_at   timestamptz,
    finished_at  timestamptz,
    outcome      text CHECK (outcome IN ('ok', 'failed')),
    detail       text CHECK (length(detail) <= 500),
    runs         bigint NOT NULL DEFAULT 0,
    failures     bigint NOT NULL DEFAULT 0
);
ALTER TABLE job_run ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_run FORCE ROW LEVEL SECURITY;
CREATE POLICY job_run_owner ON job_run TO crm_owner USING (true) WITH CHECK (true);
