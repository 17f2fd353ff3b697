-- The runs the welfare_bi views publish, decided in one place.
--
-- welfare.bi_run: finished runs the current role may see in welfare_bi: every run
-- of audience everyone, and the role's own runs of audience caller (a provider's
-- runs through welfare.run_published, runs that counted unpublished facilities;
-- 090-run-audience.sql). A zone_indicators run also needs a passed differencing
-- audit (205-publication-audit.sql).
-- The views run with their owner's rights but CURRENT_USER is the reader.
CREATE OR REPLACE VIEW welfare.bi_run AS
SELECT r.run_id, r.kind, r.parameters, r.finished_at, r.run_by, r.audience
  FROM welfare.run r
 WHERE r.status = 'ok'
   AND (r.audience = 'everyone' OR r.run_by = CURRENT_USER)
   AND (r.kind <> 'zone_indicators'
        OR EXISTS (SELECT 1 FROM welfare.publication_audit a
                    WHERE a.run_id = r.run_id AND a.passed));
COMMENT ON VIEW welfare.bi_run IS
    'finished runs the current role sees in welfare_bi: audience everyone, or its own '
    'runs of audience caller; zone_indicators runs only once their audit passed';
COMMENT ON COLUMN welfare.bi_run.run_id IS 'run (welfare.run)';
COMMENT ON COLUMN welfare.bi_run.kind IS 'analysis that ran';
COMMENT ON COLUMN welfare.bi_run.parameters IS 'its parameters as logged';
COMMENT ON COLUMN welfare.bi_run.finished_at IS 'when it finished';
COMMENT ON COLUMN welfare.bi_run.run_by IS 'role that ran it';
COMMENT ON COLUMN welfare.bi_run.audience IS 'everyone or caller (welfare.run.audience)';

-- welfare.bi_latest_run: per kind, the latest visible run for each value of the
-- parameters that name what it describes (its key); runs of every service type at
-- once (accessibility with service_type_id NULL) list them in service_type_ids and
-- count as the latest for each. Kinds listed here are the ones welfare_bi shows
-- latest-only; optimisation runs are all shown.
CREATE OR REPLACE VIEW welfare.bi_latest_run AS
SELECT DISTINCT ON (r.kind, k.key, s.service_type_id)
       r.kind, r.run_id, r.finished_at, r.parameters, s.service_type_id
  FROM welfare.bi_run r
  JOIN (VALUES ('zone_indicators', ARRAY['level', 'period']),
               ('accessibility', ARRAY['level', 'period', 'method']),
               ('forecast_demand', ARRAY['target', 'level', 'method']),
               ('composite_index', ARRAY['name', 'level', 'period', 'method']),
               ('compare_zones', ARRAY['level', 'period', 'value_column']),
               ('hot_spots', ARRAY['level', 'period', 'indicator', 'weights']),
               ('equity_measures', ARRAY['level', 'period', 'value_column', 'composite_run_id']),
               ('scenario', ARRAY['scenario_id', 'compared_to', 'level', 'period']))
       AS kk(kind, names) ON kk.kind = r.kind
 CROSS JOIN LATERAL (SELECT pg_catalog.array_agg(r.parameters ->> u.name ORDER BY u.n)
                       FROM pg_catalog.unnest(kk.names) WITH ORDINALITY AS u(name, n)) AS k(key)
 CROSS JOIN LATERAL pg_catalog.jsonb_array_elements_text(
       CASE WHEN pg_catalog.jsonb_typeof(r.parameters -> 'service_type_ids') = 'array'
            THEN r.parameters -> 'service_type_ids'
            ELSE pg_catalog.jsonb_build_array(r.parameters -> 'service_type_id') END)
       AS s(service_type_id)
 ORDER BY r.kind, k.key, s.service_type_id, r.run_id DESC;
COMMENT ON VIEW welfare.bi_latest_run IS
    'the latest run in welfare.bi_run per kind, service type and key parameters '
    '(e.g. level and period): the run each welfare_bi view shows';
COMMENT ON COLUMN welfare.bi_latest_run.kind IS 'analysis that ran';
COMMENT ON COLUMN welfare.bi_latest_run.run_id IS 'run (welfare.run)';
COMMENT ON COLUMN welfare.bi_latest_run.finished_at IS 'when it finished';
COMMENT ON COLUMN welfare.bi_latest_run.parameters IS 'its parameters as logged';
COMMENT ON COLUMN welfare.bi_latest_run.service_type_id IS
    'service type the row stands for (NULL for kinds without one)';
