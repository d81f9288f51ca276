-- Helpers of the demo files, for this session only (pg_temp): crm loads every
-- file of sql/demo on one connection, in name order.

-- Claims carry the historical moments they were reported, verified or
-- revoked, so that figures "as of" a past date show what was known then:
-- d + days at hour o'clock China Standard Time, never later than now.
CREATE OR REPLACE FUNCTION pg_temp.demo_at(d date, days integer, hour integer) RETURNS timestamptz
LANGUAGE sql STABLE AS
$$ SELECT least(now(), ((d + days)::timestamp + make_interval(hours => hour)) AT TIME ZONE 'Asia/Shanghai') $$;
