-- The unit tree: province > city > county > township / town / zone / department.
-- A user's scope (a later migration) is their unit's subtree, so each unit
-- carries its path: the ids from the root down to itself, kept by a trigger.

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

-- path = parent's path || id; a unit cannot move under its own subtree.
CREATE FUNCTION unit_set_path() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent_path bigint[];
BEGIN
    IF NEW.parent_id IS NULL THEN
        NEW.path := ARRAY[NEW.id];
    ELSE
        SELECT path INTO parent_path FROM unit WHERE id = NEW.parent_id;
        IF parent_path IS NULL THEN
            RAISE foreign_key_violation USING MESSAGE = 'parent unit does not exist';
        END IF;
        IF NEW.id = ANY (parent_path) THEN
            RAISE check_violation USING MESSAGE = 'a unit cannot be moved under itself';
        END IF;
        NEW.path := parent_path || NEW.id;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER unit_path BEFORE INSERT OR UPDATE OF parent_id ON unit
    FOR EACH ROW EXECUTE FUNCTION unit_set_path();

-- After a move, the subtree follows.
CREATE FUNCTION unit_move_subtree() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE unit SET path = NEW.path || path[array_position(path, NEW.id) + 1:]
     WHERE path @> ARRAY[NEW.id] AND id <> NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER unit_moved AFTER UPDATE OF parent_id ON unit
    FOR EACH ROW WHEN (OLD.parent_id IS DISTINCT FROM NEW.parent_id)
    EXECUTE FUNCTION unit_move_subtree();

-- The service's role reads what it serves; it owns nothing.
GRANT SELECT ON schema_migrations TO crm_app;
GRANT SELECT ON unit TO crm_app;
