-- Results of the comparison runs (welfare_core.composite, .benchmark, .spatial,
-- .equity), keyed by run id. Raw values are for analysts; `published` says
-- what may leave, and welfare_bi shows only that.

CREATE TABLE welfare.composite_result (
    run_id bigint NOT NULL REFERENCES welfare.run (run_id) ON DELETE CASCADE,
    source_run_id bigint NOT NULL,
    zone_id text NOT NULL,
    level text NOT NULL,
    parent_id text,
    period integer NOT NULL,
    method text NOT NULL,
    direction text NOT NULL,
    score double precision,
    rank integer,
    pct_rank double precision,
    flags integer,
    mean double precision,
    penalty double precision,
    components integer NOT NULL,
    population double precision NOT NULL,
    null_reason text,
    published boolean NOT NULL,
    PRIMARY KEY (run_id, zone_id)
);
COMMENT ON TABLE welfare.composite_result IS
    'composite index per zone of each composite_index run (raw for analysts; published says whether it may leave)';
SELECT pg_catalog.pg_extension_config_dump('welfare.composite_result', '');
COMMENT ON COLUMN welfare.composite_result.run_id IS 'run that produced the row (welfare.run, kind composite_index)';
COMMENT ON COLUMN welfare.composite_result.source_run_id IS 'zone_indicators run the components were read from';
COMMENT ON COLUMN welfare.composite_result.zone_id IS 'zone';
COMMENT ON COLUMN welfare.composite_result.level IS 'level of the zone';
COMMENT ON COLUMN welfare.composite_result.parent_id IS 'zone of the next coarser level';
COMMENT ON COLUMN welfare.composite_result.period IS 'year';
COMMENT ON COLUMN welfare.composite_result.method IS 'svi (CDC percentile ranks), imd (English IMD exponential transform) or ampi (adjusted Mazziotta-Pareto, ISTAT IVSM)';
COMMENT ON COLUMN welfare.composite_result.direction IS 'high_is_bad: a high index means more vulnerable; high_is_good: the opposite';
COMMENT ON COLUMN welfare.composite_result.score IS 'the index: SVI 0-1, IMD 0-100, AMPI around 100 (the reference)';
COMMENT ON COLUMN welfare.composite_result.rank IS 'ascending rank of the index among the zones, ties at the minimum';
COMMENT ON COLUMN welfare.composite_result.pct_rank IS 'percentile rank (r-1)/(N-1) of the index';
COMMENT ON COLUMN welfare.composite_result.flags IS 'SVI: number of components at or above the 90th percentile';
COMMENT ON COLUMN welfare.composite_result.mean IS 'AMPI: mean of the normalised components';
COMMENT ON COLUMN welfare.composite_result.penalty IS 'AMPI: imbalance penalty S x cv added (vulnerability) or subtracted (well-being)';
COMMENT ON COLUMN welfare.composite_result.components IS 'number of components of the index';
COMMENT ON COLUMN welfare.composite_result.population IS 'residents of the zone (the privacy floor applies to it)';
COMMENT ON COLUMN welfare.composite_result.null_reason IS 'why the index is NULL';
COMMENT ON COLUMN welfare.composite_result.published IS 'false when the zone has fewer residents than the setting composite_min_population';

CREATE TABLE welfare.composite_component_result (
    run_id bigint NOT NULL REFERENCES welfare.run (run_id) ON DELETE CASCADE,
    zone_id text NOT NULL,
    component text NOT NULL,
    theme text NOT NULL,
    polarity text NOT NULL,
    value double precision,
    score double precision,
    flag boolean,
    contribution double precision,
    share double precision,
    theme_sum double precision,
    theme_pct_rank double precision,
    PRIMARY KEY (run_id, zone_id, component)
);
COMMENT ON TABLE welfare.composite_component_result IS
    'each component of each zone''s composite index: its value, normalised score and contribution';
SELECT pg_catalog.pg_extension_config_dump('welfare.composite_component_result', '');
COMMENT ON COLUMN welfare.composite_component_result.run_id IS 'run that produced the row (welfare.run, kind composite_index)';
COMMENT ON COLUMN welfare.composite_component_result.zone_id IS 'zone';
COMMENT ON COLUMN welfare.composite_component_result.component IS 'indicator: target_id (its incidence) or target_id:column';
COMMENT ON COLUMN welfare.composite_component_result.theme IS 'SVI theme of the component';
COMMENT ON COLUMN welfare.composite_component_result.polarity IS 'high_is_bad or high_is_good: how to read a high value of the component';
COMMENT ON COLUMN welfare.composite_component_result.value IS 'the indicator value used';
COMMENT ON COLUMN welfare.composite_component_result.score IS 'normalised component: SVI percentile rank, IMD transformed score 0-100, AMPI rescaled value around 100';
COMMENT ON COLUMN welfare.composite_component_result.flag IS 'SVI: percentile rank at or above 0.90';
COMMENT ON COLUMN welfare.composite_component_result.contribution IS 'SVI: points of the overall sum; IMD: weight x score; AMPI: pull on the mean away from 100';
COMMENT ON COLUMN welfare.composite_component_result.share IS 'share of the zone''s total (SVI sum, IMD score, AMPI sum of scores)';
COMMENT ON COLUMN welfare.composite_component_result.theme_sum IS 'SVI: sum of the percentile ranks of the theme';
COMMENT ON COLUMN welfare.composite_component_result.theme_pct_rank IS 'SVI: percentile rank of the theme sum';

CREATE TABLE welfare.benchmark_result (
    run_id bigint NOT NULL REFERENCES welfare.run (run_id) ON DELETE CASCADE,
    zone_id text NOT NULL,
    level text NOT NULL,
    period integer NOT NULL,
    indicator text NOT NULL,
    polarity text NOT NULL,
    value double precision,
    comparator text NOT NULL,
    group_id text NOT NULL,
    group_zones integer NOT NULL,
    reference double precision,
    difference double precision,
    ratio double precision,
    z double precision,
    pct_rank double precision,
    stands_out boolean NOT NULL,
    worse boolean NOT NULL,
    published boolean NOT NULL,
    PRIMARY KEY (run_id, zone_id, indicator, comparator)
);
COMMENT ON TABLE welfare.benchmark_result IS
    'each zone against the city, its district and its peer group, per indicator, of each compare_zones run';
SELECT pg_catalog.pg_extension_config_dump('welfare.benchmark_result', '');
COMMENT ON COLUMN welfare.benchmark_result.run_id IS 'run that produced the row (welfare.run, kind compare_zones)';
COMMENT ON COLUMN welfare.benchmark_result.zone_id IS 'zone';
COMMENT ON COLUMN welfare.benchmark_result.level IS 'level of the zone';
COMMENT ON COLUMN welfare.benchmark_result.period IS 'year';
COMMENT ON COLUMN welfare.benchmark_result.indicator IS 'target_id:column of the zone-indicators run';
COMMENT ON COLUMN welfare.benchmark_result.polarity IS 'high_is_bad or high_is_good';
COMMENT ON COLUMN welfare.benchmark_result.value IS 'the zone''s value';
COMMENT ON COLUMN welfare.benchmark_result.comparator IS 'city, district or peer';
COMMENT ON COLUMN welfare.benchmark_result.group_id IS 'the group compared with: city, the district''s id, or the peer group''s name';
COMMENT ON COLUMN welfare.benchmark_result.group_zones IS 'zones of the group with a value';
COMMENT ON COLUMN welfare.benchmark_result.reference IS 'the group''s value: weighted by the indicator''s denominator (the group''s own rate) or the plain mean';
COMMENT ON COLUMN welfare.benchmark_result.difference IS 'value - reference';
COMMENT ON COLUMN welfare.benchmark_result.ratio IS 'value / reference';
COMMENT ON COLUMN welfare.benchmark_result.z IS 'z-score among the group''s zones (population standard deviation)';
COMMENT ON COLUMN welfare.benchmark_result.pct_rank IS 'percentile rank (r-1)/(N-1) within the group';
COMMENT ON COLUMN welfare.benchmark_result.stands_out IS '|z| at or above the run''s threshold';
COMMENT ON COLUMN welfare.benchmark_result.worse IS 'the zone deviates in the bad direction of the polarity';
COMMENT ON COLUMN welfare.benchmark_result.published IS 'false when the indicator''s denominator is below min_rate_denominator or the target is not published at this level';

CREATE TABLE welfare.hot_spot_result (
    run_id bigint NOT NULL REFERENCES welfare.run (run_id) ON DELETE CASCADE,
    zone_id text NOT NULL,
    level text NOT NULL,
    period integer NOT NULL,
    indicator text NOT NULL,
    value double precision NOT NULL,
    z double precision NOT NULL,
    lag double precision NOT NULL,
    local_i double precision,
    quadrant integer NOT NULL,
    p_sim double precision,
    z_sim double precision,
    significant boolean NOT NULL,
    lisa_class text NOT NULL,
    neighbours integer NOT NULL,
    published boolean NOT NULL,
    PRIMARY KEY (run_id, zone_id)
);
COMMENT ON TABLE welfare.hot_spot_result IS
    'local Moran (LISA) per zone of each hot_spots run';
SELECT pg_catalog.pg_extension_config_dump('welfare.hot_spot_result', '');
COMMENT ON COLUMN welfare.hot_spot_result.run_id IS 'run that produced the row (welfare.run, kind hot_spots)';
COMMENT ON COLUMN welfare.hot_spot_result.zone_id IS 'zone';
COMMENT ON COLUMN welfare.hot_spot_result.level IS 'level of the zone';
COMMENT ON COLUMN welfare.hot_spot_result.period IS 'year';
COMMENT ON COLUMN welfare.hot_spot_result.indicator IS 'target_id:column analysed';
COMMENT ON COLUMN welfare.hot_spot_result.value IS 'the zone''s value (raw)';
COMMENT ON COLUMN welfare.hot_spot_result.z IS 'value minus the mean of the zones';
COMMENT ON COLUMN welfare.hot_spot_result.lag IS 'spatial lag: weighted mean of the neighbours'' z';
COMMENT ON COLUMN welfare.hot_spot_result.local_i IS 'local Moran I_i = (n-1) z_i lag_i / sum z^2';
COMMENT ON COLUMN welfare.hot_spot_result.quadrant IS '1 high-high, 2 low-high, 3 low-low, 4 high-low (before significance)';
COMMENT ON COLUMN welfare.hot_spot_result.p_sim IS 'pseudo p-value from seeded conditional permutations';
COMMENT ON COLUMN welfare.hot_spot_result.z_sim IS 'z-score of I_i against its permutations';
COMMENT ON COLUMN welfare.hot_spot_result.significant IS 'p_sim at or below alpha (or the FDR cut-off)';
COMMENT ON COLUMN welfare.hot_spot_result.lisa_class IS 'high-high, low-low, high-low, low-high, not significant or no neighbours';
COMMENT ON COLUMN welfare.hot_spot_result.neighbours IS 'number of neighbours in the weights';
COMMENT ON COLUMN welfare.hot_spot_result.published IS 'false when the value may not leave (small denominator, unpublished target)';

CREATE TABLE welfare.moran_result (
    run_id bigint NOT NULL REFERENCES welfare.run (run_id) ON DELETE CASCADE,
    indicator text NOT NULL,
    weights text NOT NULL,
    distance_m double precision,
    transformation text NOT NULL,
    zones integer NOT NULL,
    islands integer NOT NULL,
    moran_i double precision NOT NULL,
    expected double precision NOT NULL,
    variance_norm double precision NOT NULL,
    variance_rand double precision,
    z_norm double precision,
    z_rand double precision,
    p_norm double precision,
    p_rand double precision,
    p_sim double precision,
    permutations integer NOT NULL,
    seed integer,
    p_threshold double precision NOT NULL,
    PRIMARY KEY (run_id)
);
COMMENT ON TABLE welfare.moran_result IS
    'global Moran''s I of each hot_spots run';
SELECT pg_catalog.pg_extension_config_dump('welfare.moran_result', '');
COMMENT ON COLUMN welfare.moran_result.run_id IS 'run that produced the row (welfare.run, kind hot_spots)';
COMMENT ON COLUMN welfare.moran_result.indicator IS 'target_id:column analysed';
COMMENT ON COLUMN welfare.moran_result.weights IS 'queen (shared boundary) or distance (band in metres)';
COMMENT ON COLUMN welfare.moran_result.distance_m IS 'distance band, metres (distance weights)';
COMMENT ON COLUMN welfare.moran_result.transformation IS 'r (row-standardised) or b (binary)';
COMMENT ON COLUMN welfare.moran_result.zones IS 'zones analysed';
COMMENT ON COLUMN welfare.moran_result.islands IS 'zones without neighbours';
COMMENT ON COLUMN welfare.moran_result.moran_i IS 'global Moran''s I';
COMMENT ON COLUMN welfare.moran_result.expected IS 'E[I] = -1/(n-1)';
COMMENT ON COLUMN welfare.moran_result.variance_norm IS 'variance of I under normality';
COMMENT ON COLUMN welfare.moran_result.variance_rand IS 'variance of I under randomisation';
COMMENT ON COLUMN welfare.moran_result.z_norm IS 'z-score under normality; NULL when the variance is 0 (every zone neighbours every other)';
COMMENT ON COLUMN welfare.moran_result.z_rand IS 'z-score under randomisation';
COMMENT ON COLUMN welfare.moran_result.p_norm IS 'two-sided p-value under normality';
COMMENT ON COLUMN welfare.moran_result.p_rand IS 'two-sided p-value under randomisation';
COMMENT ON COLUMN welfare.moran_result.p_sim IS 'pseudo p-value from permutations';
COMMENT ON COLUMN welfare.moran_result.permutations IS 'number of permutations';
COMMENT ON COLUMN welfare.moran_result.seed IS 'seed of the random permutations';
COMMENT ON COLUMN welfare.moran_result.p_threshold IS 'p-value cut-off used for the LISA classes (alpha or the FDR cut-off)';

CREATE TABLE welfare.equity_result (
    run_id bigint NOT NULL REFERENCES welfare.run (run_id) ON DELETE CASCADE,
    level text NOT NULL,
    period integer NOT NULL,
    indicator text NOT NULL,
    measure text NOT NULL,
    value double precision,
    zones integer NOT NULL,
    weight_total double precision NOT NULL,
    mean double precision,
    ranked_by text,
    null_reason text,
    PRIMARY KEY (run_id, indicator, measure)
);
COMMENT ON TABLE welfare.equity_result IS
    'equity measures of each equity_measures run, per indicator';
SELECT pg_catalog.pg_extension_config_dump('welfare.equity_result', '');
COMMENT ON COLUMN welfare.equity_result.run_id IS 'run that produced the row (welfare.run, kind equity_measures)';
COMMENT ON COLUMN welfare.equity_result.level IS 'level of the zones compared';
COMMENT ON COLUMN welfare.equity_result.period IS 'year';
COMMENT ON COLUMN welfare.equity_result.indicator IS 'target_id:column measured';
COMMENT ON COLUMN welfare.equity_result.measure IS 'gini, theil_t, theil_within, theil_between, palma_ratio, p90_p10 or concentration_index';
COMMENT ON COLUMN welfare.equity_result.value IS 'the measure';
COMMENT ON COLUMN welfare.equity_result.zones IS 'zones with a value and a weight';
COMMENT ON COLUMN welfare.equity_result.weight_total IS 'people weighting the zones (the indicator''s denominator)';
COMMENT ON COLUMN welfare.equity_result.mean IS 'weighted mean of the indicator';
COMMENT ON COLUMN welfare.equity_result.ranked_by IS 'what the concentration index and Palma ratio rank zones by (a composite run, or the indicator itself)';
COMMENT ON COLUMN welfare.equity_result.null_reason IS 'why the value is NULL';

INSERT INTO welfare.setting (name, value, description) VALUES
    ('composite_min_population', '100', 'composite indices are published only for zones '
     'with at least this many residents; smaller zones are read at the parent zone')
ON CONFLICT (name) DO NOTHING;
