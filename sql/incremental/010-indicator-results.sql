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
