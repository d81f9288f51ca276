-- Demo data: a living 稷山县 for `make run`. The projects of the county's
-- 2024 government work report (shared/data/jishan-2024-projects.tsv, codes
-- JS-2024-001 .. JS-2024-041 in the file's order) and 25 invented but
-- plausible ones (JS-2024-042 .. JS-2024-066) spread over the towns, the
-- development zone and the stages; their investors and contacts, signings
-- and starts as claims reported by one user and verified by another,
-- leaders' meetings and visits, problems under supervision (督办) and the
-- development zone's "三个一批" rounds.
--
-- Everything goes through the schema's own rules (project_rules,
-- claim_rules, project_transition): nothing here is forced past a trigger.
-- Loaded by the owner role in one transaction with no caller set, after
-- 0001_units.sql and before the C code gives the demo.* users real
-- passwords. Idempotent: the users are inserted when missing, and the rest
-- is skipped when project JS-2024-001 already exists.

-- Claims are loaded with the times they were reported, verified and
-- revoked: pg_temp.demo_at of 0000_helpers.sql.

-- ---- users ----

-- The five demo.* logins (the C code later upserts them with a real
-- password), four more county leaders, a second bureau officer and the
-- assessment office's clerk, so that claims are reported by one user and
-- verified by another. Their hashes are well-formed argon2id strings of
-- random bytes: no password matches them.
INSERT INTO app_user (username, display_name, role, unit_id, password_hash)
SELECT v.username, v.display_name, v.role, u.id,
       '$argon2id$v=19$m=65536,t=2,p=1$'
       || translate(encode(decode(md5(random()::text), 'hex'), 'base64'), '=', '')
       || '$'
       || translate(encode(decode(md5(random()::text) || md5(random()::text), 'hex'), 'base64'), '=', '')
  FROM (VALUES ('demo.admin',   '稷山县招商管理员',   'admin',  'sx.yc.js',        1),
               ('demo.leader',  '县级领导（包联）',   'leader', 'sx.yc.js',        2),
               ('demo.bureau',  '县投资促进中心',     'bureau', 'sx.yc.js.invest', 3),
               ('demo.xishe',   '西社镇招商负责人',   'unit',   'sx.yc.js.xishe',  4),
               ('demo.viewer',  '县考核办',           'viewer', 'sx.yc.js',        5),
               ('leader.wang',  '王县长',             'leader', 'sx.yc.js',        6),
               ('leader.zhao',  '赵常务副县长',       'leader', 'sx.yc.js',        7),
               ('leader.li',    '李副县长',           'leader', 'sx.yc.js',        8),
               ('leader.zhang', '张副县长',           'leader', 'sx.yc.js',        9),
               ('bureau.chen',  '陈志远（县投促中心）', 'bureau', 'sx.yc.js.invest', 10),
               ('viewer.kaohe', '刘敏（县考核办）',   'viewer', 'sx.yc.js',        11))
       AS v (username, display_name, role, unit_code, ord)
  JOIN unit u ON u.code = v.unit_code
 ORDER BY v.ord
ON CONFLICT (username) DO NOTHING;

-- ---- everything else, once ----

DO $demo$
DECLARE
    r          record;
    pid        bigint;
    cid        bigint;
    sid        bigint;
    iid        bigint;
    uid        bigint;
    rank_to    int;
    l          text;
    specialists constant text[] := ARRAY['陈志远', '王晓燕', '张鹏', '杨帆', '刘洋', '郭俊峰'];
BEGIN
    IF EXISTS (SELECT 1 FROM project WHERE code = 'JS-2024-001') THEN
        RAISE NOTICE 'demo CRM data already loaded';
        RETURN;
    END IF;

    -- ---- investors ----
    -- region: the six-digit area code inside the USCC (NULL: no code given);
    -- the USCC is 9 (registered by 市场监管) 1 (enterprise), the region, an
    -- organisation code 'MA0' + six characters, and the check character found
    -- by uscc_valid itself.
    INSERT INTO investor (unit_id, name, uscc, origin_region, industry, chain_role, notes, created_by)
    SELECT u.id, v.name,
           CASE WHEN v.region IS NOT NULL THEN
               (SELECT q.p || ch
                  FROM (SELECT '91' || v.region || 'MA0' || upper(substr(md5(v.name), 1, 6)) AS p) q,
                       unnest(string_to_array('0123456789ABCDEFGHJKLMNPQRTUWXY', NULL)) AS ch
                 WHERE uscc_valid(q.p || ch)
                 LIMIT 1)
           END,
           v.origin, v.industry, v.chain_role, v.notes,
           (SELECT id FROM app_user WHERE username = 'demo.bureau')
      FROM (VALUES
        (1,  '山西永东化工股份有限公司', 'sx.yc.js.devzone', '140824', '山西运城稷山', '煤焦油深加工、炭黑', 'chain_leader',
             '县内焦化产业链链主，煤焦油加工规模全国前列；“政府+链主企业+产业园”模式的牵头企业。'),
        (2,  '山西东方资源发展集团有限公司', 'sx.yc.js.devzone', '140824', '山西运城稷山', '冶金、资源综合利用', 'chain_leader',
             '冶金资源综合利用链主，余热余压发电和固废利用项目集中。'),
        (3,  '稷山县金星洗煤有限公司', 'sx.yc.js.xishe', '140824', '山西运城稷山', '煤炭洗选、低阶煤分质利用', 'supporting',
             '为县内焦化企业配套供应精煤。'),
        (4,  '山西金泰泰新材料科技有限公司', 'sx.yc.js.devzone', '140824', '山西运城稷山', '二氧化碳超细材料', 'supporting',
             '利用焦化、钢铁尾气二氧化碳生产超细碳酸钙等材料。'),
        (5,  '山西铭福钢铁有限公司', 'sx.yc.js.devzone', '140824', '山西运城稷山', '钢铁冶炼', 'chain_leader',
             '县内钢铁链主，产能减量置换后装备大型化。'),
        (6,  '山西梅山湖新材料科技有限公司', 'sx.yc.js.devzone', '140824', '山西运城稷山', '石墨电极、等静压石墨', 'chain_leader',
             '石墨新材料链主，带动针状焦、负极材料等上下游企业落户。'),
        (7,  '稷山县慧鑫建材有限公司', 'sx.yc.js.huayu', '140824', '山西运城稷山', '工业固废建材', 'supporting',
             '消纳钢渣、粉煤灰等工业固废。'),
        (8,  '山西金蛋白食品科技有限公司', 'sx.yc.js.qinghe', '140824', '山西运城稷山', '胶原蛋白、食品', 'supporting',
             '蛋鸡产业链精深加工配套。'),
        (9,  '昆山市华塑包装制品有限公司', 'sx.yc.js.zhaidian', '320583', '江苏苏州昆山', '塑料包装', 'none',
             '江苏昆山客商，以商招商引进。'),
        (10, '江苏仁康蛋业有限公司', 'sx.yc.js.caicun', '320115', '江苏南京', '蛋液加工', 'supporting',
             '与县内蛋鸡养殖合作社签订原料蛋长期收购协议。'),
        (11, '山西惠惠能新能源科技有限公司', 'sx.yc.js.xishe', '140824', '山西运城稷山', '新型储能', 'none',
             '600MW储能项目的项目公司，与融耀储能合作。'),
        (12, '融耀储能科技（北京）有限公司', 'sx.yc.js.xishe', '110108', '北京海淀', '储能系统集成', 'none',
             '600MW储能项目技术合作方，负责系统集成与运维。'),
        (13, '河北科兴新能源开发有限公司', 'sx.yc.js.taiyang', '130102', '河北石家庄', '风电开发', 'none',
             '230MW风电项目牵头方，与冀和、华能联合开发。'),
        (14, '冀和新能源（石家庄）有限公司', 'sx.yc.js.taiyang', '130104', '河北石家庄', '风电开发', 'none',
             '230MW风电项目合作方。'),
        (15, '华能山西综合能源有限责任公司', 'sx.yc.js.taiyang', NULL, '山西太原', '综合能源', 'none',
             '230MW风电项目合作方（央企子公司）。'),
        (16, '大唐桂冠（稷山）新能源有限公司', 'sx.yc.js.huayu', '140824', '广西南宁', '光伏发电、储能', 'none',
             '光储一体化项目公司，与汇能权亚合作。'),
        (17, '汇能权亚（运城）新能源有限公司', 'sx.yc.js.huayu', '140802', '山西运城', '新能源开发', 'none',
             '光储一体化项目合作方。'),
        (18, '稷山县天信酒店管理有限公司', 'sx.yc.js.jifeng', '140824', '山西运城稷山', '酒店', 'none',
             '建设全县首个四星级酒店。'),
        (19, '稷山县城市建设投资开发有限公司', 'sx.yc.js', '140824', '山西运城稷山', '城市建设、公用事业', 'none',
             '县属国有平台公司，城建、生态、民生项目的实施主体。'),
        (20, '稷山县农业农村发展投资有限公司', 'sx.yc.js', '140824', '山西运城稷山', '乡村建设、现代农业', 'none',
             '县属国有平台公司，乡村建设和特色农业项目的实施主体。'),
        (21, '稷山经济技术开发区建设投资有限公司', 'sx.yc.js.devzone', '140824', '山西运城稷山', '园区建设', 'none',
             '开发区平台公司，标准化厂房、中水回用等园区配套的实施主体。'),
        (22, '稷山县文化旅游投资有限公司', 'sx.yc.js', '140824', '山西运城稷山', '文化旅游', 'none',
             '县属国有平台公司，文旅项目的实施主体。'),
        (23, '国网山西省电力公司稷山县供电公司', 'sx.yc.js', NULL, '山西运城稷山', '电网', 'none',
             '农网台区增容改造的实施主体。'),
        (24, '山西晋氢能源科技有限公司', 'sx.yc.js.devzone', '140105', '山西太原', '氢能', 'supporting',
             '利用永东化工焦炉煤气制氢，建设加氢站。'),
        (25, '稷山县宏晟碳素有限公司', 'sx.yc.js.devzone', '140824', '山西运城稷山', '针状焦', 'supporting',
             '梅山湖上游配套，针状焦长期供货。'),
        (26, '湖南碳谷新能源材料有限公司', 'sx.yc.js.devzone', '430104', '湖南长沙', '锂电负极材料', 'supporting',
             '依托梅山湖石墨化产能建设负极材料基地。'),
        (27, '江苏恒嘉碳纤维科技有限公司', 'sx.yc.js.devzone', '320411', '江苏常州', '碳纤维及复合材料', 'none',
             '在谈：已签意向协议。'),
        (28, '运城市阳光农光新能源有限公司', 'sx.yc.js.xishe', '140802', '山西运城', '光伏发电', 'none',
             '农光互补，板下种植中药材。'),
        (29, '山西华筑装配式建筑科技有限公司', 'sx.yc.js.xishe', '140106', '山西太原', '装配式建筑构件', 'supporting',
             '消纳园区固废生产预制构件。'),
        (30, '陕西秦源环保科技有限公司', 'sx.yc.js.xishe', '610113', '陕西西安', '煤矸石综合利用', 'none',
             '线索：拟建煤矸石烧结砖生产线。'),
        (31, '山西鲜达冷链物流有限公司', 'sx.yc.js.huayu', '140802', '山西运城', '冷链物流', 'none', ''),
        (32, '山西晋能分布式光伏有限公司', 'sx.yc.js.huayu', '140105', '山西太原', '分布式光伏', 'none', ''),
        (33, '稷山县枣乡食品有限公司', 'sx.yc.js.huayu', '140824', '山西运城稷山', '板枣深加工', 'none',
             '项目因企业资金链断裂终止。'),
        (34, '山西众诚汽车零部件有限公司', 'sx.yc.js.zhaidian', '140402', '山西长治', '汽车零部件铸造', 'none', ''),
        (35, '河南豫丰农机装备有限公司', 'sx.yc.js.zhaidian', '410311', '河南洛阳', '农机装备', 'none', ''),
        (36, '稷山县麦香面业有限公司', 'sx.yc.js.zhaidian', '140824', '山西运城稷山', '面粉加工', 'supporting', ''),
        (37, '山西绿源设施农业科技有限公司', 'sx.yc.js.qinghe', '140702', '山西晋中', '设施农业', 'none', ''),
        (38, '福建古田菌业有限公司', 'sx.yc.js.qinghe', '350922', '福建宁德古田', '食用菌', 'none', ''),
        (39, '稷山县禾丰有机肥有限公司', 'sx.yc.js.caicun', '140824', '山西运城稷山', '有机肥', 'supporting',
             '蛋鸡粪污资源化利用。'),
        (40, '运城市蛋e购电子商务有限公司', 'sx.yc.js.caicun', '140802', '山西运城', '农产品电商', 'none', ''),
        (41, '山西乡居文旅发展有限公司', 'sx.yc.js.taiyang', '140105', '山西太原', '乡村民宿', 'none', ''),
        (42, '晋能清洁能源（运城）有限公司', 'sx.yc.js.taiyang', NULL, '山西运城', '光伏发电', 'none', ''),
        (43, '山西顺鑫冷链物流有限公司', 'sx.yc.js.jifeng', '140802', '山西运城', '冷链物流', 'none', ''),
        (44, '运城万润置业有限公司', 'sx.yc.js.jifeng', '140802', '山西运城', '商业地产', 'none', ''),
        (45, '山西新洁能燃气有限公司', 'sx.yc.js.devzone', '141002', '山西临汾', '焦炉煤气制LNG', 'supporting',
             '2024年8月合同经核查撤销认定，项目退回在谈。'),
        (46, '山西精工精密铸造有限公司', 'sx.yc.js.devzone', '140825', '山西运城新绛', '精密铸件', 'supporting', ''))
           AS v (ord, name, unit_code, region, origin, industry, chain_role, notes)
      JOIN unit u ON u.code = v.unit_code
     ORDER BY v.ord;

    INSERT INTO contact (investor_id, name, title, phone, email, notes)
    SELECT i.id, v.name, v.title, v.phone, v.email, v.notes
      FROM (VALUES
        (1,  '山西永东化工股份有限公司', '刘东升', '董事长', '13903590101', '', ''),
        (2,  '山西永东化工股份有限公司', '韩立新', '项目部经理', '13835900112', 'hanlx@example.com', '煤焦油深加工项目对接人'),
        (3,  '山西东方资源发展集团有限公司', '薛建华', '总经理', '13903590233', '', ''),
        (4,  '山西东方资源发展集团有限公司', '卫晓军', '发展规划部部长', '13835900245', '', ''),
        (5,  '稷山县金星洗煤有限公司', '王金星', '董事长', '13903590317', '', ''),
        (6,  '山西金泰泰新材料科技有限公司', '贾泰来', '总经理', '13835900368', '', ''),
        (7,  '山西铭福钢铁有限公司', '孙铭福', '董事长', '13903590402', '', ''),
        (8,  '山西铭福钢铁有限公司', '杜海涛', '副总经理', '13835900419', '', '220kV输变电工程对接人'),
        (9,  '山西梅山湖新材料科技有限公司', '梅卫国', '董事长', '13903590520', '', ''),
        (10, '山西梅山湖新材料科技有限公司', '张春燕', '项目总监', '13835900537', 'zhangcy@example.com', ''),
        (11, '稷山县慧鑫建材有限公司', '李慧鑫', '总经理', '13903590641', '', ''),
        (12, '山西金蛋白食品科技有限公司', '高建平', '总经理', '13835900655', '', ''),
        (13, '昆山市华塑包装制品有限公司', '周国华', '总经理', '13962600712', '', '昆山客商'),
        (14, '江苏仁康蛋业有限公司', '陆仁康', '董事长', '13905100829', '', ''),
        (15, '江苏仁康蛋业有限公司', '吴晓东', '北方区总监', '13951600836', '', ''),
        (16, '山西惠惠能新能源科技有限公司', '赵惠民', '总经理', '13835900903', '', ''),
        (17, '融耀储能科技（北京）有限公司', '马融耀', '副总裁', '13601101017', 'marongyao@example.com', ''),
        (18, '河北科兴新能源开发有限公司', '冯科兴', '总经理', '13703211130', '', ''),
        (19, '冀和新能源（石家庄）有限公司', '郑冀和', '项目经理', '13703211148', '', ''),
        (20, '华能山西综合能源有限责任公司', '程立华', '前期部主任', '13503401255', '', ''),
        (21, '大唐桂冠（稷山）新能源有限公司', '黄桂林', '场站站长', '13907711316', '', ''),
        (22, '汇能权亚（运城）新能源有限公司', '权亚军', '总经理', '13835901324', '', ''),
        (23, '稷山县天信酒店管理有限公司', '田信义', '董事长', '13903591407', '', ''),
        (24, '稷山县城市建设投资开发有限公司', '史国强', '总经理', '0359-5521001', '', ''),
        (25, '稷山县农业农村发展投资有限公司', '宁丰收', '总经理', '0359-5521102', '', ''),
        (26, '稷山经济技术开发区建设投资有限公司', '杨卫东', '董事长', '0359-5582201', '', '开发区管委会副主任兼任'),
        (27, '稷山县文化旅游投资有限公司', '文晓婷', '总经理', '0359-5523003', '', ''),
        (28, '国网山西省电力公司稷山县供电公司', '任电忠', '发展建设部主任', '0359-5524004', '', ''),
        (29, '山西晋氢能源科技有限公司', '郝建平', '董事长', '13834101501', 'haojp@example.com', ''),
        (30, '山西晋氢能源科技有限公司', '秦晓光', '技术总监', '13834101518', '', ''),
        (31, '稷山县宏晟碳素有限公司', '洪建军', '总经理', '13903591626', '', ''),
        (32, '湖南碳谷新能源材料有限公司', '谭国峰', '董事长', '13907311734', '', ''),
        (33, '湖南碳谷新能源材料有限公司', '欧阳娟', '投资发展部经理', '13907311745', 'ouyj@example.com', ''),
        (34, '江苏恒嘉碳纤维科技有限公司', '沈嘉恒', '总经理', '13915001859', '', ''),
        (35, '运城市阳光农光新能源有限公司', '孟向阳', '总经理', '13835901961', '', ''),
        (36, '山西华筑装配式建筑科技有限公司', '华志强', '总经理', '13834102077', '', ''),
        (37, '陕西秦源环保科技有限公司', '秦晓峰', '市场部经理', '13709202183', '', ''),
        (38, '山西鲜达冷链物流有限公司', '冼建国', '总经理', '13835902292', '', ''),
        (39, '山西晋能分布式光伏有限公司', '靳立明', '区域经理', '13834102308', '', ''),
        (40, '稷山县枣乡食品有限公司', '赵红英', '总经理', '13903592411', '', ''),
        (41, '山西众诚汽车零部件有限公司', '程志军', '董事长', '13903552526', '', ''),
        (42, '河南豫丰农机装备有限公司', '冯豫生', '总经理', '13903792637', '', ''),
        (43, '稷山县麦香面业有限公司', '麦建新', '总经理', '13903592743', '', ''),
        (44, '山西绿源设施农业科技有限公司', '袁立新', '总经理', '13835402855', '', ''),
        (45, '福建古田菌业有限公司', '林国田', '董事长', '13905932961', '', ''),
        (46, '稷山县禾丰有机肥有限公司', '何丰年', '总经理', '13903593078', '', ''),
        (47, '运城市蛋e购电子商务有限公司', '单毅', '运营总监', '13835903184', '', ''),
        (48, '山西乡居文旅发展有限公司', '向居安', '总经理', '13834103291', '', ''),
        (49, '晋能清洁能源（运城）有限公司', '金立清', '前期部经理', '13835903306', '', ''),
        (50, '山西顺鑫冷链物流有限公司', '孙建鑫', '总经理', '13835903412', '', ''),
        (51, '运城万润置业有限公司', '万润泽', '董事长', '13835903529', '', ''),
        (52, '山西新洁能燃气有限公司', '辛学能', '总经理', '13935703637', '', ''),
        (53, '山西精工精密铸造有限公司', '荆国栋', '总经理', '13835903748', '', ''))
           AS v (ord, investor, name, title, phone, email, notes)
      JOIN investor i ON i.name = v.investor
     ORDER BY v.ord;

    -- ---- projects and their lifecycle ----
    -- One row per project: unit, investor, 包联 leader, chain, park, amount
    -- (亿元), key flag, planned start, the stage it reaches, and its claims:
    -- the formal contract (date, reporter, verifier: NULL = not yet
    -- verified), the start (idem), production and capacity dates. Every
    -- stage is reached by project_transition, one step at a time.
    FOR r IN
        SELECT v.ord, 'JS-2024-' || lpad(v.ord::text, 3, '0') AS code, v.name, v.unit_code, v.investor,
               v.leader, v.chain, v.park, v.amount_yi, v.is_key, v.planned_start::date AS planned_start,
               v.target, v.signed_on::date AS signed_on, v.sign_rep, v.sign_ver,
               v.started_on::date AS started_on, v.start_rep, v.start_ver,
               v.production_on::date AS production_on, v.capacity_on::date AS capacity_on
          FROM (VALUES
            -- the 2024 report: 启动 (to sign and start in 2024) and 竣工投产 (signed and started in 2023)
            (1,  '50万吨煤焦油、20万吨萘油深加工', 'sx.yc.js.devzone', '山西永东化工股份有限公司', 'leader.zhao', '焦化', '西社园区', 5, true, '2024-06-30', 'started',
                 '2024-05-16', 'demo.bureau', 'viewer.kaohe', '2024-07-08', 'demo.bureau', 'viewer.kaohe', NULL, NULL),
            (2,  '高炉瓦斯灰及资源综合利用', 'sx.yc.js.devzone', '山西东方资源发展集团有限公司', 'leader.zhao', '冶金', '', 1.5, true, '2024-10-01', 'started',
                 '2024-09-12', 'bureau.chen', 'viewer.kaohe', '2024-10-20', 'bureau.chen', 'demo.viewer', NULL, NULL),
            (3,  '320万吨低阶煤分级分质利用', 'sx.yc.js.xishe', '稷山县金星洗煤有限公司', 'leader.zhao', '焦化', '', 20, true, '2024-08-01', 'started',
                 '2024-06-18', 'demo.xishe', 'viewer.kaohe', '2024-08-26', 'demo.xishe', 'bureau.chen', NULL, NULL),
            (4,  '年产6万吨二氧化碳超细材料', 'sx.yc.js.devzone', '山西金泰泰新材料科技有限公司', 'demo.leader', '新材料', '西社园区', 2.4, true, '2024-04-30', 'started',
                 '2024-03-28', 'demo.bureau', 'viewer.kaohe', '2024-04-26', 'demo.bureau', 'viewer.kaohe', NULL, NULL),
            (5,  '135MW超超临界煤气发电', 'sx.yc.js.devzone', '山西东方资源发展集团有限公司', 'leader.zhao', '能源', '', 6.5, true, '2023-05-01', 'at_capacity',
                 '2023-03-15', 'demo.bureau', 'viewer.kaohe', '2023-05-10', 'demo.bureau', 'viewer.kaohe', '2024-06-28', '2024-12-20'),
            (6,  '产能减量置换、220kV输变电、1×80MW富余煤气发电', 'sx.yc.js.devzone', '山西铭福钢铁有限公司', 'leader.zhao', '冶金', '', 32, true, '2023-04-15', 'in_production',
                 '2023-02-20', 'bureau.chen', 'demo.viewer', '2023-04-18', 'bureau.chen', 'viewer.kaohe', '2024-09-30', NULL),
            (7,  '煤焦油精深加工及特种炭综合利用', 'sx.yc.js.devzone', '山西永东化工股份有限公司', 'leader.zhao', '焦化', '', 12, true, '2023-08-01', 'in_production',
                 '2023-06-08', 'demo.bureau', 'viewer.kaohe', '2023-08-01', 'demo.bureau', 'demo.viewer', '2024-06-28', NULL),
            (8,  '年产3万吨等静压石墨', 'sx.yc.js.devzone', '山西梅山湖新材料科技有限公司', 'demo.leader', '石墨新材料', '西社园区', 8, true, '2024-06-30', 'signed',
                 '2024-03-28', 'demo.bureau', 'viewer.kaohe', NULL, NULL, NULL, NULL, NULL),
            (9,  '年处理100万吨工业固废加工', 'sx.yc.js.huayu', '稷山县慧鑫建材有限公司', 'leader.li', '新材料', '', 0.3, true, '2024-04-30', 'in_production',
                 '2024-03-28', 'bureau.chen', 'viewer.kaohe', '2024-04-26', 'bureau.chen', 'viewer.kaohe', '2024-11-28', NULL),
            (10, '年产1500吨胶原蛋白', 'sx.yc.js.qinghe', '山西金蛋白食品科技有限公司', 'leader.li', '食品', '', 1.04, true, '2024-04-30', 'started',
                 '2024-03-28', 'bureau.chen', 'viewer.kaohe', '2024-04-26', 'bureau.chen', 'viewer.kaohe', NULL, NULL),
            (11, '年产5亿个新型塑料包装', 'sx.yc.js.zhaidian', '昆山市华塑包装制品有限公司', 'leader.zhang', '包装', '', 0.5, true, '2024-05-31', 'started',
                 '2024-03-28', 'bureau.chen', 'demo.viewer', '2024-05-20', 'bureau.chen', 'demo.viewer', NULL, NULL),
            (12, '年产1.2万吨蛋液加工', 'sx.yc.js.caicun', '江苏仁康蛋业有限公司', 'leader.li', '蛋鸡', '', 0.5, true, '2024-04-30', 'started',
                 '2024-03-28', 'demo.bureau', 'viewer.kaohe', '2024-04-26', 'demo.bureau', 'viewer.kaohe', NULL, NULL),
            (13, '600MW储能', 'sx.yc.js.xishe', '山西惠惠能新能源科技有限公司', 'leader.zhang', '新能源', '', 24, true, '2024-09-30', 'started',
                 '2024-07-23', 'demo.xishe', 'viewer.kaohe', '2024-09-28', 'demo.xishe', 'viewer.kaohe', NULL, NULL),
            (14, '230MW风电', 'sx.yc.js.taiyang', '河北科兴新能源开发有限公司', 'leader.zhang', '新能源', '', 13.6, true, '2024-10-31', 'signed',
                 '2024-08-15', 'demo.bureau', 'viewer.kaohe', NULL, NULL, NULL, NULL, NULL),
            (15, '年产6万吨超高功率石墨电极', 'sx.yc.js.devzone', '山西梅山湖新材料科技有限公司', 'demo.leader', '石墨新材料', '西社园区', 18, true, '2023-06-30', 'in_production',
                 '2023-04-12', 'demo.bureau', 'viewer.kaohe', '2023-06-20', 'demo.bureau', 'viewer.kaohe', '2024-06-28', NULL),
            (16, '光储一体化', 'sx.yc.js.huayu', '大唐桂冠（稷山）新能源有限公司', 'leader.zhang', '新能源', '', 9.6, true, '2023-07-31', 'in_production',
                 '2023-05-26', 'bureau.chen', 'viewer.kaohe', '2023-07-15', 'bureau.chen', 'demo.viewer', '2024-05-20', NULL),
            (17, '西社园区标准化厂房', 'sx.yc.js.devzone', '稷山经济技术开发区建设投资有限公司', 'demo.leader', '园区建设', '西社园区', 1, true, '2024-04-30', 'started',
                 '2024-03-15', 'demo.bureau', 'demo.viewer', '2024-04-26', 'demo.bureau', 'viewer.kaohe', NULL, NULL),
            (18, '中水回用', 'sx.yc.js.devzone', '稷山经济技术开发区建设投资有限公司', 'demo.leader', '园区建设', '西社园区', 1.9, true, '2024-04-30', 'started',
                 '2024-03-15', 'demo.bureau', 'demo.viewer', '2024-04-26', 'demo.bureau', 'viewer.kaohe', NULL, NULL),
            (19, '消防站', 'sx.yc.js.devzone', '稷山经济技术开发区建设投资有限公司', 'demo.leader', '园区建设', '西社园区', 0.25, true, '2024-06-15', 'started',
                 '2024-05-10', 'bureau.chen', 'viewer.kaohe', '2024-06-12', 'bureau.chen', 'viewer.kaohe', NULL, NULL),
            (20, '人居环境整治', 'sx.yc.js.qinghe', '稷山县农业农村发展投资有限公司', 'leader.li', '乡村建设', '', 0.45, true, '2024-03-31', 'started',
                 '2024-03-05', 'demo.bureau', 'viewer.kaohe', '2024-03-20', 'demo.bureau', 'viewer.kaohe', NULL, NULL),
            (21, '四好农村路', 'sx.yc.js.caicun', '稷山县农业农村发展投资有限公司', 'leader.li', '乡村建设', '', 0.5, true, '2024-04-15', 'started',
                 '2024-04-02', 'demo.bureau', 'viewer.kaohe', '2024-04-15', 'demo.bureau', 'demo.viewer', NULL, NULL),
            (22, '农村供水提质改造', 'sx.yc.js.huayu', '稷山县城市建设投资开发有限公司', 'leader.li', '乡村建设', '', 1.37, true, '2024-05-10', 'started',
                 '2024-04-10', 'bureau.chen', 'viewer.kaohe', '2024-05-06', 'bureau.chen', 'viewer.kaohe', NULL, NULL),
            (23, '下裴线农村公路改造', 'sx.yc.js.zhaidian', '稷山县农业农村发展投资有限公司', 'leader.li', '乡村建设', '下裴', 0.38, true, '2024-05-31', 'started',
                 '2024-05-08', 'demo.bureau', 'viewer.kaohe', '2024-05-28', 'demo.bureau', 'viewer.kaohe', NULL, NULL),
            (24, '管堡、东段等8个台区10kV增容改造', 'sx.yc.js.qinghe', '国网山西省电力公司稷山县供电公司', 'leader.li', '乡村建设', '管堡', 0.48, true, '2024-05-15', 'started',
                 '2024-04-22', 'bureau.chen', 'demo.viewer', '2024-05-15', 'bureau.chen', 'demo.viewer', NULL, NULL),
            (25, '4万亩高标准农田、黄沙万亩粮油生产示范园', 'sx.yc.js.caicun', '稷山县农业农村发展投资有限公司', 'leader.li', '粮油', '黄沙', 1.33, true, '2024-03-15', 'started',
                 '2024-02-26', 'demo.bureau', 'viewer.kaohe', '2024-03-12', 'demo.bureau', 'viewer.kaohe', NULL, NULL),
            (26, '小麦生产示范园、粮油单产提升', 'sx.yc.js.qinghe', '稷山县农业农村发展投资有限公司', 'leader.li', '粮油', '', 1.16, true, '2024-03-10', 'started',
                 '2024-02-28', 'demo.bureau', 'viewer.kaohe', '2024-03-08', 'demo.bureau', 'viewer.kaohe', NULL, NULL),
            (27, '370万只蛋鸡养殖、蛋鸡预制菜加工、智慧农业', 'sx.yc.js.caicun', '稷山县农业农村发展投资有限公司', 'leader.li', '蛋鸡', '', 3.32, true, '2024-06-30', 'started',
                 '2024-05-28', 'bureau.chen', 'viewer.kaohe', '2024-07-02', 'bureau.chen', 'viewer.kaohe', NULL, NULL),
            (28, '板栗标准化生产基地、景村共荣村落群共富、板栗深加工基地', 'sx.yc.js.taiyang', '稷山县农业农村发展投资有限公司', 'leader.li', '板栗', '', 1.43, true, '2024-05-31', 'started',
                 '2024-04-18', 'demo.bureau', 'demo.viewer', '2024-05-22', 'demo.bureau', 'viewer.kaohe', NULL, NULL),
            (29, '太阳乡中药材种植、翟店300亩中药材基地、旭瑞瑞达中药材种植基地', 'sx.yc.js.taiyang', '稷山县农业农村发展投资有限公司', 'leader.li', '中药材', '太阳乡;翟店', 0.46, true, '2024-04-10', 'started',
                 '2024-03-18', 'demo.bureau', 'viewer.kaohe', '2024-04-08', 'demo.bureau', 'viewer.kaohe', NULL, NULL),
            (30, '城北产业园加工物流园区', 'sx.yc.js.jifeng', '稷山县农业农村发展投资有限公司', 'leader.wang', '稷山四宝', '城北产业园', 0.67, true, '2024-07-15', 'started',
                 '2024-06-06', 'bureau.chen', 'viewer.kaohe', '2024-07-18', 'bureau.chen', 'viewer.kaohe', NULL, NULL),
            (31, '乡村建设项目', 'sx.yc.js.huayu', '稷山县农业农村发展投资有限公司', 'leader.li', '乡村建设', '', 0.4, true, '2024-06-01', 'started',
                 '2024-05-15', 'demo.bureau', 'viewer.kaohe', '2024-06-03', 'demo.bureau', 'demo.viewer', NULL, NULL),
            (32, '圣王山温泉康养示范区创建等文旅项目', 'sx.yc.js.huayu', '稷山县文化旅游投资有限公司', 'leader.wang', '文旅', '', 1.2, true, '2024-12-20', 'signed',
                 '2024-11-15', 'bureau.chen', 'viewer.kaohe', NULL, NULL, NULL, NULL, NULL),
            (33, '天信酒店（全县首个四星酒店）', 'sx.yc.js.jifeng', '稷山县天信酒店管理有限公司', 'leader.wang', '文旅', '', 1, true, '2024-04-15', 'started',
                 '2024-02-22', 'demo.bureau', 'viewer.kaohe', '2024-04-10', 'demo.bureau', 'viewer.kaohe', NULL, NULL),
            (34, '稷南大街东延拓建', 'sx.yc.js.jifeng', '稷山县城市建设投资开发有限公司', 'leader.wang', '城建', '', 1.3, true, '2024-11-30', 'signed',
                 '2024-10-15', 'demo.bureau', 'viewer.kaohe', NULL, NULL, NULL, NULL, NULL),
            (35, '汾河老桥改造', 'sx.yc.js.jifeng', '稷山县城市建设投资开发有限公司', 'leader.wang', '城建', '', 0.47, true, '2024-04-30', 'started',
                 '2024-03-25', 'bureau.chen', 'viewer.kaohe', '2024-04-22', 'bureau.chen', 'viewer.kaohe', NULL, NULL),
            (36, '汾河过境段环境提升和城乡更新改造', 'sx.yc.js.jifeng', '稷山县城市建设投资开发有限公司', 'leader.wang', '城建', '', 16.5, true, '2024-12-15', 'signed',
                 '2024-11-20', 'demo.bureau', 'viewer.kaohe', NULL, NULL, NULL, NULL, NULL),
            (37, '公租房建设和羊头村城中村改造', 'sx.yc.js.jifeng', '稷山县城市建设投资开发有限公司', 'leader.wang', '城建', '羊头村', 15.16, true, '2024-12-01', 'signed',
                 '2024-10-30', 'bureau.chen', 'demo.viewer', NULL, NULL, NULL, NULL, NULL),
            (38, '汾河流域污水治理厂尾水人工湿地水质净化', 'sx.yc.js.qinghe', '稷山县城市建设投资开发有限公司', 'leader.wang', '生态', '', 1.2, true, '2024-07-31', 'started',
                 '2024-06-20', 'demo.bureau', 'viewer.kaohe', '2024-08-05', 'demo.bureau', 'viewer.kaohe', NULL, NULL),
            (39, '黄河流域农业面源污染治理', 'sx.yc.js.zhaidian', '稷山县农业农村发展投资有限公司', 'leader.li', '生态', '', 1, true, '2024-11-30', 'started',
                 '2024-09-20', 'bureau.chen', 'viewer.kaohe', '2024-12-05', 'bureau.chen', NULL, NULL, NULL),
            (40, '餐厨垃圾资源化利用及无害化处理', 'sx.yc.js.jifeng', '稷山县城市建设投资开发有限公司', 'leader.wang', '生态', '', 0.3, true, '2024-12-28', 'signed',
                 '2024-12-10', 'demo.bureau', 'viewer.kaohe', NULL, NULL, NULL, NULL, NULL),
            (41, '居家养老服务中心和网络建设', 'sx.yc.js.jifeng', '稷山县城市建设投资开发有限公司', 'leader.wang', '民生', '', 1.2, true, '2024-12-31', 'signed',
                 '2024-12-26', 'demo.bureau', NULL, NULL, NULL, NULL, NULL, NULL),
            -- invented, across the towns and the stages
            (42, '焦炉煤气制氢及加氢站一体化', 'sx.yc.js.devzone', '山西晋氢能源科技有限公司', 'leader.zhao', '氢能', '西社园区', 12, true, '2024-04-30', 'started',
                 '2024-03-28', 'bureau.chen', 'viewer.kaohe', '2024-04-26', 'bureau.chen', 'viewer.kaohe', NULL, NULL),
            (43, '年产10万吨针状焦', 'sx.yc.js.devzone', '稷山县宏晟碳素有限公司', 'demo.leader', '石墨新材料', '西社园区', 10, true, '2024-04-30', 'started',
                 '2024-03-28', 'demo.bureau', 'viewer.kaohe', '2024-04-26', 'demo.bureau', 'demo.viewer', NULL, NULL),
            (44, '年产5万吨锂电池负极材料', 'sx.yc.js.devzone', '湖南碳谷新能源材料有限公司', 'demo.leader', '石墨新材料', '西社园区', 15, true, '2024-12-20', 'signed',
                 '2024-11-22', 'bureau.chen', 'viewer.kaohe', NULL, NULL, NULL, NULL, NULL),
            (45, '年产2000吨碳纤维及复合材料', 'sx.yc.js.devzone', '江苏恒嘉碳纤维科技有限公司', 'leader.zhao', '新材料', '西社园区', 6, true, '2024-12-31', 'negotiating',
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (46, '西社镇100MW农光互补光伏', 'sx.yc.js.xishe', '运城市阳光农光新能源有限公司', 'leader.zhang', '新能源', '', 4.2, true, '2024-06-15', 'started',
                 '2024-04-25', 'demo.xishe', 'viewer.kaohe', '2024-06-18', 'demo.xishe', 'demo.viewer', NULL, NULL),
            (47, '西社镇装配式建筑构件生产基地', 'sx.yc.js.xishe', '山西华筑装配式建筑科技有限公司', 'leader.zhao', '新型建材', '', 1.8, true, '2024-12-31', 'started',
                 '2024-12-31', 'demo.xishe', 'viewer.kaohe', '2025-01-02', 'demo.xishe', 'bureau.chen', NULL, NULL),
            (48, '西社镇煤矸石综合利用烧结砖', 'sx.yc.js.xishe', '陕西秦源环保科技有限公司', 'leader.zhao', '新型建材', '', 0.9, false, NULL, 'lead',
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (49, '化峪镇果蔬冷链仓储中心', 'sx.yc.js.huayu', '山西鲜达冷链物流有限公司', 'leader.wang', '物流', '', 0.8, true, '2024-06-30', 'started',
                 '2024-05-22', 'demo.bureau', 'viewer.kaohe', '2024-06-25', 'demo.bureau', 'viewer.kaohe', NULL, NULL),
            (50, '化峪镇屋顶分布式光伏', 'sx.yc.js.huayu', '山西晋能分布式光伏有限公司', 'leader.zhang', '新能源', '', 0.6, false, '2024-12-31', 'negotiating',
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (51, '稷山板枣深加工', 'sx.yc.js.huayu', '稷山县枣乡食品有限公司', 'leader.li', '稷山四宝', '', 0.5, false, '2024-09-30', 'negotiating',
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (52, '汽车零部件精密铸造', 'sx.yc.js.zhaidian', '山西众诚汽车零部件有限公司', 'leader.zhao', '装备制造', '', 3.5, true, '2024-10-31', 'started',
                 '2024-09-12', 'bureau.chen', 'demo.viewer', '2024-10-28', 'bureau.chen', 'viewer.kaohe', NULL, NULL),
            (53, '翟店镇小型农机装备制造', 'sx.yc.js.zhaidian', '河南豫丰农机装备有限公司', 'leader.zhang', '装备制造', '', 1.2, false, NULL, 'lead',
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (54, '年产10万吨优质面粉加工', 'sx.yc.js.zhaidian', '稷山县麦香面业有限公司', 'leader.li', '粮油', '', 0.9, true, '2024-12-30', 'signed',
                 '2024-12-16', 'demo.bureau', 'viewer.kaohe', NULL, NULL, NULL, NULL, NULL),
            (55, '清河镇设施蔬菜大棚产业园', 'sx.yc.js.qinghe', '山西绿源设施农业科技有限公司', 'leader.li', '设施农业', '', 0.7, true, '2024-04-10', 'started',
                 '2024-03-12', 'demo.bureau', 'viewer.kaohe', '2024-04-02', 'demo.bureau', 'viewer.kaohe', NULL, NULL),
            (56, '清河镇食用菌工厂化生产', 'sx.yc.js.qinghe', '福建古田菌业有限公司', 'leader.li', '设施农业', '', 0.4, false, '2024-12-31', 'negotiating',
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (57, '秸秆和果枝生物质热电联产', 'sx.yc.js.qinghe', NULL, 'leader.zhang', '能源', '', 2.5, false, NULL, 'planned',
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (58, '蛋鸡粪污资源化利用有机肥', 'sx.yc.js.caicun', '稷山县禾丰有机肥有限公司', 'leader.li', '蛋鸡', '', 0.6, true, '2024-07-15', 'started',
                 '2024-06-12', 'bureau.chen', 'viewer.kaohe', '2024-07-15', 'bureau.chen', 'viewer.kaohe', NULL, NULL),
            (59, '鸡蛋电商仓配中心', 'sx.yc.js.caicun', '运城市蛋e购电子商务有限公司', 'leader.li', '蛋鸡', '', 0.3, false, NULL, 'lead',
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (60, '太阳乡山居民宿集群', 'sx.yc.js.taiyang', '山西乡居文旅发展有限公司', 'leader.wang', '文旅', '', 0.5, true, '2024-05-31', 'started',
                 '2024-04-28', 'demo.bureau', 'viewer.kaohe', '2024-05-30', 'demo.bureau', 'demo.viewer', NULL, NULL),
            (61, '太阳乡50MW山地光伏', 'sx.yc.js.taiyang', '晋能清洁能源（运城）有限公司', 'leader.zhang', '新能源', '', 2.2, true, '2024-12-31', 'negotiating',
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (62, '城北冷链物流中心', 'sx.yc.js.jifeng', '山西顺鑫冷链物流有限公司', 'leader.wang', '物流', '城北产业园', 3, true, '2024-09-15', 'started',
                 '2024-08-08', 'bureau.chen', 'viewer.kaohe', '2024-09-16', 'bureau.chen', 'viewer.kaohe', NULL, NULL),
            (63, '城市商业综合体', 'sx.yc.js.jifeng', '运城万润置业有限公司', 'leader.wang', '商贸', '', 8, true, '2024-12-31', 'signed',
                 '2024-12-20', 'bureau.chen', NULL, NULL, NULL, NULL, NULL, NULL),
            (64, '稷山跨境电商产业园', 'sx.yc.js.jifeng', NULL, 'leader.wang', '电商', '城北产业园', 0.8, false, NULL, 'planned',
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (65, '焦炉煤气制LNG', 'sx.yc.js.devzone', '山西新洁能燃气有限公司', 'leader.zhao', '焦化', '西社园区', 6, true, '2024-12-31', 'negotiating',
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (66, '年产3万吨精密铸件', 'sx.yc.js.devzone', '山西精工精密铸造有限公司', 'leader.zhao', '装备制造', '西社园区', 2, true, '2024-11-30', 'started',
                 '2024-09-12', 'demo.bureau', 'viewer.kaohe', '2024-12-18', 'demo.bureau', NULL, NULL, NULL))
               AS v (ord, name, unit_code, investor, leader, chain, park, amount_yi, is_key, planned_start, target,
                     signed_on, sign_rep, sign_ver, started_on, start_rep, start_ver, production_on, capacity_on)
         ORDER BY v.ord
    LOOP
        rank_to := stage_rank(r.target);
        INSERT INTO project (code, name, unit_id, investor_id, leader_id, industry_chain, park,
                             planned_investment_yuan, is_key, five_one, plan, planned_start_on, stage,
                             created_by)
        SELECT r.code, r.name, u.id, (SELECT id FROM investor WHERE name = r.investor),
               ld.id, r.chain, r.park, (r.amount_yi * 100000000)::bigint, r.is_key,
               jsonb_build_object(
                   '包联领导', ld.display_name,
                   '工作专班', r.chain || '产业项目工作专班',
                   '推进方案', CASE WHEN rank_to <= 3 THEN '一项目一方案：明确投资主体，落实用地、能耗和环境容量，力争早签约'
                                    ELSE '一项目一方案：倒排工期、挂图作战，手续并联审批' END,
                   '时间节点', coalesce(to_char(r.planned_start, 'YYYY"年"FMMM"月"FMDD"日"') || '前开工', '待定'),
                   '服务专员', '县投促中心 ' || specialists[1 + r.ord % 6]),
               format('建设内容：%s。计划总投资%s亿元。%s', r.name, r.amount_yi,
                      CASE WHEN r.target = 'planned' THEN '谋划阶段：编制项目建议书，梳理资源条件，寻找投资主体。'
                           WHEN r.target IN ('lead', 'negotiating') THEN '推进重点：对接投资方，细化合作条件，争取年内签约。'
                           WHEN r.target = 'signed' THEN '推进重点：完成立项、用地、环评、能评等前期手续，尽快开工。'
                           ELSE '推进重点：保障施工要素，跟踪建设进度，确保按期投产达效。' END),
               r.planned_start,
               CASE WHEN r.target = 'planned' THEN 'planned' ELSE 'lead' END,
               (SELECT id FROM app_user WHERE username = CASE WHEN r.unit_code = 'sx.yc.js.xishe'
                                                              THEN 'demo.xishe' ELSE 'demo.bureau' END)
          FROM unit u, app_user ld
         WHERE u.code = r.unit_code AND ld.username = r.leader
        RETURNING id INTO pid;

        IF rank_to >= 3 THEN
            PERFORM project_transition(pid, 'negotiating', NULL, NULL);
        END IF;

        IF r.signed_on IS NOT NULL THEN
            INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence, reported_by, reported_at)
            VALUES (pid, 'formal', (r.amount_yi * 100000000)::bigint, r.signed_on,
                    format('正式投资合同（稷投签〔%s〕%s号）原件扫描件、双方营业执照及授权委托书',
                           extract(year FROM r.signed_on), r.ord),
                    (SELECT id FROM app_user WHERE username = r.sign_rep), pg_temp.demo_at(r.signed_on, 2, 10))
            RETURNING id INTO cid;
            IF r.sign_ver IS NOT NULL THEN
                UPDATE contract SET verified_by = (SELECT id FROM app_user WHERE username = r.sign_ver),
                                    verified_at = pg_temp.demo_at(r.signed_on, 9, 15)
                 WHERE id = cid;
            END IF;
        END IF;
        IF rank_to >= 4 THEN
            PERFORM project_transition(pid, 'signed', NULL, NULL);
        END IF;

        IF r.started_on IS NOT NULL THEN
            INSERT INTO project_start (project_id, started_on, evidence, reported_by, reported_at)
            VALUES (pid, r.started_on,
                    '开工报告、施工许可证（或开工备案）、现场照片及监理进场记录',
                    (SELECT id FROM app_user WHERE username = r.start_rep), pg_temp.demo_at(r.started_on, 2, 10))
            RETURNING id INTO sid;
            IF r.start_ver IS NOT NULL THEN
                UPDATE project_start SET verified_by = (SELECT id FROM app_user WHERE username = r.start_ver),
                                         verified_at = pg_temp.demo_at(r.started_on, 8, 16)
                 WHERE id = sid;
            END IF;
        END IF;
        IF rank_to >= 5 THEN
            PERFORM project_transition(pid, 'started', NULL, NULL);
        END IF;
        IF rank_to >= 6 THEN
            PERFORM project_transition(pid, 'in_production', r.production_on, NULL);
        END IF;
        IF rank_to >= 7 THEN
            PERFORM project_transition(pid, 'at_capacity', r.capacity_on, NULL);
        END IF;
    END LOOP;

    -- An intent (framework) agreement: recorded and verified, never counted.
    INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence, reported_by, reported_at)
    SELECT id, 'intent', 600000000, '2024-10-18', '投资意向协议（框架协议）扫描件',
           (SELECT id FROM app_user WHERE username = 'bureau.chen'), pg_temp.demo_at('2024-10-18', 1, 10)
      FROM project WHERE code = 'JS-2024-045'
    RETURNING id INTO cid;
    UPDATE contract SET verified_by = (SELECT id FROM app_user WHERE username = 'viewer.kaohe'),
                        verified_at = pg_temp.demo_at('2024-10-18', 6, 16)
     WHERE id = cid;

    -- A formal contract verified, then found not to be binding and revoked:
    -- the project never became signed and is back to negotiating.
    INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence, reported_by, reported_at)
    SELECT id, 'formal', 600000000, '2024-08-20', '正式投资合同（稷投签〔2024〕65号）扫描件',
           (SELECT id FROM app_user WHERE username = 'demo.bureau'), pg_temp.demo_at('2024-08-20', 1, 10)
      FROM project WHERE code = 'JS-2024-065'
    RETURNING id INTO cid;
    UPDATE contract SET verified_by = (SELECT id FROM app_user WHERE username = 'viewer.kaohe'),
                        verified_at = pg_temp.demo_at('2024-08-20', 8, 15)
     WHERE id = cid;
    UPDATE contract SET revoked_by = (SELECT id FROM app_user WHERE username = 'viewer.kaohe'),
           revoked_at = pg_temp.demo_at('2024-08-20', 53, 11),
           revoke_reason = '复核发现合同未经企业股东会授权、气源供应协议未签订，合同不具备生效条件，撤销认定；待企业补充材料后重新签约。'
     WHERE id = cid;

    -- A capital increase in 2025 on a project signed and started in 2024:
    -- counts its increment in 2025 only.
    INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence, reported_by, reported_at)
    SELECT id, 'capital_increase', 300000000, '2025-05-20',
           '增资协议（二期：配套建设10万吨煤焦油提质装置）及董事会决议',
           (SELECT id FROM app_user WHERE username = 'demo.xishe'), pg_temp.demo_at('2025-05-20', 3, 10)
      FROM project WHERE code = 'JS-2024-003'
    RETURNING id INTO cid;
    UPDATE contract SET verified_by = (SELECT id FROM app_user WHERE username = 'demo.viewer'),
                        verified_at = pg_temp.demo_at('2025-05-20', 12, 15)
     WHERE id = cid;

    -- A project lost: the investor's money ran out.
    PERFORM project_transition(id, 'terminated', NULL,
                               '企业资金链断裂，银行授信未获批准，投资方书面告知放弃投资，项目终止。')
       FROM project WHERE code = 'JS-2024-051';

    -- ---- interactions ----
    -- Leaders meet, accompany, negotiate and coordinate (亲自会见、亲自陪同、
    -- 亲自洽谈、亲自协调): logged by the bureau, a town or a leader's office.
    FOR r IN
        SELECT v.ord, v.code, v.investor, v.kind, v.occurred_on::date AS occurred_on, v.place, v.summary,
               v.participants, v.next_step, v.next_step_due::date AS next_step_due, v.leaders, v.creator
          FROM (VALUES
            (1, 'JS-2024-042', NULL, 'meeting', '2024-01-12', '县政府第一会议室',
                '王县长会见山西晋氢能源科技有限公司董事长一行，介绍开发区焦炉煤气资源和“政府+链主企业+产业园”招商模式。企业有意利用永东化工富余焦炉煤气建设制氢及加氢站一体化项目。',
                ARRAY['晋氢能源 郝建平', '县投促中心 陈志远', '开发区管委会 杨卫东'], '提供焦炉煤气可供气量及价格测算', '2024-01-31',
                ARRAY['leader.wang', 'demo.leader'], 'demo.bureau'),
            (2, 'JS-2024-042', NULL, 'site_visit', '2024-02-06', '永东化工厂区、西社园区',
                '陪同晋氢能源技术团队实地考察永东化工焦炉煤气管网和西社园区拟选地块（约85亩），双方确认供气接口方案。',
                ARRAY['晋氢能源 秦晓光', '永东化工 韩立新', '开发区管委会 杨卫东'], '开发区出具用地预审意见', '2024-02-29',
                ARRAY['demo.leader'], 'bureau.chen'),
            (3, 'JS-2024-043', NULL, 'negotiation', '2024-02-20', '开发区管委会',
                '与宏晟碳素洽谈年产10万吨针状焦项目的投资强度和能耗指标来源；梅山湖作为链主承诺长期采购针状焦，项目纳入3月集中签约清单。',
                ARRAY['宏晟碳素 洪建军', '梅山湖 张春燕', '县投促中心 王晓燕'], '敲定合同文本，参加一季度集中签约', '2024-03-28',
                ARRAY['demo.leader'], 'demo.bureau'),
            (4, NULL, '山西梅山湖新材料科技有限公司', 'meeting', '2024-01-18', '县政府第二会议室',
                '赵常务副县长与梅山湖董事长座谈，听取石墨电极项目投产准备和等静压石墨项目规划。企业建议引进上游针状焦、下游负极材料配套企业，形成石墨新材料产业链。',
                ARRAY['梅山湖 梅卫国', '梅山湖 张春燕', '县投促中心 陈志远'], '投促中心梳理石墨产业链招商图谱', '2024-02-29',
                ARRAY['leader.zhao', 'demo.leader'], 'demo.bureau'),
            (5, 'JS-2024-008', NULL, 'coordination', '2024-05-14', '县发改局',
                '协调等静压石墨项目节能审查：项目年综合能耗较大，需申请省级统筹能耗指标，县发改局牵头准备申报材料，企业同步完善节能报告。',
                ARRAY['梅山湖 张春燕', '县发改局', '县投促中心 陈志远'], '上报市发改委能耗指标申请', '2024-06-15',
                ARRAY['demo.leader'], 'bureau.chen'),
            (6, 'JS-2024-008', NULL, 'coordination', '2024-08-22', '运城市发改委',
                '赴市发改委汇报等静压石墨项目能耗指标，市里答复需等省里统筹下达，建议企业优化工艺降低单位产品能耗。项目已签约未开工，列入督办。',
                ARRAY['梅山湖 梅卫国', '县发改局'], '企业修改节能报告后重新报审', '2024-09-30',
                ARRAY['leader.zhao', 'demo.leader'], 'bureau.chen'),
            (7, 'JS-2024-003', NULL, 'site_visit', '2024-03-19', '金星洗煤厂区',
                '赵常务副县长调研金星洗煤320万吨低阶煤分级分质利用项目前期工作，企业反映取水指标和铁路专用线接轨问题。',
                ARRAY['金星洗煤 王金星', '西社镇 镇长', '县水利局'], '县水利局核定取水指标', '2024-04-30',
                ARRAY['leader.zhao'], 'demo.xishe'),
            (8, 'JS-2024-003', NULL, 'coordination', '2024-08-12', '西社镇政府',
                '协调金星洗煤项目施工用水和临时用电接入，供电公司承诺8月20日前完成临电，项目具备开工条件。',
                ARRAY['金星洗煤 王金星', '县供电公司 任电忠', '西社镇 镇长'], '完成临电接入', '2024-08-20',
                ARRAY['leader.zhao'], 'demo.xishe'),
            (9, 'JS-2024-013', NULL, 'negotiation', '2024-06-25', '北京 融耀储能总部',
                '招商小分队赴北京与融耀储能洽谈600MW独立储能项目合作分工：惠惠能负责项目公司、土地和接入，融耀提供储能系统集成与运维。',
                ARRAY['融耀储能 马融耀', '惠惠能 赵惠民', '县投促中心 陈志远'], '确定项目公司股权结构，7月下旬签约', '2024-07-20',
                ARRAY['leader.zhang'], 'bureau.chen'),
            (10, NULL, '融耀储能科技（北京）有限公司', 'call', '2024-07-02', '',
                '电话沟通储能项目接入系统报告编制进度，对方表示7月中旬提交国网运城供电公司评审。',
                ARRAY['融耀储能 马融耀'], '跟踪接入系统评审', '2024-07-31',
                ARRAY[]::text[], 'bureau.chen'),
            (11, 'JS-2024-014', NULL, 'site_visit', '2024-05-09', '太阳乡山区拟选场址',
                '张副县长陪同科兴、冀和、华能三方踏勘230MW风电场址，初步确定46个机位，需避让生态保护红线和公益林。',
                ARRAY['科兴新能源 冯科兴', '冀和新能源 郑冀和', '华能 程立华', '太阳乡 乡长'], '县林业局核查机位林地性质', '2024-06-10',
                ARRAY['leader.zhang'], 'demo.bureau'),
            (12, 'JS-2024-014', NULL, 'coordination', '2024-10-15', '县自然资源局',
                '协调风电项目林地使用：12个机位涉及公益林，需调整点位或报省林草局审批，项目已签约但开工节点推迟。',
                ARRAY['科兴新能源 冯科兴', '县自然资源局', '县林业局', '太阳乡 乡长'], '企业调整机位方案并重新报审', '2024-11-15',
                ARRAY['leader.zhang', 'leader.wang'], 'demo.bureau'),
            (13, 'JS-2024-036', NULL, 'meeting', '2024-09-05', '县政府常务会议室',
                '县政府常务会研究汾河过境段环境提升和城乡更新改造项目实施方案，明确城投公司为实施主体，采用EPC模式分段建设。',
                ARRAY['县城投 史国强', '县住建局', '县水利局', '稷峰镇'], '完成可研批复和防洪影响评价', '2024-10-31',
                ARRAY['leader.wang', 'leader.zhao'], 'demo.admin'),
            (14, 'JS-2024-037', NULL, 'coordination', '2024-11-12', '稷峰镇羊头村',
                '入户摸底羊头村城中村改造征收意愿，签约率68%，部分群众对安置房面积和过渡费有异议。',
                ARRAY['稷峰镇 镇长', '羊头村 村委会', '县住建局'], '出台安置补偿细化方案', '2024-12-15',
                ARRAY['leader.wang'], 'demo.bureau'),
            (15, 'JS-2024-033', NULL, 'site_visit', '2024-06-18', '天信酒店工地',
                '王县长调研天信酒店建设进度，主体结构已封顶，要求同步做好四星级酒店评定准备和消防验收。',
                ARRAY['天信酒店 田信义', '县文旅局', '稷峰镇'], '完成消防设计审查', '2024-08-31',
                ARRAY['leader.wang'], 'demo.bureau'),
            (16, 'JS-2024-027', NULL, 'meeting', '2024-04-16', '蔡村乡政府',
                '李副县长主持研究370万只蛋鸡养殖、预制菜加工和智慧农业项目，明确与江苏仁康蛋液加工、禾丰有机肥形成闭环配套。',
                ARRAY['县农业农村局', '蔡村乡 乡长', '县农投 宁丰收'], '落实养殖用地设施农用地备案', '2024-05-31',
                ARRAY['leader.li'], 'demo.bureau'),
            (17, NULL, '江苏仁康蛋业有限公司', 'negotiation', '2024-03-06', '江苏南京 仁康总部',
                '招商小分队赴江苏仁康总部洽谈蛋液加工项目，企业确认年产1.2万吨蛋液生产线落户蔡村乡，原料蛋由本地合作社供应。',
                ARRAY['仁康蛋业 陆仁康', '仁康蛋业 吴晓东', '县投促中心 陈志远'], '参加3月28日集中签约', '2024-03-28',
                ARRAY['leader.li'], 'bureau.chen'),
            (18, 'JS-2024-011', NULL, 'call', '2024-02-27', '',
                '与昆山客商电话确认塑料包装项目合同文本，约定在3月28日集中签约活动上现场签约。',
                ARRAY['华塑包装 周国华'], '报送签约企业名单', '2024-03-20',
                ARRAY[]::text[], 'bureau.chen'),
            (19, 'JS-2024-044', NULL, 'negotiation', '2024-10-24', '湖南长沙 碳谷总部',
                '招商小分队赴湖南碳谷洽谈锂电负极材料项目，依托梅山湖石墨化产能，形成“针状焦—石墨电极—负极材料”链条。',
                ARRAY['湖南碳谷 谭国峰', '湖南碳谷 欧阳娟', '县投促中心 陈志远'], '企业来稷考察并确定选址', '2024-11-10',
                ARRAY['demo.leader'], 'bureau.chen'),
            (20, 'JS-2024-044', NULL, 'meeting', '2024-11-08', '县政府第一会议室',
                '王县长会见湖南碳谷董事长，双方就投资15亿元、分两期建设达成一致，确定11月下旬签约。',
                ARRAY['湖南碳谷 谭国峰', '梅山湖 梅卫国', '开发区管委会 杨卫东'], '起草正式投资合同', '2024-11-20',
                ARRAY['leader.wang', 'demo.leader'], 'demo.bureau'),
            (21, 'JS-2024-045', NULL, 'site_visit', '2024-09-26', '西社园区',
                '陪同江苏恒嘉碳纤维考察团考察园区标准化厂房和中水供应，企业关注天然气价格和高端人才政策。',
                ARRAY['恒嘉碳纤维 沈嘉恒', '开发区管委会 杨卫东', '县投促中心 杨帆'], '提供园区天然气价格和人才政策清单', '2024-10-15',
                ARRAY['leader.zhao'], 'bureau.chen'),
            (22, 'JS-2024-045', NULL, 'negotiation', '2024-12-10', '江苏常州 恒嘉总部',
                '赴常州洽谈碳纤维项目，10月已签意向协议，正式合同待企业董事会审议。',
                ARRAY['恒嘉碳纤维 沈嘉恒', '县投促中心 陈志远'], '企业董事会审议投资方案', '2025-01-20',
                ARRAY['leader.zhao'], 'bureau.chen'),
            (23, 'JS-2024-065', NULL, 'negotiation', '2024-07-30', '开发区管委会',
                '与新洁能燃气洽谈焦炉煤气制LNG项目，约定8月下旬签订正式合同。',
                ARRAY['新洁能 辛学能', '永东化工 韩立新', '开发区管委会 杨卫东'], '签订正式合同', '2024-08-20',
                ARRAY['leader.zhao'], 'demo.bureau'),
            (24, 'JS-2024-065', NULL, 'coordination', '2024-10-09', '县投资促进中心',
                '考核办复核发现焦炉煤气制LNG项目合同未经企业股东会授权、气源协议未签订，撤销签约认定，项目退回在谈。',
                ARRAY['新洁能 辛学能', '县考核办 刘敏', '县投促中心 陈志远'], '企业补充股东会决议和气源协议后重新签约', '2024-12-31',
                ARRAY['leader.zhao'], 'bureau.chen'),
            (25, 'JS-2024-048', NULL, 'call', '2024-11-20', '',
                '与陕西秦源环保电话联系煤矸石综合利用项目，企业拟12月来稷考察西社镇煤矸石堆场。',
                ARRAY['秦源环保 秦晓峰'], '安排考察行程', '2024-12-15',
                ARRAY[]::text[], 'demo.xishe'),
            (26, 'JS-2024-050', NULL, 'negotiation', '2024-09-03', '化峪镇政府',
                '与晋能分布式光伏洽谈整镇屋顶分布式光伏项目，企业要求统一屋顶租赁标准并由镇里组织农户签约。',
                ARRAY['晋能分布式 靳立明', '化峪镇 镇长'], '镇里拟定屋顶租赁指导价', '2024-10-31',
                ARRAY['leader.zhang'], 'demo.bureau'),
            (27, 'JS-2024-051', NULL, 'coordination', '2024-08-28', '化峪镇政府',
                '枣乡食品表示因资金链紧张暂缓板枣深加工项目，镇里协调银行贷款未果。',
                ARRAY['枣乡食品 赵红英', '化峪镇 镇长', '县农商行'], '跟踪企业融资进展', '2024-09-30',
                ARRAY['leader.li'], 'demo.bureau'),
            (28, 'JS-2024-053', NULL, 'site_visit', '2024-06-05', '翟店镇工业集中区',
                '陪同河南豫丰农机考察翟店镇闲置厂房，企业拟租赁厂房生产小型农机具，对租金报价有分歧。',
                ARRAY['豫丰农机 冯豫生', '翟店镇 镇长'], '镇里与厂房业主协商租金', '2024-07-15',
                ARRAY['leader.zhang'], 'demo.bureau'),
            (29, 'JS-2024-056', NULL, 'site_visit', '2024-10-17', '清河镇',
                '陪同福建古田菌业考察清河镇食用菌基地选址，企业关注土地流转价格和冷库配套。',
                ARRAY['古田菌业 林国田', '清河镇 镇长', '县投促中心 刘洋'], '提供三个备选地块资料', '2024-11-15',
                ARRAY['leader.li'], 'demo.bureau'),
            (30, 'JS-2024-061', NULL, 'negotiation', '2024-11-26', '运城市',
                '与晋能清洁能源洽谈太阳乡50MW山地光伏，项目需纳入省年度风光建设规模后方可签约。',
                ARRAY['晋能清洁能源 金立清', '县能源局'], '协助企业申报省年度建设规模', '2025-01-31',
                ARRAY['leader.zhang'], 'demo.bureau'),
            (31, 'JS-2024-063', NULL, 'meeting', '2024-12-05', '县政府第一会议室',
                '王县长会见运城万润置业，研究城市商业综合体项目规划设计条件和土地出让时序。',
                ARRAY['万润置业 万润泽', '县自然资源局', '稷峰镇'], '出具规划设计条件', '2024-12-18',
                ARRAY['leader.wang'], 'bureau.chen'),
            (32, 'JS-2024-006', NULL, 'site_visit', '2024-09-30', '铭福钢铁厂区',
                '县领导出席铭福钢铁产能减量置换项目投产仪式，220kV输变电和1×80MW富余煤气发电同步投运。',
                ARRAY['铭福钢铁 孙铭福', '铭福钢铁 杜海涛', '开发区管委会'], '跟踪达产情况', '2024-12-31',
                ARRAY['leader.wang', 'leader.zhao'], 'demo.bureau'),
            (33, 'JS-2024-005', NULL, 'site_visit', '2024-12-20', '东方资源厂区',
                '调研135MW超超临界煤气发电项目达产情况，机组已连续满负荷运行30天，年发电量预计9亿千瓦时。',
                ARRAY['东方资源 薛建华', '东方资源 卫晓军'], '申报省级节能示范项目', '2025-02-28',
                ARRAY['leader.zhao'], 'demo.bureau'),
            (34, 'JS-2024-016', NULL, 'coordination', '2024-04-23', '化峪镇',
                '协调大唐桂冠光储一体化项目送出线路青苗补偿，化峪镇完成补偿协议签订，5月具备并网条件。',
                ARRAY['大唐桂冠 黄桂林', '汇能权亚 权亚军', '化峪镇 镇长'], '完成并网验收', '2024-05-20',
                ARRAY['leader.zhang'], 'demo.bureau'),
            (35, NULL, '山西永东化工股份有限公司', 'meeting', '2024-02-02', '永东化工',
                '王县长春节前走访永东化工，企业介绍煤焦油深加工和特种炭项目进展，提出申请省级技改资金和危化品项目安全审查提速。',
                ARRAY['永东化工 刘东升', '永东化工 韩立新', '县工信局'], '县工信局指导申报技改资金', '2024-03-31',
                ARRAY['leader.wang', 'leader.zhao'], 'demo.bureau'),
            (36, 'JS-2024-066', NULL, 'coordination', '2024-12-23', '开发区管委会',
                '精工铸造报送开工认定材料，缺少施工许可证，考核办暂不认定开工，要求补充后复核。',
                ARRAY['精工铸造 荆国栋', '县考核办 刘敏', '县住建局'], '企业补充施工许可证', '2025-01-10',
                ARRAY[]::text[], 'bureau.chen'),
            (37, 'JS-2024-047', NULL, 'meeting', '2024-12-31', '西社镇政府',
                '华筑装配式建筑构件项目正式签约，企业承诺元旦后即进场施工。',
                ARRAY['华筑建筑科技 华志强', '西社镇 镇长'], '进场施工', '2025-01-02',
                ARRAY['leader.zhao'], 'demo.xishe'),
            (38, 'JS-2024-032', NULL, 'negotiation', '2024-10-30', '县文旅局',
                '与县文旅投就圣王山温泉康养示范区开发模式进行洽谈，拟引入专业运营商，温泉取水许可正在办理。',
                ARRAY['县文旅投 文晓婷', '县文旅局', '化峪镇'], '签订投资合同', '2024-11-15',
                ARRAY['leader.wang'], 'demo.bureau'),
            (39, 'JS-2024-040', NULL, 'coordination', '2024-12-18', '稷峰镇',
                '餐厨垃圾资源化项目选址周边群众有顾虑，组织群众代表参观外地同类项目，做好解释工作。',
                ARRAY['县城投 史国强', '县城管局', '稷峰镇'], '召开选址听证会', '2025-01-15',
                ARRAY['leader.wang'], 'demo.bureau'),
            (40, 'JS-2024-057', NULL, 'meeting', '2024-11-14', '清河镇政府',
                '研究秸秆和果树枝条生物质热电联产项目谋划，测算全县秸秆可收集量约12万吨。',
                ARRAY['县能源局', '清河镇 镇长', '县投促中心 张鹏'], '编制项目建议书，开展定向招商', '2025-03-31',
                ARRAY['leader.zhang'], 'demo.bureau'))
               AS v (ord, code, investor, kind, occurred_on, place, summary, participants, next_step,
                     next_step_due, leaders, creator)
         ORDER BY v.ord
    LOOP
        INSERT INTO interaction (unit_id, project_id, investor_id, kind, occurred_on, place, summary,
                                 participants, next_step, next_step_due, created_by)
        SELECT coalesce(p.unit_id, i.unit_id), p.id, coalesce(p.investor_id, i.id), r.kind, r.occurred_on,
               r.place, r.summary, r.participants, r.next_step, r.next_step_due,
               (SELECT id FROM app_user WHERE username = r.creator)
          FROM (SELECT 1) one
          LEFT JOIN project p ON p.code = r.code
          LEFT JOIN investor i ON i.name = r.investor
        RETURNING id INTO iid;
        FOREACH l IN ARRAY r.leaders LOOP
            INSERT INTO interaction_leader (interaction_id, leader_id)
            SELECT iid, id FROM app_user WHERE username = l;
        END LOOP;
    END LOOP;

    -- The negotiation before each 2024 signing that has no logged one above.
    FOR r IN
        SELECT p.id, p.code, p.name, p.unit_id, p.investor_id, p.leader_id, p.planned_investment_yuan,
               c.signed_on, i.name AS investor,
               replace(ld.display_name, '县级领导（包联）', '包联县领导') AS leader, un.name AS unit_name,
               (SELECT ct.name FROM contact ct WHERE ct.investor_id = p.investor_id ORDER BY ct.id LIMIT 1) AS contact,
               row_number() OVER (ORDER BY p.code) AS n
          FROM project p
          JOIN contract c ON c.project_id = p.id AND c.kind = 'formal' AND c.revoked_at IS NULL
          JOIN investor i ON i.id = p.investor_id
          JOIN app_user ld ON ld.id = p.leader_id
          JOIN unit un ON un.id = p.unit_id
         WHERE c.signed_on >= '2024-01-01'
           AND NOT EXISTS (SELECT 1 FROM interaction x WHERE x.project_id = p.id AND x.kind = 'negotiation')
         ORDER BY p.code
    LOOP
        INSERT INTO interaction (unit_id, project_id, investor_id, kind, occurred_on, place, summary,
                                 participants, next_step, next_step_due, created_by)
        VALUES (r.unit_id, r.id, r.investor_id, 'negotiation', r.signed_on - (10 + (r.n * 7) % 25)::int,
                CASE WHEN r.n % 3 = 0 THEN '县投资促进中心洽谈室'
                     WHEN r.n % 3 = 1 THEN '县政府第二会议室'
                     ELSE r.unit_name || '会议室' END,
                format('%s主持与%s洽谈%s项目，就总投资%s亿元、用地保障、建设时序和要素配套达成一致，约定%s签订正式投资合同。',
                       r.leader, r.investor, r.name, trim_scale(r.planned_investment_yuan / 100000000.0),
                       to_char(r.signed_on, 'FMMM"月"FMDD"日"')),
                ARRAY[r.investor || ' ' || coalesce(r.contact, '项目负责人'),
                      '县投促中心 ' || specialists[1 + r.n::int % 6], r.unit_name || ' 主要负责人'],
                '起草正式合同文本，经法律顾问审核后签约', r.signed_on,
                (SELECT id FROM app_user WHERE username = CASE WHEN r.n % 2 = 0 THEN 'demo.bureau' ELSE 'bureau.chen' END))
        RETURNING id INTO iid;
        INSERT INTO interaction_leader (interaction_id, leader_id) VALUES (iid, r.leader_id);
    END LOOP;

    -- ---- problems under supervision (督办) ----
    INSERT INTO problem (project_id, owner_unit_id, title, description, due_on, level, status, created_by)
    SELECT p.id, u.id, v.title, v.description, v.due_on, v.level, v.status,
           (SELECT id FROM app_user WHERE username = v.creator)
      FROM (VALUES
        (1,  'JS-2024-008', 'sx.yc.js.devzone', '等静压石墨项目能耗指标未落实',
             '项目已于3月签约，因年综合能耗超出县内可调剂指标，节能审查未通过，开工节点6月30日已逾期。需争取省级统筹能耗指标。',
             '2024-07-31'::date, 3, 'open', 'demo.leader'),
        (2,  'JS-2024-014', 'sx.yc.js.taiyang', '风电项目12个机位涉及公益林',
             '需调整机位或报省林草局审批，影响开工。', '2024-11-30', 4, 'in_progress', 'leader.zhang'),
        (3,  'JS-2024-034', 'sx.yc.js.jifeng', '稷南大街东延沿线征迁未完成',
             '沿线23户房屋和2处企业厂房未签征迁协议，施工单位无法进场。', '2024-12-31', 2, 'open', 'leader.wang'),
        (4,  'JS-2024-036', 'sx.yc.js.jifeng', '汾河过境段防洪影响评价待批复',
             '防洪影响评价报告已报市水务局，需跟踪批复进度。', (crm_today() + 30), 2, 'open', 'demo.bureau'),
        (5,  'JS-2024-037', 'sx.yc.js.jifeng', '羊头村城中村改造安置方案群众有异议',
             '签约率68%，安置房面积和过渡费标准需细化。', '2025-03-31', 3, 'open', 'leader.wang'),
        (6,  'JS-2024-013', 'sx.yc.js.xishe', '储能项目220kV接入系统批复',
             '接入系统报告需国网山西公司评审。', '2024-09-15', 3, 'resolved', 'demo.xishe'),
        (7,  'JS-2024-003', 'sx.yc.js.xishe', '金星洗煤项目取水指标',
             '项目年用水量需县水利局核定取水指标。', '2024-08-10', 2, 'resolved', 'demo.xishe'),
        (8,  'JS-2024-001', 'sx.yc.js.devzone', '煤焦油深加工项目安全条件审查',
             '危化品建设项目安全条件审查需市应急局组织专家评审。', '2024-06-20', 2, 'closed', 'demo.bureau'),
        (9,  'JS-2024-042', 'sx.yc.js.invest', '加氢站燃气经营许可办理',
             '加氢站需办理燃气经营许可，县内无先例，需市住建局明确审批路径。', '2024-10-31', 2, 'in_progress', 'bureau.chen'),
        (10, 'JS-2024-044', 'sx.yc.js.devzone', '负极材料项目用地报批',
             '一期用地230亩需完成土地征收和供地。', (crm_today() + 14), 1, 'open', 'demo.leader'),
        (11, 'JS-2024-027', 'sx.yc.js.caicun', '蛋鸡养殖设施农用地备案',
             '养殖区设施农用地备案需县自然资源局审核。', '2024-06-30', 1, 'resolved', 'leader.li'),
        (12, 'JS-2024-040', 'sx.yc.js.jifeng', '餐厨垃圾项目选址邻避问题',
             '选址周边群众担心异味，需做好解释和环评公示。', '2025-02-28', 2, 'open', 'leader.wang'),
        (13, 'JS-2024-066', 'sx.yc.js.devzone', '精密铸件项目开工认定材料不全',
             '缺少施工许可证，开工暂未认定。', (crm_today() + 7), 1, 'open', 'bureau.chen'),
        (14, 'JS-2024-032', 'sx.yc.js.huayu', '圣王山温泉取水许可',
             '温泉开发需办理地热水取水许可和采矿权。', '2025-01-31', 2, 'in_progress', 'leader.wang'),
        (15, 'JS-2024-053', 'sx.yc.js.zhaidian', '农机项目厂房租金分歧',
             '企业与厂房业主租金报价差距较大，镇里协调未果。', '2024-10-15', 1, 'open', 'leader.zhang'),
        (16, 'JS-2024-054', 'sx.yc.js.zhaidian', '面粉加工项目电力增容',
             '新增用电负荷2000kVA，需供电公司实施线路改造。', '2025-01-15', 1, 'open', 'demo.bureau'))
           AS v (ord, code, unit_code, title, description, due_on, level, status, creator)
      JOIN project p ON p.code = v.code
      JOIN unit u ON u.code = v.unit_code
     ORDER BY v.ord;

    -- ---- "三个一批": the development zone's rounds, at the county's level ----
    FOR r IN
        SELECT v.ord, v.kind, v.name, v.held_on::date AS held_on, v.place, v.codes
          FROM (VALUES
            (1, 'signing', '2024年第一季度“三个一批”集中签约活动', '2024-03-28', '稷山经济技术开发区西社园区',
                ARRAY['JS-2024-004', 'JS-2024-008', 'JS-2024-009', 'JS-2024-010', 'JS-2024-011', 'JS-2024-012',
                      'JS-2024-042', 'JS-2024-043']),
            (2, 'start', '2024年“三个一批”重点项目集中开工活动（开发区主会场）', '2024-04-26', '稷山经济技术开发区西社园区',
                ARRAY['JS-2024-004', 'JS-2024-009', 'JS-2024-010', 'JS-2024-012', 'JS-2024-017', 'JS-2024-018',
                      'JS-2024-042', 'JS-2024-043']),
            (3, 'production', '2024年“三个一批”集中投产活动', '2024-06-28', '稷山经济技术开发区',
                ARRAY['JS-2024-005', 'JS-2024-007', 'JS-2024-015']),
            (4, 'signing', '2024年第三季度“三个一批”集中签约活动', '2024-09-12', '稷山经济技术开发区管委会',
                ARRAY['JS-2024-002', 'JS-2024-052', 'JS-2024-066']))
               AS v (ord, kind, name, held_on, place, codes)
         ORDER BY v.ord
    LOOP
        INSERT INTO batch (unit_id, kind, name, held_on, place, created_by)
        SELECT u.id, r.kind, r.name, r.held_on, r.place, (SELECT id FROM app_user WHERE username = 'demo.bureau')
          FROM unit u WHERE u.code = 'sx.yc.js'
        RETURNING id INTO iid;
        INSERT INTO batch_project (batch_id, project_id)
        SELECT iid, p.id FROM project p WHERE p.code = ANY (r.codes);
    END LOOP;

    -- A lead nobody has followed for 100 days (a red alert, soon stalled).
    UPDATE project SET last_progress_at = now() - interval '100 days' WHERE code = 'JS-2024-053';
END
$demo$;
