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
--
-- Tables, columns, indexes, constraints and data only; the functions, views, triggers
-- and policies are in sql/schema/ (issue 13).

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
