-- Results of accessibility runs (welfare.run_accessibility), keyed by run id:
-- one row per zone x target served by the run's service type. Raw values are
-- for analysts; the *_pub columns are what may leave (welfare_core.privacy)
-- and are the only ones welfare_bi shows.

CREATE TABLE welfare.accessibility_result (
    run_id bigint NOT NULL REFERENCES welfare.run (run_id) ON DELETE CASCADE,
    zone_id text NOT NULL,
    level text NOT NULL,
    parent_id text,
    municipality_code text NOT NULL,
    period integer NOT NULL,
    service_type_id text NOT NULL,
    target_id text NOT NULL,
    method text NOT NULL,
    demand double precision NOT NULL,
    access double precision,
    nearest_cost double precision,
    share_within double precision,
    max_cost double precision NOT NULL,
    cost_unit text NOT NULL,
    null_reason text,
    published boolean NOT NULL,
    demand_pub double precision,
    access_pub double precision,
    nearest_cost_pub double precision,
    share_within_pub double precision,
    PRIMARY KEY (run_id, zone_id, target_id)
);
COMMENT ON TABLE welfare.accessibility_result IS
    'zone x target accessibility of each accessibility run (raw for analysts, *_pub for publication)';
COMMENT ON COLUMN welfare.accessibility_result.run_id IS 'run (welfare.run, kind accessibility)';
COMMENT ON COLUMN welfare.accessibility_result.zone_id IS 'zone of the requested level';
COMMENT ON COLUMN welfare.accessibility_result.level IS 'its level';
COMMENT ON COLUMN welfare.accessibility_result.parent_id IS 'zone of the next coarser level';
COMMENT ON COLUMN welfare.accessibility_result.municipality_code IS 'ISTAT municipality code';
COMMENT ON COLUMN welfare.accessibility_result.period IS 'year of demand and of open facilities';
COMMENT ON COLUMN welfare.accessibility_result.service_type_id IS 'service type whose facilities are reached';
COMMENT ON COLUMN welfare.accessibility_result.target_id IS 'target served by the service type';
COMMENT ON COLUMN welfare.accessibility_result.method IS '2sfca, 3sfca or gravity';
COMMENT ON COLUMN welfare.accessibility_result.demand IS 'demand of the target in the zone (raw)';
COMMENT ON COLUMN welfare.accessibility_result.access IS
    '2sfca/3sfca: accessible supply per 100 of demand; gravity: decay-weighted capacity within max_cost';
COMMENT ON COLUMN welfare.accessibility_result.nearest_cost IS 'demand-weighted cost to the nearest facility of the type';
COMMENT ON COLUMN welfare.accessibility_result.share_within IS 'share (0-1) of the demand with a facility within max_cost';
COMMENT ON COLUMN welfare.accessibility_result.max_cost IS 'catchment cutoff used (inclusive)';
COMMENT ON COLUMN welfare.accessibility_result.cost_unit IS 'm or min';
COMMENT ON COLUMN welfare.accessibility_result.null_reason IS 'why values are NULL';
COMMENT ON COLUMN welfare.accessibility_result.published IS 'false for sensitive targets below the fixed geographies';
COMMENT ON COLUMN welfare.accessibility_result.demand_pub IS 'demand made safe (suppressed 1-7, rounded)';
COMMENT ON COLUMN welfare.accessibility_result.access_pub IS 'access, NULL when the demand is too small to publish';
COMMENT ON COLUMN welfare.accessibility_result.nearest_cost_pub IS 'nearest_cost, NULL when the demand is too small';
COMMENT ON COLUMN welfare.accessibility_result.share_within_pub IS 'share_within, NULL when the demand is too small';
SELECT pg_catalog.pg_extension_config_dump('welfare.accessibility_result', '');
