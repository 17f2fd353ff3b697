-- Roles and privileges; runs last, after every other file.
--
-- The roles themselves are created in sql/head.sql, before any file grants to them.
--
-- The design is a set of rules, so that a function or result table added by a
-- later file is covered without editing this one (tests/sql/privileges_expected.csv
-- states the same rules, and tests/sql/test_privileges.py checks the catalog):
--   PUBLIC        nothing in schemas welfare and welfare_bi.
--   welfare_admin every table (except the run log and the migration record,
--                 read only), every function, the welfare_bi views.
--   welfare_analyst reads every table and view, executes every function except
--                 the admin-only ones (loading data, role membership); writes
--                 only what the files granting its analysis functions grant
--                 (result and scenario tables), never the data tables or the run log.
--   welfare_provider reference catalogues, the published facility list plus its
--                 own facilities (row-level security, 150-governance.sql), its own
--                 provider_member rows, and the welfare_bi views; runs analyses on
--                 the published facilities only through welfare.run_published.
--   welfare_bi_reader schema welfare_bi only.
-- Functions are SECURITY INVOKER except the tiny definers of 150-governance.sql,
-- welfare._apply_srid (001-settings.sql: the admin's srid change alters tables it
-- does not own) and welfare.run_published (152-provider-runs.sql), so EXECUTE never
-- gives more than the table privileges above, but for that one whitelisted entry point.

-- PUBLIC: nothing
REVOKE ALL ON SCHEMA welfare, welfare_bi FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA welfare, welfare_bi FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA welfare, welfare_bi FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA welfare, welfare_bi FROM PUBLIC;

GRANT USAGE ON SCHEMA welfare TO welfare_admin, welfare_analyst, welfare_provider;
GRANT USAGE ON SCHEMA welfare_bi TO welfare_admin, welfare_analyst, welfare_provider,
    welfare_bi_reader;

-- admin: everything in the schema ...
GRANT ALL ON ALL TABLES IN SCHEMA welfare TO welfare_admin;
GRANT ALL ON ALL SEQUENCES IN SCHEMA welfare TO welfare_admin;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA welfare TO welfare_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA welfare_bi TO welfare_admin;
-- ... but the run log is append-only through welfare.log_run_start/finish, and
-- the install record belongs to the extension.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON welfare.run, welfare.migration
    FROM welfare_admin, welfare_analyst, welfare_provider, welfare_bi_reader;
REVOKE UPDATE ON SEQUENCE welfare.run_run_id_seq FROM welfare_admin;
-- the analyst records its differentially private releases (append only: the epsilon
-- budget is spent, never given back, except by an admin), directly or through
-- welfare.dp_zone_demand (207-dp-release.sql), which admin and analyst execute by the
-- rules below and providers and BI readers do not (they cannot read raw demand)
GRANT SELECT, INSERT ON welfare.dp_release TO welfare_analyst;

-- analyst: reads everything, executes everything but the admin-only functions
GRANT SELECT ON ALL TABLES IN SCHEMA welfare, welfare_bi TO welfare_analyst;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA welfare TO welfare_analyst;
REVOKE EXECUTE ON FUNCTION welfare.import_datasets(text[], regclass[], text),
    welfare._import_datasets(text[], regclass[], text), welfare.import_dataset(text, regclass, text),
    welfare.grant_role(text, text), welfare.revoke_role(text, text),
    welfare._set_role_membership(boolean, text, text), welfare._apply_srid(text, integer)
    FROM welfare_analyst;

-- the session's pending runs are written only by the SECURITY DEFINER log functions
REVOKE EXECUTE ON FUNCTION welfare._pending_run(bigint, text, jsonb, text),
    welfare._take_pending_runs() FROM welfare_admin, welfare_analyst;

-- provider: reference catalogues, facilities (rows filtered by RLS), its mapping rows,
-- and the published outputs
GRANT SELECT ON welfare.setting, welfare.source, welfare.zone, welfare.service_type,
    welfare.service_target, welfare.target, welfare.household_type,
    welfare.provider_member, welfare.setting_override TO welfare_provider;
GRANT SELECT, INSERT, UPDATE ON welfare.facility TO welfare_provider;
GRANT EXECUTE ON FUNCTION welfare.setting_value(text), welfare.working_srid(), welfare._caller()
    TO welfare_provider;
GRANT SELECT ON ALL TABLES IN SCHEMA welfare_bi TO welfare_provider;
-- ... and runs the whitelisted analyses on the published facilities (SECURITY DEFINER)
GRANT EXECUTE ON FUNCTION welfare.run_published(text, jsonb) TO welfare_provider;

-- bi_reader: schema welfare_bi only
GRANT SELECT ON ALL TABLES IN SCHEMA welfare_bi TO welfare_bi_reader;

-- welfare_bi views are security barriers: a caller's own (leaky) function in a
-- WHERE clause cannot see rows the view filters out (unpublished rows).
DO $barrier$
DECLARE
    v record;
BEGIN
    FOR v IN SELECT c.relname FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'welfare_bi' AND c.relkind = 'v' LOOP
        EXECUTE format('ALTER VIEW welfare_bi.%I SET (security_barrier = true)', v.relname);
    END LOOP;
END
$barrier$;
