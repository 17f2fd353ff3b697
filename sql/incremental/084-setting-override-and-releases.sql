-- Settings that survive pg_dump / restore, and the epsilon budget of
-- differentially private releases.
--
-- welfare.setting keeps the extension's defaults (its rows are written by
-- CREATE EXTENSION, so it is not dumped); a change is a row of
-- welfare.setting_override, which is dumped. welfare.setting_value reads the
-- override first (sql/idempotent/001-settings.sql).

CREATE TABLE welfare.setting_override (
    name text PRIMARY KEY REFERENCES welfare.setting (name) ON DELETE CASCADE,
    value text NOT NULL,
    changed_by text NOT NULL DEFAULT current_user,
    changed_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE welfare.setting_override IS
    'settings changed from their defaults (welfare.setting); read first by welfare.setting_value; '
    'dumped by pg_dump, so changes survive a restore';
COMMENT ON COLUMN welfare.setting_override.name IS 'setting name (welfare.setting)';
COMMENT ON COLUMN welfare.setting_override.value IS 'value in force instead of the default';
COMMENT ON COLUMN welfare.setting_override.changed_by IS 'role that last changed it';
COMMENT ON COLUMN welfare.setting_override.changed_at IS 'when it was last changed';
SELECT pg_catalog.pg_extension_config_dump('welfare.setting_override', '');

-- A 0.1.0 database changed settings in place: move those changes to overrides
-- and put the defaults back (the guard trigger, if any, would refuse the SRID).
ALTER TABLE welfare.setting DISABLE TRIGGER USER;
WITH defaults (name, value) AS (VALUES
    ('srid', '32632'), ('suppress_below', '8'), ('round_to', '5'), ('min_threshold_floor', '3'),
    ('sensitive_suppress_below', '8'), ('sensitive_round_to', '5'),
    ('min_rate_denominator', '20'), ('dominance_n', '2'), ('dominance_k', '0.85'),
    ('composite_min_population', '100'), ('audit_min_width', '5')),
moved AS (
    INSERT INTO welfare.setting_override (name, value)
    SELECT s.name, s.value FROM welfare.setting s JOIN defaults d ON d.name = s.name
     WHERE s.value <> d.value
    RETURNING name)
UPDATE welfare.setting s SET value = d.value
  FROM defaults d WHERE d.name = s.name AND s.name IN (SELECT name FROM moved);
ALTER TABLE welfare.setting ENABLE TRIGGER USER;

-- Differential privacy: every release spends part of a total epsilon budget.
CREATE TABLE welfare.dp_release (
    release_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    released_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    released_by text NOT NULL DEFAULT current_user,
    description text NOT NULL CONSTRAINT dp_release_description_check
        CHECK (length(description) BETWEEN 1 AND 1000),
    epsilon double precision NOT NULL CONSTRAINT dp_release_epsilon_check
        CHECK (epsilon > 0 AND epsilon <= 100),
    cells integer NOT NULL CONSTRAINT dp_release_cells_check CHECK (cells >= 0)
);
COMMENT ON TABLE welfare.dp_release IS
    'differentially private releases of counts and the epsilon each spent '
    '(welfare_core.privacy.dp_counts); their sum may not exceed setting dp_epsilon_budget';
COMMENT ON COLUMN welfare.dp_release.release_id IS 'release number';
COMMENT ON COLUMN welfare.dp_release.released_at IS 'when';
COMMENT ON COLUMN welfare.dp_release.released_by IS 'role that released it';
COMMENT ON COLUMN welfare.dp_release.description IS 'what was released, for whom';
COMMENT ON COLUMN welfare.dp_release.epsilon IS 'privacy loss spent by this release';
COMMENT ON COLUMN welfare.dp_release.cells IS 'noisy counts released';
SELECT pg_catalog.pg_extension_config_dump('welfare.dp_release', '');
SELECT pg_catalog.pg_extension_config_dump('welfare.dp_release_release_id_seq', '');

INSERT INTO welfare.setting (name, value, description) VALUES
    ('dp_epsilon_budget', '1.0',
     'total epsilon that all differentially private releases together may spend')
ON CONFLICT (name) DO NOTHING;
