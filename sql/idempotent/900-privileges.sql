-- Roles and privileges. Roles are cluster-wide: created only if missing, so
-- CREATE EXTENSION in a second database (or after DROP EXTENSION) works; they
-- are not dropped with the extension and pg_dump does not carry them.
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['welfare_admin', 'welfare_analyst', 'welfare_provider',
                             'welfare_bi_reader'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$roles$;
COMMENT ON ROLE welfare_admin IS 'Welfare Intelligence: loads data, changes settings, reads and writes everything';
COMMENT ON ROLE welfare_analyst IS 'Welfare Intelligence: reads all data, runs analyses';
COMMENT ON ROLE welfare_provider IS 'Welfare Intelligence: service provider, reads published facilities and reference data';
COMMENT ON ROLE welfare_bi_reader IS 'Welfare Intelligence: BI tools, reads schema welfare_bi only';

REVOKE ALL ON SCHEMA welfare, welfare_bi FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA welfare FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA welfare FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA welfare FROM PUBLIC;

GRANT USAGE ON SCHEMA welfare TO welfare_admin, welfare_analyst, welfare_provider;
GRANT USAGE ON SCHEMA welfare_bi TO welfare_admin, welfare_analyst, welfare_bi_reader;

-- admin: everything in the schema
GRANT ALL ON ALL TABLES IN SCHEMA welfare TO welfare_admin;
GRANT ALL ON ALL SEQUENCES IN SCHEMA welfare TO welfare_admin;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA welfare TO welfare_admin;

-- analyst: reads all, validates, logs runs (analysis functions are granted with them)
GRANT SELECT ON ALL TABLES IN SCHEMA welfare TO welfare_analyst;
GRANT INSERT, UPDATE ON welfare.run TO welfare_analyst;
GRANT EXECUTE ON FUNCTION welfare._bootstrap(), welfare.setting_value(text),
    welfare.working_srid(), welfare.validate_data(), welfare._validate_data(),
    welfare._reraise(text, text, text, text) TO welfare_analyst;

-- provider: reference data and published facilities only (row filter comes with
-- the facility views; for now it reads the public catalogues)
GRANT SELECT ON welfare.setting, welfare.source, welfare.zone, welfare.service_type,
    welfare.service_target, welfare.target TO welfare_provider;
GRANT EXECUTE ON FUNCTION welfare.setting_value(text), welfare.working_srid() TO welfare_provider;

-- bi_reader: schema welfare_bi only (its views are added with the BI layer)
GRANT SELECT ON ALL TABLES IN SCHEMA welfare_bi TO welfare_bi_reader;
