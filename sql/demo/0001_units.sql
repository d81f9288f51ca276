-- Demo data: the unit tree of 稷山县 (Jishan county, Yuncheng, Shanxi): its
-- five towns and two townships, the development zone and the investment
-- bureau. Idempotent: loading it twice changes nothing.

INSERT INTO unit (parent_id, code, name, kind)
VALUES (NULL, 'sx', '山西省', 'province')
ON CONFLICT (code) DO NOTHING;

INSERT INTO unit (parent_id, code, name, kind)
SELECT id, 'sx.yc', '运城市', 'city' FROM unit WHERE code = 'sx'
ON CONFLICT (code) DO NOTHING;

INSERT INTO unit (parent_id, code, name, kind)
SELECT id, 'sx.yc.js', '稷山县', 'county' FROM unit WHERE code = 'sx.yc'
ON CONFLICT (code) DO NOTHING;

INSERT INTO unit (parent_id, code, name, kind)
SELECT c.id, v.code, v.name, v.kind
  FROM unit c,
       (VALUES ('sx.yc.js.jifeng',   '稷峰镇', 'town', 1),
               ('sx.yc.js.xishe',    '西社镇', 'town', 2),
               ('sx.yc.js.huayu',    '化峪镇', 'town', 3),
               ('sx.yc.js.zhaidian', '翟店镇', 'town', 4),
               ('sx.yc.js.qinghe',   '清河镇', 'town', 5),
               ('sx.yc.js.caicun',   '蔡村乡', 'township', 6),
               ('sx.yc.js.taiyang',  '太阳乡', 'township', 7),
               ('sx.yc.js.devzone',  '稷山经济技术开发区', 'zone', 8),
               ('sx.yc.js.invest',   '稷山县投资促进中心', 'department', 9))
           AS v (code, name, kind, ord)
 WHERE c.code = 'sx.yc.js'
 ORDER BY v.ord
ON CONFLICT (code) DO NOTHING;
