-- The unit tree: province > city > county > township / town / zone / department.
-- A user's scope (a later migration) is their unit's subtree, so each unit
-- carries its path: the ids from the root down to itself, kept by a trigger.
--
-- Tables, columns, indexes, constraints and data only; the functions, views, triggers
-- and policies are in sql/schema/ (issue 13).

CREATE TABLE unit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id   bigint REFERENCES unit (id),
    code        text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind        text NOT NULL CHECK (kind IN ('province', 'city', 'county', 'town', 'township',
                                              'zone', 'department')),
    path        bigint[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX unit_parent_idx ON unit (parent_id);
CREATE INDEX unit_path_idx ON unit USING gin (path);

-- The service's role reads what it serves; it owns nothing.
GRANT SELECT ON schema_migrations TO crm_app;
GRANT SELECT ON unit TO crm_app;
