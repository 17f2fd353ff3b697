-- The SQL surface of welfare_intelligence (loaded by pg_regress --load-extension).
\set VERBOSITY terse
SET client_min_messages = warning;

-- objects: data tables, settings, run log, schemas, roles
SELECT c.relname, obj_description(c.oid, 'pg_class') AS comment
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'welfare' AND c.relkind = 'r'
   AND c.relname IN ('source', 'zone', 'population', 'household_type', 'household', 'target',
                     'target_prevalence', 'target_household', 'demand', 'service_type',
                     'service_target', 'facility', 'candidate_site', 'travel_cost', 'setting',
                     'run', 'migration')
 ORDER BY 1;
SELECT nspname FROM pg_namespace WHERE nspname LIKE 'welfare%' ORDER BY 1;
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'welfare\_%' ORDER BY 1;
SELECT p.oid::regprocedure AS function, p.prosecdef AS definer, p.proconfig
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'welfare' AND p.proname IN ('_bootstrap', 'import_dataset', 'import_datasets',
       'validate_data', '_import_datasets', '_validate_data', 'working_srid', 'setting_value', '_setting_guard', '_check_srid')
 ORDER BY p.oid::regprocedure::text;
SELECT col_description('welfare.facility'::regclass, 6) AS capacity_comment;
SELECT f_table_name, f_geometry_column, type, srid FROM geometry_columns
 WHERE f_table_schema = 'welfare' ORDER BY 1;
SELECT name, value FROM welfare.setting
 WHERE name IN ('srid', 'suppress_below', 'round_to', 'min_threshold_floor') ORDER BY 1;
SELECT welfare._bootstrap() = extversion AS core_matches_extension
  FROM pg_extension WHERE extname = 'welfare_intelligence';

-- settings: bad values are refused with the value in the message
UPDATE welfare.setting SET value = '4326' WHERE name = 'srid';
UPDATE welfare.setting SET value = 'utm' WHERE name = 'srid';
UPDATE welfare.setting SET value = '-3' WHERE name = 'round_to';
DELETE FROM welfare.setting WHERE name = 'srid';

-- a tiny valid city through import_dataset (staging tables, geometry in any SRID)
CREATE TEMP TABLE s_source AS SELECT 'test'::text AS source_id, 'tiny'::text AS name,
    'tests'::text AS owner_org, 'open data'::text AS legal_basis, 'testing'::text AS purpose,
    'CC0'::text AS licence, false AS personal_data, '2026-01-01'::date AS retrieved,
    'none'::text AS retention, NULL::text AS url, NULL::text AS notes;
SELECT * FROM welfare.import_dataset('source', 's_source');
CREATE TEMP TABLE s_zone (zone_id text, municipality_code text, level text, name text,
                          parent_id text, geom geometry);
INSERT INTO s_zone VALUES
  ('015146', '015146', 'city', 'Tiny', NULL, ST_MakeEnvelope(510000, 5030000, 514000, 5034000, 32632)),
  ('015146-D1', '015146', 'district', 'West', '015146', ST_MakeEnvelope(510000, 5030000, 512000, 5034000, 32632)),
  -- given in WGS 84: reprojected to the working SRID
  ('015146-D2', '015146', 'district', 'East', '015146',
   ST_Transform(ST_MakeEnvelope(512000, 5030000, 514000, 5034000, 32632), 4326));
SELECT * FROM welfare.import_dataset('zone', 's_zone', source_id => 'test');
SELECT zone_id, source_id, ST_SRID(geom), round(ST_Area(geom)) AS area_m2
  FROM welfare.zone ORDER BY 1;

-- rejections: nothing is written, every problem is listed
CREATE TEMP TABLE s_zone_bad (LIKE s_zone);
INSERT INTO s_zone_bad VALUES
  ('015146-N1', '015146', 'neighbourhood', 'Spills', '015146-D1',
   ST_MakeEnvelope(511000, 5030000, 513000, 5031000, 32632)),
  ('015146-N2', '015146', 'borough', 'Odd', '015146-D9',
   ST_MakeEnvelope(510000, 5030000, 510100, 5030100, 32632)),
  ('015146-N2', '015146', 'neighbourhood', 'Twin', '015146-D1',
   ST_MakeEnvelope(510000, 5030000, 510100, 5030100, 32632));
SELECT * FROM welfare.import_dataset('zone', 's_zone_bad', 'test');
SELECT count(*) AS zones_after_rejection FROM welfare.zone;
UPDATE s_zone_bad SET geom = ST_SetSRID(geom, 0);
SELECT * FROM welfare.import_dataset('zone', 's_zone_bad', 'test');
SELECT * FROM welfare.import_dataset('zones', 's_zone_bad');

-- the SRID trigger and the constraints
INSERT INTO welfare.zone VALUES ('015146-X', '015146', 'district', 'x', '015146', 'test',
  ST_Multi(ST_MakeEnvelope(9.1, 45.4, 9.2, 45.5, 4326)));
INSERT INTO welfare.zone VALUES ('015146-X', '015146', 'borough', 'x', '015146', 'test',
  ST_Multi(ST_MakeEnvelope(510000, 5030000, 510100, 5030100, 32632)));
UPDATE welfare.setting SET value = '3003' WHERE name = 'srid';

-- validate_data over what is loaded: a zone added directly, outside its parent
SELECT * FROM welfare.validate_data();
INSERT INTO welfare.zone VALUES ('015146-N3', '015146', 'neighbourhood', 'Spills', '015146-D1',
  'test', ST_Multi(ST_MakeEnvelope(511000, 5030000, 513000, 5031000, 32632)));
SELECT * FROM welfare.validate_data();
