-- Demo targets: the county's 2024 promise from its work report (shared/data:
-- at least ¥240亿 signed, at least 70% of it started the same year) and its
-- division among the development zone, the towns and the townships. The
-- signed-project count (60) and the quotas are invented but plausible:
-- they cover the county's target as the schema requires. The current
-- year's targets come with its projects, in 0004_current_year.sql.
-- Loaded by the owner after 0002_crm.sql; skipped when 2024's targets exist.
DO $demo$
DECLARE
    admin_id bigint := (SELECT id FROM app_user WHERE username = 'demo.admin');
    county bigint := (SELECT id FROM unit WHERE code = 'sx.yc.js');
BEGIN
    IF EXISTS (SELECT 1 FROM target WHERE unit_id = county AND year = 2024) THEN
        RETURN;
    END IF;
    INSERT INTO target (unit_id, year, signing_amount_yuan, signed_count, start_rate, set_by)
    VALUES (county, 2024, 24000000000, 60, 0.70, admin_id);
    INSERT INTO target (unit_id, year, parent_unit_id, signing_amount_yuan, signed_count, start_rate, set_by)
    SELECT u.id, 2024, county, q.yi::bigint * 100000000, q.n, q.rate, admin_id
      FROM (VALUES ('sx.yc.js.devzone', 90, 16, 0.75), ('sx.yc.js.jifeng', 35, 9, 0.70),
                   ('sx.yc.js.xishe', 40, 8, 0.75), ('sx.yc.js.huayu', 15, 6, 0.70),
                   ('sx.yc.js.zhaidian', 15, 6, 0.70), ('sx.yc.js.qinghe', 15, 6, 0.70),
                   ('sx.yc.js.caicun', 12, 5, 0.60), ('sx.yc.js.taiyang', 18, 5, 0.60))
           AS q (code, yi, n, rate)
      JOIN unit u ON u.code = q.code;
    IF quotas_shortfall(county, 2024) IS NOT NULL THEN
        RAISE EXCEPTION 'demo quotas do not cover the county''s target: %', quotas_shortfall(county, 2024);
    END IF;
END
$demo$;
