-- Differencing audit of zone-indicator publications (issue 9): one row per audited
-- run. welfare_bi.zone_indicators and zone_service_indicators publish, per level and
-- period, the latest run whose audit passed (sql/idempotent/205-publication-audit.sql).

CREATE TABLE welfare.publication_audit (
    run_id bigint PRIMARY KEY REFERENCES welfare.run (run_id) ON DELETE CASCADE,
    passed boolean NOT NULL,
    checked_cells integer NOT NULL CONSTRAINT publication_audit_checked_check
        CHECK (checked_cells >= 0),
    failed_cells integer NOT NULL CONSTRAINT publication_audit_failed_check
        CHECK (failed_cells BETWEEN 0 AND checked_cells),
    narrowest_width double precision,
    narrowest_cell text,
    threshold double precision NOT NULL,
    audited_with bigint[] NOT NULL DEFAULT '{}',
    rules jsonb NOT NULL,
    message text NOT NULL,
    seconds double precision,
    audited_by text NOT NULL DEFAULT current_user,
    audited_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
COMMENT ON TABLE welfare.publication_audit IS
    'differencing audit of each zone_indicators run, together with the runs of the other '
    'levels published for its period (welfare_core.privacy_audit); only runs that passed '
    'reach welfare_bi; one audit per run, never changed';
COMMENT ON COLUMN welfare.publication_audit.run_id IS 'audited zone_indicators run (welfare.run)';
COMMENT ON COLUMN welfare.publication_audit.passed IS
    'true when every suppressed count stays uncertain over at least threshold units';
COMMENT ON COLUMN welfare.publication_audit.checked_cells IS
    'suppressed (target, zone) counts whose interval was computed, over all levels published together';
COMMENT ON COLUMN welfare.publication_audit.failed_cells IS 'of those, how many are narrower than threshold';
COMMENT ON COLUMN welfare.publication_audit.narrowest_width IS
    'width of the narrowest interval an attacker can infer for a suppressed count; NULL when none is suppressed';
COMMENT ON COLUMN welfare.publication_audit.narrowest_cell IS 'target and zone of that count';
COMMENT ON COLUMN welfare.publication_audit.threshold IS 'setting audit_min_width at the audit';
COMMENT ON COLUMN welfare.publication_audit.audited_with IS
    'runs of the other levels of the same period, already published, audited together with this one';
COMMENT ON COLUMN welfare.publication_audit.rules IS
    'disclosure-control settings the run was published and audited with (later audits bound its values by them)';
COMMENT ON COLUMN welfare.publication_audit.message IS 'outcome in words: why it passed or failed';
COMMENT ON COLUMN welfare.publication_audit.seconds IS 'duration of the audit';
COMMENT ON COLUMN welfare.publication_audit.audited_by IS 'role that ran the audit';
COMMENT ON COLUMN welfare.publication_audit.audited_at IS 'when';
SELECT pg_catalog.pg_extension_config_dump('welfare.publication_audit', '');
