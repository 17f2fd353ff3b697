-- Settings (one value per name, one source of truth) and the run log.

CREATE SCHEMA welfare_bi;
COMMENT ON SCHEMA welfare_bi IS 'views for BI tools: plain columns, privacy rules applied';

CREATE TABLE welfare.setting (
    name text PRIMARY KEY,
    value text NOT NULL,
    description text NOT NULL
);
COMMENT ON TABLE welfare.setting IS 'working SRID, privacy thresholds and defaults';
COMMENT ON COLUMN welfare.setting.name IS 'setting name';
COMMENT ON COLUMN welfare.setting.value IS 'value as text (numbers in plain decimal notation)';
COMMENT ON COLUMN welfare.setting.description IS 'what the setting controls';

INSERT INTO welfare.setting (name, value, description) VALUES
    ('srid', '32632', 'EPSG code of the projected metric CRS of every geometry; '
                      'change it only while the geometry tables are empty'),
    ('suppress_below', '8', 'counts below this are suppressed in BI views and exports'),
    ('round_to', '5', 'published counts are rounded to a multiple of this'),
    ('min_threshold_floor', '3', 'no suppression threshold may be set below this');
-- Settings are not registered with pg_extension_config_dump: their rows are
-- created by CREATE EXTENSION, so a dump would restore them twice.

CREATE TABLE welfare.run (
    run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    parameters jsonb NOT NULL DEFAULT '{}'::jsonb,
    run_by text NOT NULL DEFAULT current_user,
    started_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    finished_at timestamptz,
    status text NOT NULL DEFAULT 'running'
        CONSTRAINT run_status_check CHECK (status IN ('running', 'ok', 'failed', 'cancelled')),
    duration_ms double precision CONSTRAINT run_duration_check CHECK (duration_ms >= 0),
    message text
);
COMMENT ON TABLE welfare.run IS 'every analysis run: who, when, parameters, status, duration';
COMMENT ON COLUMN welfare.run.run_id IS 'run number; result tables are keyed by it';
COMMENT ON COLUMN welfare.run.kind IS 'analysis that ran, e.g. accessibility';
COMMENT ON COLUMN welfare.run.parameters IS 'its parameters as given';
COMMENT ON COLUMN welfare.run.run_by IS 'database role that started it';
COMMENT ON COLUMN welfare.run.started_at IS 'start time';
COMMENT ON COLUMN welfare.run.finished_at IS 'end time; NULL while running';
COMMENT ON COLUMN welfare.run.status IS 'running, ok, failed or cancelled';
COMMENT ON COLUMN welfare.run.duration_ms IS 'wall time in milliseconds';
COMMENT ON COLUMN welfare.run.message IS 'error or summary for a person to read';
SELECT pg_catalog.pg_extension_config_dump('welfare.run', '');
SELECT pg_catalog.pg_extension_config_dump('welfare.run_run_id_seq', '');
COMMENT ON COLUMN welfare.migration.name IS 'file of sql/incremental';
COMMENT ON COLUMN welfare.migration.body_md5 IS 'md5 of its text when applied; released files are frozen';
COMMENT ON COLUMN welfare.migration.applied_in_version IS 'extension version that applied it';
COMMENT ON COLUMN welfare.migration.applied_at IS 'when';
