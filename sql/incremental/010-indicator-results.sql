-- Results of zone-indicator runs, keyed by run id. Raw values are for
-- analysts; the *_pub columns are what may leave (welfare_core.privacy) and
-- are the only ones welfare_bi shows.

CREATE TABLE welfare.zone_indicator_result (
    run_id bigint NOT NULL REFERENCES welfare.run (run_id) ON DELETE CASCADE,
    zone_id text NOT NULL,
    level text NOT NULL,
    parent_id text,
    period integer NOT NULL,
    target_id text NOT NULL,
    unit text NOT NULL,
    polarity text NOT NULL,
    demand double precision NOT NULL,
    reference_population double precision NOT NULL,
    incidence_per_100 double precision,
    supply double precision,
    coverage_per_100 double precision,
    required double precision,
    gap double precision,
    location_quotient double precision,
    incidence_rank integer,
    incidence_pct_rank double precision,
    incidence_z double precision,
    coverage_rank integer,
    coverage_pct_rank double precision,
    coverage_z double precision,
    null_reason text,
    published boolean NOT NULL,
    demand_pub double precision,
    reference_population_pub double precision,
    incidence_pub double precision,
    coverage_pub double precision,
    gap_pub double precision,
    location_quotient_pub double precision,
    incidence_rank_pub integer,
    incidence_pct_rank_pub double precision,
    coverage_rank_pub integer,
    coverage_pct_rank_pub double precision,
    PRIMARY KEY (run_id, zone_id, target_id)
);
COMMENT ON TABLE welfare.zone_indicator_result IS
    'zone x target indicators of each zone_indicators run (raw for analysts, *_pub for publication)';
SELECT pg_catalog.pg_extension_config_dump('welfare.zone_indicator_result', '');

CREATE TABLE welfare.zone_service_result (
    run_id bigint NOT NULL REFERENCES welfare.run (run_id) ON DELETE CASCADE,
    zone_id text NOT NULL,
    level text NOT NULL,
    parent_id text,
    period integer NOT NULL,
    service_type_id text NOT NULL,
    reference_target_id text NOT NULL,
    reference_population double precision NOT NULL,
    supply double precision NOT NULL,
    coverage_per_100 double precision,
    standard_per_100 double precision,
    gap double precision,
    facilities integer NOT NULL,
    coverage_rank integer,
    coverage_pct_rank double precision,
    coverage_z double precision,
    gap_rank integer,
    gap_pct_rank double precision,
    gap_z double precision,
    null_reason text,
    reference_population_pub double precision,
    coverage_pub double precision,
    gap_pub double precision,
    PRIMARY KEY (run_id, zone_id, service_type_id)
);
COMMENT ON TABLE welfare.zone_service_result IS
    'zone x service type coverage of each zone_indicators run';
SELECT pg_catalog.pg_extension_config_dump('welfare.zone_service_result', '');

COMMENT ON COLUMN welfare.zone_indicator_result.run_id IS 'run that produced the row (welfare.run)';
COMMENT ON COLUMN welfare.zone_indicator_result.zone_id IS 'zone';
COMMENT ON COLUMN welfare.zone_indicator_result.level IS 'level of the zone';
COMMENT ON COLUMN welfare.zone_indicator_result.parent_id IS 'zone of the next coarser level';
COMMENT ON COLUMN welfare.zone_indicator_result.period IS 'year';
COMMENT ON COLUMN welfare.zone_indicator_result.target_id IS 'target';
COMMENT ON COLUMN welfare.zone_indicator_result.unit IS 'persons or households';
COMMENT ON COLUMN welfare.zone_indicator_result.polarity IS 'high_is_bad or high_is_good';
COMMENT ON COLUMN welfare.zone_indicator_result.demand IS 'persons or households of the target in the zone';
COMMENT ON COLUMN welfare.zone_indicator_result.reference_population IS 'all residents (person targets) or all households';
COMMENT ON COLUMN welfare.zone_indicator_result.incidence_per_100 IS 'demand per 100 of the reference population';
COMMENT ON COLUMN welfare.zone_indicator_result.supply IS 'capacity x share for the target of active facilities in the zone';
COMMENT ON COLUMN welfare.zone_indicator_result.coverage_per_100 IS 'supply per 100 of demand';
COMMENT ON COLUMN welfare.zone_indicator_result.required IS 'capacity the service standards ask for, for this target';
COMMENT ON COLUMN welfare.zone_indicator_result.gap IS 'max(0, required - supply), capacity units';
COMMENT ON COLUMN welfare.zone_indicator_result.location_quotient IS 'incidence in the zone over incidence in all zones of the level';
COMMENT ON COLUMN welfare.zone_indicator_result.incidence_rank IS 'ascending rank of incidence among zones of the level, ties at the minimum';
COMMENT ON COLUMN welfare.zone_indicator_result.incidence_pct_rank IS 'percentile rank (r-1)/(N-1) of incidence';
COMMENT ON COLUMN welfare.zone_indicator_result.incidence_z IS 'z-score of incidence (population standard deviation)';
COMMENT ON COLUMN welfare.zone_indicator_result.coverage_rank IS 'ascending rank of coverage among zones of the level';
COMMENT ON COLUMN welfare.zone_indicator_result.coverage_pct_rank IS 'percentile rank (r-1)/(N-1) of coverage';
COMMENT ON COLUMN welfare.zone_indicator_result.coverage_z IS 'z-score of coverage';
COMMENT ON COLUMN welfare.zone_indicator_result.null_reason IS 'why a value is NULL';
COMMENT ON COLUMN welfare.zone_indicator_result.published IS 'false for sensitive targets below the published geographies';
COMMENT ON COLUMN welfare.zone_indicator_result.demand_pub IS 'demand as published (suppressed 1-7, rounded)';
COMMENT ON COLUMN welfare.zone_indicator_result.reference_population_pub IS 'reference population as published';
COMMENT ON COLUMN welfare.zone_indicator_result.incidence_pub IS 'incidence as published (hidden for small counts)';
COMMENT ON COLUMN welfare.zone_indicator_result.coverage_pub IS 'coverage as published (hidden for small demand)';
COMMENT ON COLUMN welfare.zone_indicator_result.gap_pub IS 'gap as published (hidden when demand is suppressed)';
COMMENT ON COLUMN welfare.zone_indicator_result.location_quotient_pub IS 'location quotient as published';
COMMENT ON COLUMN welfare.zone_indicator_result.incidence_rank_pub IS 'incidence rank as published (hidden with the incidence)';
COMMENT ON COLUMN welfare.zone_indicator_result.incidence_pct_rank_pub IS 'incidence percentile rank as published';
COMMENT ON COLUMN welfare.zone_indicator_result.coverage_rank_pub IS 'coverage rank as published (hidden with the coverage)';
COMMENT ON COLUMN welfare.zone_indicator_result.coverage_pct_rank_pub IS 'coverage percentile rank as published';

COMMENT ON COLUMN welfare.zone_service_result.run_id IS 'run that produced the row (welfare.run)';
COMMENT ON COLUMN welfare.zone_service_result.zone_id IS 'zone';
COMMENT ON COLUMN welfare.zone_service_result.level IS 'level of the zone';
COMMENT ON COLUMN welfare.zone_service_result.parent_id IS 'zone of the next coarser level';
COMMENT ON COLUMN welfare.zone_service_result.period IS 'year';
COMMENT ON COLUMN welfare.zone_service_result.service_type_id IS 'service type';
COMMENT ON COLUMN welfare.zone_service_result.reference_target_id IS 'target whose count is the reference population';
COMMENT ON COLUMN welfare.zone_service_result.reference_population IS 'count of the reference target in the zone';
COMMENT ON COLUMN welfare.zone_service_result.supply IS 'capacity of active facilities of the type in the zone';
COMMENT ON COLUMN welfare.zone_service_result.coverage_per_100 IS 'supply per 100 of the reference population';
COMMENT ON COLUMN welfare.zone_service_result.standard_per_100 IS 'coverage standard of the service type';
COMMENT ON COLUMN welfare.zone_service_result.gap IS 'max(0, standard/100 x reference - supply), capacity units';
COMMENT ON COLUMN welfare.zone_service_result.facilities IS 'number of active facilities of the type in the zone';
COMMENT ON COLUMN welfare.zone_service_result.coverage_rank IS 'ascending rank of coverage among zones of the level';
COMMENT ON COLUMN welfare.zone_service_result.coverage_pct_rank IS 'percentile rank (r-1)/(N-1) of coverage';
COMMENT ON COLUMN welfare.zone_service_result.coverage_z IS 'z-score of coverage';
COMMENT ON COLUMN welfare.zone_service_result.gap_rank IS 'ascending rank of the gap';
COMMENT ON COLUMN welfare.zone_service_result.gap_pct_rank IS 'percentile rank (r-1)/(N-1) of the gap';
COMMENT ON COLUMN welfare.zone_service_result.gap_z IS 'z-score of the gap';
COMMENT ON COLUMN welfare.zone_service_result.null_reason IS 'why a value is NULL';
COMMENT ON COLUMN welfare.zone_service_result.reference_population_pub IS 'reference population as published';
COMMENT ON COLUMN welfare.zone_service_result.coverage_pub IS 'coverage as published (hidden for small reference populations)';
COMMENT ON COLUMN welfare.zone_service_result.gap_pub IS 'gap as published';
