-- Results of demand-forecast runs (welfare.run_forecast_demand), keyed by run
-- id: one row per zone x target x year, from the base year (observed) to the
-- horizon. Raw values are for analysts; the *_pub columns are what may leave
-- (welfare_core.privacy) and are the only ones welfare_bi shows.

CREATE TABLE welfare.forecast_result (
    run_id bigint NOT NULL REFERENCES welfare.run (run_id) ON DELETE CASCADE,
    zone_id text NOT NULL,
    level text NOT NULL,
    target_id text NOT NULL,
    unit text NOT NULL,
    period integer NOT NULL,
    base_period integer NOT NULL,
    demand double precision NOT NULL,
    lower double precision,
    upper double precision,
    method text NOT NULL,
    note text NOT NULL,
    published boolean NOT NULL,
    demand_pub double precision,
    lower_pub double precision,
    upper_pub double precision,
    PRIMARY KEY (run_id, zone_id, target_id, period)
);
COMMENT ON TABLE welfare.forecast_result IS
    'projected demand per zone, target and year of each forecast_demand run '
    '(raw for analysts, *_pub for publication)';
SELECT pg_catalog.pg_extension_config_dump('welfare.forecast_result', '');

COMMENT ON COLUMN welfare.forecast_result.run_id IS 'run that produced the row (welfare.run)';
COMMENT ON COLUMN welfare.forecast_result.zone_id IS 'zone';
COMMENT ON COLUMN welfare.forecast_result.level IS 'level of the zone';
COMMENT ON COLUMN welfare.forecast_result.target_id IS 'target';
COMMENT ON COLUMN welfare.forecast_result.unit IS 'persons or households';
COMMENT ON COLUMN welfare.forecast_result.period IS 'year (1 January); the base year row holds the observed value';
COMMENT ON COLUMN welfare.forecast_result.base_period IS 'last observed year the projection starts from';
COMMENT ON COLUMN welfare.forecast_result.demand IS 'projected persons or households of the target in the zone';
COMMENT ON COLUMN welfare.forecast_result.lower IS 'lower bound of the prediction interval; NULL when no past error could be measured (see note)';
COMMENT ON COLUMN welfare.forecast_result.upper IS 'upper bound of the prediction interval; NULL when no past error could be measured (see note)';
COMMENT ON COLUMN welfare.forecast_result.method IS 'hamilton_perry, linear, log_linear or share_of_city';
COMMENT ON COLUMN welfare.forecast_result.note IS 'how the row was projected and how its interval was obtained';
COMMENT ON COLUMN welfare.forecast_result.published IS 'false for sensitive targets below the published geographies';
COMMENT ON COLUMN welfare.forecast_result.demand_pub IS 'demand as published (suppressed 1-7, rounded)';
COMMENT ON COLUMN welfare.forecast_result.lower_pub IS 'lower bound as published (suppressed 1-7, rounded)';
COMMENT ON COLUMN welfare.forecast_result.upper_pub IS 'upper bound as published (suppressed 1-7, rounded)';
