-- pg_restore loads welfare.setting_override before the geometry tables (issue 9).
--
-- A restore runs CREATE EXTENSION, which puts the geometry tables' SRID CHECK
-- constraints at the default srid, then loads the dumped rows of the config tables.
-- A database whose srid was changed (say to 3003) comes back only if the srid
-- override row is loaded first: its trigger (welfare._setting_check) moves the
-- constraints to 3003 while the tables are still empty, then the 3003 rows load.
-- pg_dump orders the TABLE DATA of extension config tables by dependency, where
-- the only dependencies it knows are foreign keys between config tables
-- (pg_dump.c, processExtensionTables), and otherwise by name: setting_override
-- came after candidate_site and facility, so their rows were refused.
--
-- Why not make the SRID check order-independent instead: during a restore the first
-- 3003 row arrives while the default SRID is still in force, exactly like a wrong
-- row inserted by a user into a fresh database, so no check that reads the data
-- and the settings can accept the one and refuse the other; a deferred check would
-- only help --single-transaction, since a plain pg_restore commits each table
-- apart. And the static CHECK constraints stay: they give geometry_columns (hence
-- QGIS) the SRID of each table.
--
-- So this empty config table gives pg_dump the order: its foreign key makes its
-- data depend on setting_override's, and its name (a leading underscore sorts
-- before every lower-case name) puts it first among the schema's table data, so
-- setting_override comes before it, ahead of every geometry table. It holds no rows.
-- (Parallel pg_restore -j runs data steps with no dependency between them at the
-- same time, so it does not keep this order: restore without -j.)
CREATE TABLE welfare._restore_settings_first (
    setting_name text REFERENCES welfare.setting_override (name),
    CONSTRAINT _restore_settings_first_empty CHECK (false)
);
COMMENT ON TABLE welfare._restore_settings_first IS
    'always empty; its foreign key makes pg_restore load welfare.setting_override before '
    'the geometry tables, so a database with a non-default srid restores (internal)';
COMMENT ON COLUMN welfare._restore_settings_first.setting_name IS 'unused';
SELECT pg_catalog.pg_extension_config_dump('welfare._restore_settings_first', '');
