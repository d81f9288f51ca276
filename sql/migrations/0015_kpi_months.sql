-- KPI reads independent of the number of days (issue 16). A unit's figures of a year as of D
-- were the sum of its kpi_rollup rows up to D: one per day with a change, some 1,345 at the
-- province root for 2024, since the claims of a year keep changing for years after it.
-- kpi_rollup_month keeps the same differences summed per calendar month (months = 1) and per
-- calendar year (months = 12) of the day they happened, beside the daily rows and in the
-- same transaction (kpi_refresh, sql/schema/70_kpi.sql). The figures as of D are then the
-- whole calendar years before D's year, the months of D's year before D's month and the days
-- of D's month up to D: a few years, 11 months and 31 days at most, whatever the history.
--
-- Filled here from the daily rows, so that an upgraded database answers the same figures.

CREATE TABLE kpi_rollup_month (
    unit_id     bigint NOT NULL,
    basis       text NOT NULL CHECK (basis IN ('verified', 'reported')),
    year        integer NOT NULL,                    -- the year the figures are of, as in kpi_rollup
    months      smallint NOT NULL CHECK (months IN (1, 12)),
    first_day   date NOT NULL,                       -- the first day of the month or year summed
    signing     numeric NOT NULL,
    signed      integer NOT NULL,
    started     integer NOT NULL,
    signed_amt  numeric NOT NULL,
    started_amt numeric NOT NULL,
    CHECK (first_day = date_trunc(CASE months WHEN 1 THEN 'month' ELSE 'year' END, first_day::timestamp)::date),
    -- As in kpi_rollup, the figures ride in the index (index-only scans).
    PRIMARY KEY (unit_id, basis, year, months, first_day)
        INCLUDE (signing, signed, started, signed_amt, started_amt)
);

INSERT INTO kpi_rollup_month (unit_id, basis, year, months, first_day,
                              signing, signed, started, signed_amt, started_amt)
SELECT r.unit_id, r.basis, r.year, g.months,
       date_trunc(CASE g.months WHEN 1 THEN 'month' ELSE 'year' END, r.day::timestamp)::date,
       sum(r.signing), sum(r.signed), sum(r.started), sum(r.signed_amt), sum(r.started_amt)
  FROM kpi_rollup r CROSS JOIN (VALUES (1::smallint), (12::smallint)) g (months)
 GROUP BY 1, 2, 3, 4, 5
HAVING sum(r.signing) <> 0 OR sum(r.signed) <> 0 OR sum(r.started) <> 0
    OR sum(r.signed_amt) <> 0 OR sum(r.started_amt) <> 0
 ORDER BY 1, 2, 3, 4, 5;

ALTER TABLE kpi_rollup_month ENABLE ROW LEVEL SECURITY;
ALTER TABLE kpi_rollup_month FORCE ROW LEVEL SECURITY;
CREATE POLICY kpi_rollup_month_owner ON kpi_rollup_month TO crm_owner USING (true) WITH CHECK (true);
