-- Demo data: the current year, whatever it is, so that `make run` shows a
-- live year for every role next to the 2024 history of 0002 and 0003.
-- Everything is computed from crm_today() and now(), never from a literal
-- year:
--
-- - the county's target for the year (¥260亿, 60 projects, 70% started the
--   same year) and its quotas for the development zone, the towns and the
--   townships, which cover it (the investment bureau, a department, holds
--   none);
-- - the year's projects, JS-<year>-001 .. 056, across the zone and the
--   townships: 45 of them follow a signing schedule spread evenly over the
--   year, ¥218.7亿 or 84% of the county's target, so that the county runs
--   at about four fifths of the time progress (序时进度) whatever the date.
--   A project whose scheduled day has come is signed that day; each claim
--   is reported the day after its date and verified by another user a week
--   after it, and only what has happened by today is loaded (times never
--   later than now, as in 0002): on 1 January nothing is signed yet, on 31
--   December the whole schedule is. A signed project starts some
--   weeks later (some not yet: at risk near the year's end); two never
--   start (their planned start passes: red alerts and deductions), one
--   start is verified and later revoked as falsified; a few small ones are
--   in production. The rest is the open pipeline, expected to sign later
--   this year (those scheduled, two that slipped), with talks in recent
--   weeks, and in each unit a lead nobody has followed for over two months
--   (a yellow alert in every scorecard); the county leaders' own meetings
--   and visits of recent weeks; problems under supervision (督办);
-- - the open projects of 2024 (leads and negotiations) are expected to
--   sign later this year too.
--
-- Through the schema's own rules, like 0002: project_transition, claims
-- reported by one user and verified by another. Loaded by the owner after
-- 0003_targets.sql. Idempotent: the targets are set when the year has none
-- (or only the county's hard-coded 2026 target of earlier demos, without
-- quotas); the projects are loaded when JS-<year>-001 does not exist. In a
-- later year the demo adds that year and keeps the earlier ones as history.
-- Skipped in 2024 and before: 2024 is the demo's history.

-- Claims' moments: pg_temp.demo_at of 0000_helpers.sql.

DO $demo$
DECLARE
    today      constant date := crm_today();
    y          constant integer := extract(year FROM crm_today())::integer;
    jan1       constant date := make_date(y, 1, 1);
    dec31      constant date := make_date(y, 12, 31);
    county     constant bigint := (SELECT id FROM unit WHERE code = 'sx.yc.js');
    admin_id   constant bigint := (SELECT id FROM app_user WHERE username = 'demo.admin');
    specialists constant text[] := ARRAY['陈志远', '王晓燕', '张鹏', '杨帆', '刘洋', '郭俊峰'];
    r          record;
    pid        bigint;
    cid        bigint;
    sid        bigint;
    iid        bigint;
    on_day     date;
    kinds      constant text[] := ARRAY['meeting', 'site_visit', 'negotiation', 'call'];
BEGIN
    IF y <= 2024 THEN
        RAISE NOTICE 'demo: % is the demo''s history, no current year added', y;
        RETURN;
    END IF;

    -- ---- the year's target and quotas ----
    -- The county's (unless it has one), then its division, unless someone
    -- has divided it already or set a target other than the demo's.
    INSERT INTO target (unit_id, year, signing_amount_yuan, signed_count, start_rate, set_by)
    VALUES (county, y, 26000000000, 60, 0.70, admin_id)
    ON CONFLICT (unit_id, year) DO NOTHING;
    IF EXISTS (SELECT 1 FROM target WHERE unit_id = county AND year = y AND parent_unit_id IS NULL
                                      AND signing_amount_yuan = 26000000000 AND signed_count = 60
                                      AND start_rate = 0.70)
       AND NOT EXISTS (SELECT 1 FROM target WHERE year = y AND unit_path @> ARRAY[county] AND unit_id <> county) THEN
        INSERT INTO target (unit_id, year, parent_unit_id, signing_amount_yuan, signed_count, start_rate, set_by)
        SELECT u.id, y, county, q.yi::bigint * 100000000, q.n, q.rate, admin_id
          FROM (VALUES ('sx.yc.js.devzone', 95, 16, 0.75), ('sx.yc.js.jifeng', 38, 9, 0.70),
                       ('sx.yc.js.xishe', 44, 8, 0.75), ('sx.yc.js.huayu', 16, 6, 0.70),
                       ('sx.yc.js.zhaidian', 17, 6, 0.70), ('sx.yc.js.qinghe', 16, 6, 0.70),
                       ('sx.yc.js.caicun', 14, 5, 0.60), ('sx.yc.js.taiyang', 20, 5, 0.60))
               AS q (code, yi, n, rate)
          JOIN unit u ON u.code = q.code;
        IF quotas_shortfall(county, y) IS NOT NULL THEN
            RAISE EXCEPTION 'demo quotas do not cover the county''s target: %', quotas_shortfall(county, y);
        END IF;
    END IF;

    -- ---- the year's projects, once ----
    IF EXISTS (SELECT 1 FROM project WHERE code = format('JS-%s-001', y)) THEN
        RAISE NOTICE 'demo: the projects of % are already loaded', y;
        RETURN;
    END IF;

    -- New investors (the others are 0002's), with a contact each; inserted
    -- once, whatever the year.
    INSERT INTO investor (unit_id, name, uscc, origin_region, industry, chain_role, notes, created_by)
    SELECT u.id, v.name,
           (SELECT q.p || ch
              FROM (SELECT '91' || v.region || 'MA0' || upper(substr(md5(v.name), 1, 6)) AS p) q,
                   unnest(string_to_array('0123456789ABCDEFGHJKLMNPQRTUWXY', NULL)) AS ch
             WHERE uscc_valid(q.p || ch)
             LIMIT 1),
           v.origin, v.industry, v.chain_role, v.notes, (SELECT id FROM app_user WHERE username = 'demo.bureau')
      FROM (VALUES
        (1,  '宁波锐驰汽车零部件有限公司', 'sx.yc.js.devzone', '330206', '浙江宁波', '新能源汽车零部件', 'none',
             '长三角以商招商引进，铝合金轮毂配套新能源整车企业。'),
        (2,  '合肥中科钠能新材料有限公司', 'sx.yc.js.devzone', '340104', '安徽合肥', '钠离子电池材料', 'none',
             '依托县内焦化副产品和储能项目，布局钠离子电池正极材料。'),
        (3,  '河南中原冷链装备有限公司', 'sx.yc.js.devzone', '410102', '河南郑州', '冷链装备', 'none', ''),
        (4,  '山西晋瑞光伏科技有限公司', 'sx.yc.js.xishe', '140105', '山西太原', '光伏组件', 'none',
             '与西社镇储能、农光互补项目形成“光伏+储能”配套。'),
        (5,  '浙江绿循新能源科技有限公司', 'sx.yc.js.xishe', '330110', '浙江杭州', '动力电池回收', 'none', ''),
        (6,  '山西晋南供应链管理有限公司', 'sx.yc.js.jifeng', '140802', '山西运城', '供应链物流', 'none', ''),
        (7,  '山西稷王农业科技有限公司', 'sx.yc.js.jifeng', '140824', '山西运城稷山', '稷山四宝深加工', 'supporting',
             '板枣、核桃、蜂蜜等稷山特产精深加工。'),
        (8,  '山西果乡食品有限公司', 'sx.yc.js.huayu', '140824', '山西运城稷山', '果品加工', 'none', ''),
        (9,  '运城市鑫达机械制造有限公司', 'sx.yc.js.zhaidian', '140802', '山西运城', '农机配件', 'supporting', ''),
        (10, '山西牧丰饲料有限公司', 'sx.yc.js.zhaidian', '140824', '山西运城稷山', '饲料', 'supporting',
             '为县内蛋鸡养殖配套饲料。'),
        (11, '山西晋味源食品有限公司', 'sx.yc.js.zhaidian', '140802', '山西运城', '预制菜', 'none', ''),
        (12, '山西清源生物科技有限公司', 'sx.yc.js.qinghe', '140105', '山西太原', '生物有机肥', 'none', ''),
        (13, '山西汾源果业有限公司', 'sx.yc.js.qinghe', '140824', '山西运城稷山', '果蔬加工', 'none', ''),
        (14, '山西晋禽农牧科技有限公司', 'sx.yc.js.caicun', '140702', '山西晋中', '蛋鸡养殖', 'supporting',
             '蛋鸡产业链上游，与江苏仁康蛋业、禾丰有机肥形成闭环。'),
        (15, '运城市禽旺食品有限公司', 'sx.yc.js.caicun', '140802', '山西运城', '蛋品电商', 'none', ''),
        (16, '山西药茂中药材科技有限公司', 'sx.yc.js.taiyang', '140802', '山西运城', '中药饮片', 'none', ''))
           AS v (ord, name, unit_code, region, origin, industry, chain_role, notes)
      JOIN unit u ON u.code = v.unit_code
     WHERE NOT EXISTS (SELECT 1 FROM investor i WHERE i.name = v.name)
     ORDER BY v.ord;

    INSERT INTO contact (investor_id, name, title, phone, email, notes)
    SELECT i.id, v.name, v.title, v.phone, '', ''
      FROM (VALUES
        (1,  '宁波锐驰汽车零部件有限公司', '邵锐驰', '董事长', '13905740112'),
        (2,  '合肥中科钠能新材料有限公司', '钱钠新', '总经理', '13905510223'),
        (3,  '河南中原冷链装备有限公司', '袁中原', '投资总监', '13903710334'),
        (4,  '山西晋瑞光伏科技有限公司', '康瑞阳', '总经理', '13834104445'),
        (5,  '浙江绿循新能源科技有限公司', '陆循环', '拓展部经理', '13905710556'),
        (6,  '山西晋南供应链管理有限公司', '南志刚', '总经理', '13835904667'),
        (7,  '山西稷王农业科技有限公司', '姬王成', '董事长', '13903594778'),
        (8,  '山西果乡食品有限公司', '郭乡果', '总经理', '13903594889'),
        (9,  '运城市鑫达机械制造有限公司', '鑫建达', '总经理', '13835904990'),
        (10, '山西牧丰饲料有限公司', '牧志丰', '总经理', '13903595001'),
        (11, '山西晋味源食品有限公司', '魏源', '总经理', '13835905112'),
        (12, '山西清源生物科技有限公司', '清立源', '技术总监', '13834105223'),
        (13, '山西汾源果业有限公司', '汾晓源', '总经理', '13903595334'),
        (14, '山西晋禽农牧科技有限公司', '秦禽', '董事长', '13835405445'),
        (15, '运城市禽旺食品有限公司', '王禽旺', '运营总监', '13835905556'),
        (16, '山西药茂中药材科技有限公司', '姚茂林', '总经理', '13835905667'))
           AS v (ord, investor, name, title, phone)
      JOIN investor i ON i.name = v.investor
     WHERE NOT EXISTS (SELECT 1 FROM contact c WHERE c.investor_id = i.id)
     ORDER BY v.ord;

    -- One row per project: unit, investor, 包联 leader, chain, park, amount
    -- (亿元), key flag, days from signing to start, and what happens to it:
    --   on          signs on its scheduled day, starts lag days later (a
    --               week ahead of its planned start);
    --   produce     the same, in production 120 days after its start;
    --   stuck       signs, never starts: its planned start (lag + 7 days after
    --               signing) passes (note: why);
    --   fake_start  signs; its start is reported, verified, and revoked as
    --               falsified 20 days after its date (note: why);
    --   slip        should have signed by now, still negotiating (note: why),
    --               expected to sign in the coming weeks;
    --   stale       a lead nobody has followed for over two months (note:
    --               the last call);
    --   planned     谋划, no investor yet.
    -- The schedule: the projects that sign (on, produce, stuck, fake_start)
    -- in the order of their position within their unit, then the VALUES
    -- order; each signs on the day of the year at which the cumulative
    -- amount passes the middle of its own, so that the signing is spread
    -- evenly over the year and so is each unit's.
    FOR r IN
        WITH v (ord, name, unit_code, investor, leader, chain, park, amount_yi, is_key, lag, flag, note) AS (
            VALUES
            -- the development zone: quota ¥95亿
            (1,  '西社园区二期标准化厂房', 'sx.yc.js.devzone', '稷山经济技术开发区建设投资有限公司', 'demo.leader', '园区建设', '西社园区', 3.0, true, 20, 'produce', NULL),
            (2,  '年产2万吨等静压石墨二期及石墨化', 'sx.yc.js.devzone', '山西梅山湖新材料科技有限公司', 'demo.leader', '石墨新材料', '西社园区', 14, true, 40, 'on', NULL),
            (3,  '钢渣微粉及冶金固废综合利用', 'sx.yc.js.devzone', '山西东方资源发展集团有限公司', 'leader.zhao', '冶金', '', 6, true, 30, 'on', NULL),
            (4,  '年产8万吨高端特种炭黑', 'sx.yc.js.devzone', '山西永东化工股份有限公司', 'leader.zhao', '焦化', '西社园区', 9, true, 45, 'on', NULL),
            (5,  '年产50万吨特种钢材精深加工', 'sx.yc.js.devzone', '山西铭福钢铁有限公司', 'leader.zhao', '冶金', '', 9, true, 30, 'stuck',
                 '项目已签约，年综合能耗超出县内可调剂指标，节能审查未通过，需争取省级统筹能耗指标，开工节点已逾期。'),
            (6,  '氢能重卡加氢站网络二期', 'sx.yc.js.devzone', '山西晋氢能源科技有限公司', 'leader.zhao', '氢能', '西社园区', 5, true, 30, 'on', NULL),
            (7,  '年产5万吨锂电池负极材料二期', 'sx.yc.js.devzone', '湖南碳谷新能源材料有限公司', 'demo.leader', '石墨新材料', '西社园区', 12, true, 35, 'on', NULL),
            (8,  '园区光储充一体化智慧能源站', 'sx.yc.js.devzone', '稷山经济技术开发区建设投资有限公司', 'demo.leader', '能源', '西社园区', 4, false, 25, 'on', NULL),
            (9,  '新能源汽车铝合金轮毂', 'sx.yc.js.devzone', '宁波锐驰汽车零部件有限公司', 'leader.zhao', '装备制造', '西社园区', 8, true, 50, 'on', NULL),
            (10, '年产3万吨钠离子电池正极材料', 'sx.yc.js.devzone', '合肥中科钠能新材料有限公司', 'demo.leader', '新能源材料', '西社园区', 9, true, 55, 'on', NULL),
            (11, '冷链装备制造基地', 'sx.yc.js.devzone', '河南中原冷链装备有限公司', 'leader.zhao', '装备制造', '西社园区', 2.5, false, NULL, 'stale',
                 '企业表示正在评估在晋南布局生产基地，投资计划待集团年度会议研究，暂无明确时间表。'),
            -- 西社镇: ¥44亿
            (12, '西社镇农产品产地冷藏保鲜设施', 'sx.yc.js.xishe', '稷山县农业农村发展投资有限公司', 'leader.li', '物流', '', 1, false, 15, 'on', NULL),
            (13, '低阶煤热解提质二期', 'sx.yc.js.xishe', '稷山县金星洗煤有限公司', 'leader.zhao', '焦化', '', 13, true, 45, 'on', NULL),
            (14, '装配式建筑构件生产基地二期', 'sx.yc.js.xishe', '山西华筑装配式建筑科技有限公司', 'leader.zhao', '新型建材', '', 1.5, false, 20, 'produce', NULL),
            (15, '400MW独立储能二期', 'sx.yc.js.xishe', '山西惠惠能新能源科技有限公司', 'leader.zhang', '新能源', '', 19, true, 50, 'on', NULL),
            (16, '西社镇二期80MW农光互补光伏', 'sx.yc.js.xishe', '运城市阳光农光新能源有限公司', 'leader.zhang', '新能源', '', 3.5, true, 30, 'on', NULL),
            (17, '年产2GW高效光伏组件', 'sx.yc.js.xishe', '山西晋瑞光伏科技有限公司', 'leader.zhang', '新能源', '', 14, true, 40, 'on', NULL),
            (18, '废旧动力电池回收利用', 'sx.yc.js.xishe', '浙江绿循新能源科技有限公司', 'leader.zhang', '新能源', '', 3, false, NULL, 'stale',
                 '企业在比较运城、临汾两地的危废经营许可和用地条件，上次对接后未再回复。'),
            -- 稷峰镇: ¥38亿
            (19, '县医院医养结合中心', 'sx.yc.js.jifeng', '稷山县城市建设投资开发有限公司', 'leader.wang', '民生', '', 2.5, true, 30, 'on', NULL),
            (20, '汾河湾片区综合开发', 'sx.yc.js.jifeng', '稷山县城市建设投资开发有限公司', 'leader.wang', '城建', '', 11, true, 30, 'stuck',
                 '沿线41户房屋和3处厂房未签征迁协议，施工单位无法进场，开工节点已逾期。'),
            (21, '城区老旧小区改造及配套提升', 'sx.yc.js.jifeng', '稷山县城市建设投资开发有限公司', 'leader.wang', '城建', '', 4.5, true, 25, 'on', NULL),
            (22, '城北冷链物流中心二期', 'sx.yc.js.jifeng', '山西顺鑫冷链物流有限公司', 'leader.wang', '物流', '城北产业园', 2.5, true, 30, 'on', NULL),
            (23, '稷山四宝精深加工产业园', 'sx.yc.js.jifeng', '山西稷王农业科技有限公司', 'leader.li', '稷山四宝', '城北产业园', 3.5, true, 40, 'on', NULL),
            (24, '城北智慧物流园', 'sx.yc.js.jifeng', '山西晋南供应链管理有限公司', 'leader.wang', '物流', '城北产业园', 7, true, 45, 'on', NULL),
            (25, '全域旅游集散中心', 'sx.yc.js.jifeng', '稷山县文化旅游投资有限公司', 'leader.wang', '文旅', '', 3, false, 35, 'on', NULL),
            -- 化峪镇: ¥16亿
            (26, '果蔬冷链仓储中心二期', 'sx.yc.js.huayu', '山西鲜达冷链物流有限公司', 'leader.wang', '物流', '', 1.2, false, 25, 'on', NULL),
            (27, '工业固废制砂及新型墙材', 'sx.yc.js.huayu', '稷山县慧鑫建材有限公司', 'leader.li', '新材料', '', 2, true, 30, 'on', NULL),
            (28, '万亩苹果提质增效及果汁加工', 'sx.yc.js.huayu', '山西果乡食品有限公司', 'leader.li', '果业', '', 3.5, true, NULL, 'slip',
                 '企业要求整村流转土地，部分农户对流转价格有异议，签约推迟，镇里正在逐户做工作。'),
            (29, '圣王山景区提升', 'sx.yc.js.huayu', '稷山县文化旅游投资有限公司', 'leader.wang', '文旅', '', 1.8, false, 35, 'on', NULL),
            -- 翟店镇: ¥17亿
            (30, '新型塑料包装二期', 'sx.yc.js.zhaidian', '昆山市华塑包装制品有限公司', 'leader.zhang', '包装', '', 1.5, false, 25, 'produce', NULL),
            (31, '农机具配件加工', 'sx.yc.js.zhaidian', '运城市鑫达机械制造有限公司', 'leader.zhang', '装备制造', '', 2, false, 30, 'fake_start',
                 '复核发现开工现场仅完成场地平整，无施工许可和监理进场记录，开工认定撤销并按虚报处理；企业正在补办手续。'),
            (32, '汽车零部件精密铸造二期', 'sx.yc.js.zhaidian', '山西众诚汽车零部件有限公司', 'leader.zhao', '装备制造', '', 5, true, 40, 'on', NULL),
            (33, '年产5万吨饲料加工', 'sx.yc.js.zhaidian', '山西牧丰饲料有限公司', 'leader.li', '饲料', '', 2.5, false, 30, 'on', NULL),
            (34, '预制菜产业园', 'sx.yc.js.zhaidian', '山西晋味源食品有限公司', 'leader.li', '食品', '', 3, true, 35, 'on', NULL),
            -- 清河镇: ¥16亿
            (35, '设施蔬菜大棚产业园二期', 'sx.yc.js.qinghe', '山西绿源设施农业科技有限公司', 'leader.li', '设施农业', '', 1.5, false, 20, 'on', NULL),
            (36, '胶原蛋白肽二期', 'sx.yc.js.qinghe', '山西金蛋白食品科技有限公司', 'leader.li', '食品', '', 4, true, 35, 'on', NULL),
            (37, '清河镇污水处理及再生水利用', 'sx.yc.js.qinghe', '稷山县城市建设投资开发有限公司', 'leader.wang', '生态', '', 2, true, 30, 'on', NULL),
            (38, '秸秆综合利用生物有机肥', 'sx.yc.js.qinghe', '山西清源生物科技有限公司', 'leader.zhang', '生态', '', 2.5, false, 40, 'on', NULL),
            (39, '汾河湿地生态旅游', 'sx.yc.js.qinghe', '稷山县文化旅游投资有限公司', 'leader.wang', '文旅', '', 2, false, 45, 'on', NULL),
            (40, '果蔬脆片加工', 'sx.yc.js.qinghe', '山西汾源果业有限公司', 'leader.li', '食品', '', 0.8, false, NULL, 'stale',
                 '企业对冷库配套和原料收购价格仍有顾虑，表示暂不考虑签约。'),
            -- 蔡村乡: ¥14亿
            (41, '蛋鸡粪污资源化利用有机肥二期', 'sx.yc.js.caicun', '稷山县禾丰有机肥有限公司', 'leader.li', '蛋鸡', '', 1, false, 20, 'produce', NULL),
            (42, '蛋粉及蛋制品深加工二期', 'sx.yc.js.caicun', '江苏仁康蛋业有限公司', 'leader.li', '蛋鸡', '', 2.5, true, 30, 'on', NULL),
            (43, '高标准农田二期', 'sx.yc.js.caicun', '稷山县农业农村发展投资有限公司', 'leader.li', '粮油', '', 1.5, true, 15, 'on', NULL),
            (44, '200万只蛋鸡智能化养殖', 'sx.yc.js.caicun', '山西晋禽农牧科技有限公司', 'leader.li', '蛋鸡', '', 7, true, 45, 'on', NULL),
            (45, '鸡蛋分级包装及蛋品物流中心', 'sx.yc.js.caicun', '稷山县农业农村发展投资有限公司', 'leader.li', '蛋鸡', '', 2, false, 30, 'on', NULL),
            (46, '鸡蛋品牌电商直播基地', 'sx.yc.js.caicun', '运城市禽旺食品有限公司', 'leader.li', '蛋鸡', '', 0.5, false, NULL, 'stale',
                 '企业主要负责人变动，新团队尚未确定是否继续推进。'),
            -- 太阳乡: ¥20亿
            (47, '中药材GAP种植基地', 'sx.yc.js.taiyang', '稷山县农业农村发展投资有限公司', 'leader.li', '中药材', '', 1.2, false, 20, 'on', NULL),
            (48, '山居民宿集群二期', 'sx.yc.js.taiyang', '山西乡居文旅发展有限公司', 'leader.wang', '文旅', '', 1, false, 30, 'on', NULL),
            (49, '中药饮片加工', 'sx.yc.js.taiyang', '山西药茂中药材科技有限公司', 'leader.li', '中药材', '', 5, true, 40, 'on', NULL),
            (50, '150MW风电二期', 'sx.yc.js.taiyang', '河北科兴新能源开发有限公司', 'leader.zhang', '新能源', '', 8, true, NULL, 'slip',
                 '二期风电场18个机位涉及公益林，需调整点位并纳入省年度风光建设规模后方可签约。'),
            (51, '板栗深加工二期', 'sx.yc.js.taiyang', '稷山县农业农村发展投资有限公司', 'leader.li', '板栗', '', 1.5, false, 35, 'on', NULL),
            (52, '稷山抽水蓄能电站', 'sx.yc.js.taiyang', NULL, 'leader.zhang', '能源', '', 60, true, NULL, 'planned', NULL),
            -- leads registered later in the towns that had none, gone quiet
            (53, '城市商业综合体二期', 'sx.yc.js.jifeng', '运城万润置业有限公司', 'leader.wang', '商贸', '', 5, false, NULL, 'stale',
                 '一期综合体尚未开业，二期投资待一期招商情况再定。'),
            (54, '光储一体化二期', 'sx.yc.js.huayu', '大唐桂冠（稷山）新能源有限公司', 'leader.zhang', '新能源', '', 3, false, NULL, 'stale',
                 '二期光伏建设指标尚未获批，企业暂缓推进。'),
            (55, '挂面及速冻面食生产线', 'sx.yc.js.zhaidian', '稷山县麦香面业有限公司', 'leader.li', '粮油', '', 0.6, false, NULL, 'stale',
                 '企业正在筹措资金，暂无明确投资时间表。'),
            (56, '太阳乡分散式风电', 'sx.yc.js.taiyang', '冀和新能源（石家庄）有限公司', 'leader.zhang', '新能源', '', 1.5, false, NULL, 'stale',
                 '企业在等省里分散式风电政策细则，暂未推进。')),
        signing AS (   -- the projects that sign, each at its position within its unit
            SELECT v.ord, v.amount_yi,
                   (row_number() OVER (PARTITION BY v.unit_code ORDER BY v.ord) - 0.5)
                       / count(*) OVER (PARTITION BY v.unit_code) AS phase
              FROM v WHERE v.flag IN ('on', 'produce', 'stuck', 'fake_start')),
        schedule AS (
            SELECT s.ord, jan1 + floor((sum(s.amount_yi) OVER w - s.amount_yi / 2) / sum(s.amount_yi) OVER ()
                                       * (dec31 - jan1))::integer AS sign_on
              FROM signing s
            WINDOW w AS (ORDER BY s.phase, s.ord))
        SELECT v.*, format('JS-%s-%s', y, lpad(v.ord::text, 3, '0')) AS code, u.id AS unit_id, u.name AS unit_name,
               i.id AS investor_id, ld.id AS leader_id,
               replace(ld.display_name, '县级领导（包联）', '包联县领导') AS leader_name,
               (SELECT c.name FROM contact c WHERE c.investor_id = i.id ORDER BY c.id LIMIT 1) AS contact,
               -- started lag days after signing, a week ahead of the plan
               s.sign_on, s.sign_on + v.lag AS start_on, s.sign_on + v.lag + 7 AS plan_on,
               coalesce(s.sign_on <= today, false) AS signs,
               coalesce(s.sign_on + v.lag <= today AND v.flag <> 'stuck', false) AS starts,
               -- the note, once it holds: a stuck project's once its planned
               -- start has passed, a false start's once revoked
               CASE WHEN v.flag = 'stuck' AND s.sign_on + v.lag + 7 < today OR v.flag IN ('slip', 'stale')
                         OR v.flag = 'fake_start' AND s.sign_on + v.lag + 20 <= today
                    THEN v.note END AS issue,
               -- reported by the town (西社镇 reports its own) or one of the bureau's two officers
               CASE WHEN v.unit_code = 'sx.yc.js.xishe' THEN 'demo.xishe'
                    WHEN v.ord % 2 = 0 THEN 'demo.bureau' ELSE 'bureau.chen' END AS reporter,
               -- verified by the assessment office, now and then by the bureau
               CASE WHEN v.ord % 5 = 0 THEN 'demo.viewer'
                    WHEN v.ord % 7 = 0 AND v.ord % 2 = 0 THEN 'bureau.chen'
                    ELSE 'viewer.kaohe' END AS verifier
          FROM v
          JOIN unit u ON u.code = v.unit_code
          JOIN app_user ld ON ld.username = v.leader
          LEFT JOIN LATERAL (SELECT x.id FROM investor x WHERE x.name = v.investor ORDER BY x.id LIMIT 1) i ON true
          LEFT JOIN schedule s ON s.ord = v.ord
         ORDER BY v.ord
    LOOP
        INSERT INTO project (code, name, unit_id, investor_id, leader_id, industry_chain, park,
                             planned_investment_yuan, is_key, five_one, plan, planned_start_on, expected_sign_on,
                             stage, created_by)
        VALUES (r.code, r.name, r.unit_id, r.investor_id, r.leader_id, r.chain, r.park,
                (r.amount_yi * 100000000)::bigint, r.is_key,
                jsonb_build_object(
                    '包联领导', r.leader_name,
                    '工作专班', r.chain || '产业项目工作专班',
                    '推进方案', CASE WHEN r.signs THEN '一项目一方案：倒排工期、挂图作战，手续并联审批'
                                     ELSE '一项目一方案：明确投资主体，落实用地、能耗和环境容量，力争早签约' END,
                    '时间节点', coalesce(to_char(r.plan_on, 'YYYY"年"FMMM"月"FMDD"日"') || '前开工', '待定'),
                    '服务专员', '县投促中心 ' || specialists[1 + r.ord % 6]),
                format('建设内容：%s。计划总投资%s亿元。%s', r.name, trim_scale(r.amount_yi),
                       CASE WHEN r.flag = 'planned' THEN '谋划阶段：编制项目建议书，梳理资源条件，寻找投资主体。'
                            WHEN NOT r.signs THEN '推进重点：对接投资方，细化合作条件，争取年内签约。'
                            WHEN NOT r.starts THEN '推进重点：完成立项、用地、环评、能评等前期手续，尽快开工。'
                            ELSE '推进重点：保障施工要素，跟踪建设进度，确保按期投产达效。' END),
                r.plan_on,
                CASE WHEN r.signs OR r.flag IN ('stale', 'planned') THEN NULL
                     WHEN r.flag = 'slip' THEN least(dec31, today + 20 + r.ord % 40)
                     ELSE r.sign_on END,
                CASE WHEN r.flag = 'planned' THEN 'planned' ELSE 'lead' END,
                (SELECT id FROM app_user WHERE username = CASE WHEN r.unit_code = 'sx.yc.js.xishe'
                                                               THEN 'demo.xishe' ELSE 'demo.bureau' END))
        RETURNING id INTO pid;

        -- In negotiation: signed, slipped, or due to sign within four months.
        IF r.signs OR r.flag = 'slip' OR r.sign_on <= today + 120 THEN
            PERFORM project_transition(pid, 'negotiating', NULL, NULL);
        END IF;

        IF r.signs THEN
            INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence, reported_by, reported_at)
            VALUES (pid, 'formal', (r.amount_yi * 100000000)::bigint, r.sign_on,
                    format('正式投资合同（稷投签〔%s〕%s号）原件扫描件、双方营业执照及授权委托书', y, r.ord),
                    (SELECT id FROM app_user WHERE username = r.reporter), pg_temp.demo_at(r.sign_on, 1, 10))
            RETURNING id INTO cid;
            IF r.sign_on + 7 <= today THEN
                UPDATE contract SET verified_by = (SELECT id FROM app_user WHERE username = r.verifier),
                                    verified_at = pg_temp.demo_at(r.sign_on, 7, 15)
                 WHERE id = cid;
            END IF;
            PERFORM project_transition(pid, 'signed', NULL, NULL);
        END IF;

        IF r.starts THEN
            INSERT INTO project_start (project_id, started_on, evidence, reported_by, reported_at)
            VALUES (pid, r.start_on, '开工报告、施工许可证（或开工备案）、现场照片及监理进场记录',
                    (SELECT id FROM app_user WHERE username = r.reporter), pg_temp.demo_at(r.start_on, 1, 10))
            RETURNING id INTO sid;
            IF r.start_on + 6 <= today THEN
                UPDATE project_start SET verified_by = (SELECT id FROM app_user WHERE username = r.verifier),
                                         verified_at = pg_temp.demo_at(r.start_on, 6, 16)
                 WHERE id = sid;
            END IF;
            IF r.flag <> 'fake_start' THEN
                PERFORM project_transition(pid, 'started', NULL, NULL);
            ELSIF r.start_on + 20 <= today THEN
                -- The start never was: the project stays signed, its start
                -- claim revoked as falsified (a deduction for the town).
                UPDATE project_start SET revoked_by = (SELECT id FROM app_user WHERE username = r.verifier),
                                         revoked_at = pg_temp.demo_at(r.start_on, 20, 11),
                                         revoke_reason = r.note, revoke_falsified = true
                 WHERE id = sid;
            END IF;
            IF r.flag = 'produce' AND r.start_on + 120 <= today THEN
                PERFORM project_transition(pid, 'in_production', r.start_on + 120, NULL);
            END IF;
        END IF;

        -- ---- its interactions ----
        -- The negotiation before its signing.
        IF r.signs THEN
            INSERT INTO interaction (unit_id, project_id, investor_id, kind, occurred_on, place, summary,
                                     participants, next_step, next_step_due, created_by)
            VALUES (r.unit_id, pid, r.investor_id, 'negotiation', r.sign_on - (6 + r.ord % 12),
                    CASE WHEN r.ord % 3 = 0 THEN '县投资促进中心洽谈室'
                         WHEN r.ord % 3 = 1 THEN '县政府第二会议室'
                         ELSE r.unit_name || '会议室' END,
                    format('%s主持与%s洽谈%s项目，就总投资%s亿元、用地保障、建设时序和要素配套达成一致，约定%s签订正式投资合同。',
                           r.leader_name, r.investor, r.name, trim_scale(r.amount_yi),
                           to_char(r.sign_on, 'FMMM"月"FMDD"日"')),
                    ARRAY[r.investor || ' ' || coalesce(r.contact, '项目负责人'),
                          '县投促中心 ' || specialists[1 + r.ord % 6], r.unit_name || ' 主要负责人'],
                    '起草正式合同文本，经法律顾问审核后签约', r.sign_on,
                    (SELECT id FROM app_user WHERE username = r.reporter))
            RETURNING id INTO iid;
            INSERT INTO interaction_leader (interaction_id, leader_id) VALUES (iid, r.leader_id);
        END IF;
        -- What is happening now: the blocking issue of a project signed and
        -- not started, the start prepared, the talks of the pipeline, the
        -- last call of a stale lead.
        IF r.flag = 'planned' OR (r.starts AND r.issue IS NULL) THEN
            CONTINUE;
        END IF;
        on_day := CASE WHEN r.flag = 'stale' THEN today - (64 + r.ord % 15)
                       WHEN r.signs THEN greatest(r.sign_on, today - (2 + r.ord % 16))
                       ELSE today - (r.ord * 3) % 24 END;
        INSERT INTO interaction (unit_id, project_id, investor_id, kind, occurred_on, place, summary,
                                 participants, next_step, next_step_due, created_by)
        SELECT r.unit_id, pid, r.investor_id, k.kind, on_day, k.place, k.summary,
               ARRAY[r.investor || ' ' || coalesce(r.contact, '项目负责人'), r.unit_name || ' 主要负责人',
                     '县投促中心 ' || specialists[1 + r.ord % 6]],
               k.next_step, on_day + 14 + r.ord % 10,
               (SELECT id FROM app_user WHERE username = r.reporter)
          FROM (SELECT CASE WHEN r.flag = 'stale' THEN 'call'
                            WHEN r.issue IS NOT NULL OR r.signs THEN 'coordination'
                            ELSE kinds[1 + r.ord % 4] END AS kind) kk,
               LATERAL (SELECT kk.kind,
                   CASE kk.kind WHEN 'call' THEN ''
                                WHEN 'site_visit' THEN r.unit_name || '拟选地块'
                                ELSE r.unit_name || '会议室' END AS place,
                   CASE WHEN r.flag = 'stale' THEN format('电话联系%s，了解%s项目进展：%s', r.investor, r.name, r.issue)
                        WHEN r.issue IS NOT NULL THEN format('%s协调%s项目：%s', r.leader_name, r.name, r.issue)
                        WHEN r.signs THEN format('%s到%s项目现场调度开工准备，施工图审查和施工许可正在办理，要求%s前具备开工条件。',
                                                 r.leader_name, r.name, to_char(r.plan_on, 'FMMM"月"FMDD"日"'))
                        WHEN kk.kind = 'meeting' THEN format('%s会见%s负责人，介绍稷山招商政策和要素保障，双方就%s项目（计划投资%s亿元）合作框架深入交流，力争%s前签约。',
                                                             r.leader_name, r.investor, r.name, trim_scale(r.amount_yi),
                                                             to_char(r.sign_on, 'FMMM"月"FMDD"日"'))
                        WHEN kk.kind = 'site_visit' THEN format('%s陪同%s考察团实地踏勘%s项目拟选地块，企业对用地条件和配套基本满意，提出供水、供电接入需求。',
                                                                r.leader_name, r.investor, r.name)
                        WHEN kk.kind = 'negotiation' THEN format('与%s就%s项目投资协议条款进行第二轮洽谈，投资强度、亩均税收和建设时序基本达成一致。',
                                                                 r.investor, r.name)
                        ELSE format('电话对接%s，跟进%s项目董事会审议进展，企业表示将按计划推进签约。', r.investor, r.name)
                   END AS summary,
                   CASE WHEN r.flag = 'stale' THEN '保持联系，适时邀请企业来稷考察'
                        WHEN r.issue IS NOT NULL THEN '相关部门限期拿出解决方案，报县领导协调'
                        WHEN r.signs THEN '办理施工许可，组织开工'
                        ELSE '细化合作条件，起草投资协议' END AS next_step) k
        RETURNING id INTO iid;
        IF r.flag <> 'stale' AND (SELECT kind FROM interaction WHERE id = iid) <> 'call' THEN
            INSERT INTO interaction_leader (interaction_id, leader_id) VALUES (iid, r.leader_id);
        END IF;
        IF r.flag = 'stale' THEN
            -- Nothing logged since: no progress for over two months (and
            -- under three, so that the service does not mark it stalled).
            UPDATE project SET last_progress_at = pg_temp.demo_at(on_day, 0, 16) WHERE id = pid;
        END IF;
    END LOOP;

    -- ---- the leaders' own meetings and visits of recent weeks ----
    -- (亲自会见、亲自陪同、亲自协调), whatever stage the projects have reached.
    FOR r IN
        SELECT v.*, p.id AS project_id, coalesce(p.unit_id, i.unit_id) AS unit_id,
               coalesce(p.investor_id, i.id) AS investor_id
          FROM (VALUES
            (1, 2, NULL, 'meeting', 12, '县政府第一会议室',
                '赵常务副县长主持召开石墨新材料产业链项目推进会，梅山湖汇报等静压石墨二期进展，会议明确由开发区牵头协调用地、能耗和供电要素。',
                ARRAY['梅山湖 梅卫国', '开发区管委会 杨卫东', '县发改局', '县供电公司'], '开发区拿出要素保障清单', 14,
                ARRAY['leader.zhao', 'demo.leader'], 'demo.bureau'),
            (2, NULL, '山西永东化工股份有限公司', 'meeting', 5, '永东化工',
                '王县长走访永东化工，听取企业生产经营和新项目谋划情况，企业提出延伸煤焦油精深加工链条、建设特种炭材料研发中心的设想。',
                ARRAY['永东化工 刘东升', '永东化工 韩立新', '县工信局'], '县工信局对接省级技改资金', 30,
                ARRAY['leader.wang'], 'demo.bureau'),
            (3, 44, NULL, 'site_visit', 9, '蔡村乡蛋鸡养殖基地',
                '李副县长调研蔡村乡蛋鸡全产业链项目，察看智能化养殖基地选址和粪污资源化利用配套，要求乡里做好用地和环评服务。',
                ARRAY['晋禽农牧 秦禽', '蔡村乡 乡长', '县农业农村局'], '落实设施农用地备案', 20,
                ARRAY['leader.li'], 'bureau.chen'),
            (4, 50, NULL, 'meeting', 3, '县政府第二会议室',
                '张副县长会见河北科兴新能源负责人，研究二期风电场机位调整方案和省年度风光建设规模申报事宜。',
                ARRAY['科兴新能源 冯科兴', '县能源局', '县林业局', '太阳乡 乡长'], '企业报送调整后的机位方案', 15,
                ARRAY['leader.zhang'], 'demo.bureau'),
            (5, NULL, '湖南碳谷新能源材料有限公司', 'meeting', 16, '县政府第一会议室',
                '县领导会见湖南碳谷董事长，企业介绍负极材料二期市场和产能规划，希望园区提供人才公寓和技术工人培训支持。',
                ARRAY['湖南碳谷 谭国峰', '湖南碳谷 欧阳娟', '开发区管委会 杨卫东'], '人社局对接技术工人定向培训', 30,
                ARRAY['demo.leader', 'leader.zhao'], 'bureau.chen'),
            (6, 21, NULL, 'site_visit', 20, '城区老旧小区改造现场',
                '王县长调研城区老旧小区改造项目，察看管网改造和加装电梯进度，要求施工期间做好交通疏导和居民沟通。',
                ARRAY['县城投 史国强', '县住建局', '稷峰镇'], '制定分片施工计划', 10,
                ARRAY['leader.wang'], 'demo.bureau'))
               AS v (ord, project_ord, investor, kind, days_ago, place, summary, participants, next_step, due_in,
                     leaders, creator)
          LEFT JOIN project p ON p.code = format('JS-%s-%s', y, lpad(v.project_ord::text, 3, '0'))
          LEFT JOIN LATERAL (SELECT x.id, x.unit_id FROM investor x WHERE x.name = v.investor ORDER BY x.id LIMIT 1) i
                 ON true
         ORDER BY v.ord
    LOOP
        INSERT INTO interaction (unit_id, project_id, investor_id, kind, occurred_on, place, summary,
                                 participants, next_step, next_step_due, created_by)
        VALUES (r.unit_id, r.project_id, r.investor_id, r.kind, today - r.days_ago, r.place, r.summary,
                r.participants, r.next_step, today - r.days_ago + r.due_in,
                (SELECT id FROM app_user WHERE username = r.creator))
        RETURNING id INTO iid;
        INSERT INTO interaction_leader (interaction_id, leader_id)
        SELECT iid, u.id FROM app_user u WHERE u.username = ANY (r.leaders);
    END LOOP;

    -- ---- problems under supervision (督办) ----
    INSERT INTO problem (project_id, owner_unit_id, title, description, due_on, level, status, created_by)
    SELECT p.id, u.id, v.title, v.description, today + v.due_in, v.level, v.status,
           (SELECT id FROM app_user WHERE username = v.creator)
      FROM (VALUES
        (5,  'sx.yc.js.devzone', '特种钢材项目能耗指标未落实',
             '年综合能耗超出县内可调剂指标，节能审查未通过，需争取省级统筹能耗指标。', 20, 3, 'open', 'demo.leader'),
        (20, 'sx.yc.js.jifeng', '汾河湾片区征迁未完成',
             '沿线41户房屋和3处厂房未签征迁协议，施工单位无法进场。', 30, 2, 'in_progress', 'leader.wang'),
        (31, 'sx.yc.js.zhaidian', '农机具配件项目开工手续不全',
             '无施工许可和监理进场记录，开工认定已撤销，企业补办手续后重新申报。', 7, 2, 'open', 'demo.bureau'),
        (28, 'sx.yc.js.huayu', '苹果基地土地流转价格分歧',
             '部分农户对流转价格有异议，影响整村流转和签约。', 10, 1, 'open', 'leader.li'),
        (50, 'sx.yc.js.taiyang', '风电二期机位涉及公益林',
             '18个机位需调整或报省林草局审批，并争取纳入省年度风光建设规模。', 45, 3, 'in_progress', 'leader.zhang'),
        (15, 'sx.yc.js.xishe', '储能二期220kV接入系统批复',
             '接入系统报告需国网山西公司评审。', -30, 2, 'resolved', 'demo.xishe'))
           AS v (ord, unit_code, title, description, due_in, level, status, creator)
      JOIN project p ON p.code = format('JS-%s-%s', y, lpad(v.ord::text, 3, '0'))
      JOIN unit u ON u.code = v.unit_code
     -- the false start's, once it is found out
     WHERE v.ord <> 31 OR EXISTS (SELECT 1 FROM project_start s WHERE s.project_id = p.id AND s.revoke_falsified);

    -- The open projects of 2024 (leads and negotiations): expected to sign
    -- between today and the year's end.
    UPDATE project SET expected_sign_on = today + ceil((dec31 - today) * (id % 7 + 1) / 8.0)::integer
     WHERE code LIKE 'JS-2024-%' AND stage IN ('negotiating', 'lead') AND planned_investment_yuan IS NOT NULL;
END
$demo$;
