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

-- Run-once files (sql/incremental) are recorded here, so an upgrade script,
-- which is the whole script again, applies only the new ones.
CREATE TABLE IF NOT EXISTS welfare.migration (
    name text PRIMARY KEY,
    body_md5 text NOT NULL,
    applied_in_version text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE welfare.migration IS 'run-once install steps already applied (build bookkeeping)';
