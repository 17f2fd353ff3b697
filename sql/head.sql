-- welfare_intelligence @extversion@: assembled by db_extension/build.py; do not edit.
\echo Use "CREATE EXTENSION welfare_intelligence CASCADE" to load this file. \quit

-- PostgreSQL 15 has no @extschema:postgis@: every function pins
-- search_path = pg_catalog, public, pg_temp, so PostGIS must live in public.
DO $head$
DECLARE
    postgis_schema name;
BEGIN
    SELECT n.nspname INTO postgis_schema
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'postgis';
    IF postgis_schema IS DISTINCT FROM 'public' THEN
        RAISE EXCEPTION 'welfare_intelligence needs PostGIS in schema public, found it in schema %',
            coalesce(postgis_schema::text, '(none)')
          USING ERRCODE = 'feature_not_supported',
                HINT = 'DROP EXTENSION postgis; CREATE EXTENSION postgis SCHEMA public; '
                       'then CREATE EXTENSION welfare_intelligence CASCADE';
    END IF;
END
$head$;

-- The four roles are cluster-wide: created only if missing (a second database, or
-- a reinstall, finds them), before any file grants to them; never dropped with
-- the extension; pg_dump leaves them out. Their privileges: 900-privileges.sql.
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
COMMENT ON ROLE welfare_admin IS 'Welfare Intelligence: loads data, changes settings, grants roles, reads and writes everything but the run log';
COMMENT ON ROLE welfare_analyst IS 'Welfare Intelligence: reads all data, runs analyses, writes results and scenarios';
COMMENT ON ROLE welfare_provider IS 'Welfare Intelligence: third-sector provider, reads published outputs and facilities, inserts and updates its own facilities';
COMMENT ON ROLE welfare_bi_reader IS 'Welfare Intelligence: BI tools, reads schema welfare_bi only';

-- Run-once files (sql/incremental) are recorded here, so an upgrade script,
-- which is the whole script again, applies only the new ones.
CREATE TABLE IF NOT EXISTS welfare.migration (
    name text PRIMARY KEY,
    body_md5 text NOT NULL,
    applied_in_version text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE welfare.migration IS 'run-once install steps already applied (build bookkeeping)';
