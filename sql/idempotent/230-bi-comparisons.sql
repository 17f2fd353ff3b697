-- BI views over the latest comparison runs (composite indices, benchmark,
-- hot spots, equity). Privacy: composites only for zones above the population
-- floor, values of rates over small denominators hidden; plain types, no PostGIS.
DROP VIEW IF EXISTS welfare_bi.composite_index;
CREATE VIEW welfare_bi.composite_index AS
WITH latest AS (
    SELECT run_id, finished_at, parameters, service_type_id
      FROM welfare.bi_latest_run WHERE kind = 'composite_index'
)
SELECT res.run_id,
       l.finished_at AS computed_at,
       l.parameters ->> 'name' AS index_name,
       res.method,
       res.direction,
       res.zone_id,
       z.name AS zone_name,
       res.level AS zone_level,
       res.parent_id,
       z.municipality_code,
       res.period,
       CASE WHEN res.published THEN res.score END AS score,
       CASE WHEN res.published THEN res.rank END AS rank,
       CASE WHEN res.published THEN res.pct_rank END AS pct_rank,
       CASE WHEN res.published THEN res.flags END AS flags,
       CASE WHEN res.published THEN res.pct_rank >= 0.9 END AS top_decile,
       res.components AS component_count,
       CASE WHEN res.published THEN res.null_reason
            ELSE 'fewer residents than the floor for composites: see the parent zone' END AS null_reason,
       public.ST_Y(c.pt) AS lat,
       public.ST_X(c.pt) AS lon,
       public.ST_AsGeoJSON(public.ST_Transform(z.geom, 4326), 6) AS geojson
  FROM latest l
  JOIN welfare.composite_result res ON res.run_id = l.run_id
  JOIN welfare.zone z ON z.zone_id = res.zone_id
  CROSS JOIN LATERAL (SELECT public.ST_Transform(public.ST_PointOnSurface(z.geom), 4326) AS pt) c;

COMMENT ON VIEW welfare_bi.composite_index IS
    'composite vulnerability index per zone, latest run per index name, level, period and method; NULL for zones below the population floor (setting composite_min_population): read the parent zone';
COMMENT ON COLUMN welfare_bi.composite_index.run_id IS 'run that produced the row (welfare.run)';
COMMENT ON COLUMN welfare_bi.composite_index.computed_at IS 'when the run finished';
COMMENT ON COLUMN welfare_bi.composite_index.index_name IS 'name given to the index (run_composite_index name)';
COMMENT ON COLUMN welfare_bi.composite_index.method IS 'svi (CDC Social Vulnerability Index), imd (English Index of Multiple Deprivation) or ampi (adjusted Mazziotta-Pareto, ISTAT IVSM)';
COMMENT ON COLUMN welfare_bi.composite_index.direction IS 'high_is_bad: a high score means more vulnerable';
COMMENT ON COLUMN welfare_bi.composite_index.zone_id IS 'zone code (embeds the ISTAT municipality code)';
COMMENT ON COLUMN welfare_bi.composite_index.zone_name IS 'zone name';
COMMENT ON COLUMN welfare_bi.composite_index.zone_level IS 'section, neighbourhood, district or city';
COMMENT ON COLUMN welfare_bi.composite_index.parent_id IS 'zone of the next coarser level';
COMMENT ON COLUMN welfare_bi.composite_index.municipality_code IS 'ISTAT municipality code';
COMMENT ON COLUMN welfare_bi.composite_index.period IS 'year of the indicators';
COMMENT ON COLUMN welfare_bi.composite_index.score IS 'the index: SVI 0-1, IMD 0-100, AMPI around 100 (the reference); NULL for small zones';
COMMENT ON COLUMN welfare_bi.composite_index.rank IS 'ascending rank of the index among the zones, ties at the minimum';
COMMENT ON COLUMN welfare_bi.composite_index.pct_rank IS 'percentile rank (r-1)/(N-1) of the index';
COMMENT ON COLUMN welfare_bi.composite_index.flags IS 'SVI: number of components at or above their 90th percentile';
COMMENT ON COLUMN welfare_bi.composite_index.top_decile IS 'percentile rank of the index at or above 0.90';
COMMENT ON COLUMN welfare_bi.composite_index.component_count IS 'number of indicators combined';
COMMENT ON COLUMN welfare_bi.composite_index.null_reason IS 'why the score is NULL';
COMMENT ON COLUMN welfare_bi.composite_index.lat IS 'latitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.composite_index.lon IS 'longitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.composite_index.geojson IS 'zone boundary as GeoJSON (WGS84)';

DROP VIEW IF EXISTS welfare_bi.composite_components;
CREATE VIEW welfare_bi.composite_components AS
WITH latest AS (
    SELECT run_id, finished_at, parameters, service_type_id
      FROM welfare.bi_latest_run WHERE kind = 'composite_index'
)
SELECT res.run_id,
       l.parameters ->> 'name' AS index_name,
       l.parameters ->> 'method' AS method,
       res.zone_id,
       z.name AS zone_name,
       ci.level AS zone_level,
       ci.period,
       res.component,
       res.theme,
       res.polarity,
       CASE WHEN ci.published THEN res.value END AS value,
       CASE WHEN ci.published THEN res.score END AS score,
       CASE WHEN ci.published THEN res.flag END AS flag,
       CASE WHEN ci.published THEN res.contribution END AS contribution,
       CASE WHEN ci.published THEN res.share END AS share,
       CASE WHEN ci.published THEN res.theme_pct_rank END AS theme_pct_rank
  FROM latest l
  JOIN welfare.composite_component_result res ON res.run_id = l.run_id
  JOIN welfare.composite_result ci ON ci.run_id = res.run_id AND ci.zone_id = res.zone_id
  JOIN welfare.zone z ON z.zone_id = res.zone_id;

COMMENT ON VIEW welfare_bi.composite_components IS
    'each component of the latest composite indices: value, normalised score and contribution to the index; NULL for zones below the population floor';
COMMENT ON COLUMN welfare_bi.composite_components.run_id IS 'run that produced the row (welfare.run)';
COMMENT ON COLUMN welfare_bi.composite_components.index_name IS 'name given to the index';
COMMENT ON COLUMN welfare_bi.composite_components.method IS 'svi, imd or ampi';
COMMENT ON COLUMN welfare_bi.composite_components.zone_id IS 'zone code';
COMMENT ON COLUMN welfare_bi.composite_components.zone_name IS 'zone name';
COMMENT ON COLUMN welfare_bi.composite_components.zone_level IS 'level of the zone';
COMMENT ON COLUMN welfare_bi.composite_components.period IS 'year of the indicators';
COMMENT ON COLUMN welfare_bi.composite_components.component IS 'indicator: target_id (incidence) or target_id:column';
COMMENT ON COLUMN welfare_bi.composite_components.theme IS 'SVI theme';
COMMENT ON COLUMN welfare_bi.composite_components.polarity IS 'high_is_bad or high_is_good: how a high value of the component reads';
COMMENT ON COLUMN welfare_bi.composite_components.value IS 'the indicator value used';
COMMENT ON COLUMN welfare_bi.composite_components.score IS 'normalised component: SVI percentile rank, IMD score 0-100, AMPI value around 100';
COMMENT ON COLUMN welfare_bi.composite_components.flag IS 'SVI: at or above the 90th percentile';
COMMENT ON COLUMN welfare_bi.composite_components.contribution IS 'SVI: points of the overall sum; IMD: weight x score; AMPI: pull on the mean away from 100';
COMMENT ON COLUMN welfare_bi.composite_components.share IS 'share of the zone''s total';
COMMENT ON COLUMN welfare_bi.composite_components.theme_pct_rank IS 'SVI: percentile rank of the theme';

DROP VIEW IF EXISTS welfare_bi.zone_benchmark;
CREATE VIEW welfare_bi.zone_benchmark AS
WITH latest AS (
    SELECT run_id, finished_at, parameters, service_type_id
      FROM welfare.bi_latest_run WHERE kind = 'compare_zones'
)
SELECT res.run_id,
       l.finished_at AS computed_at,
       res.zone_id,
       z.name AS zone_name,
       res.level AS zone_level,
       z.parent_id,
       z.municipality_code,
       res.period,
       res.indicator,
       split_part(res.indicator, ':', 1) AS target_id,
       res.polarity,
       res.value,
       res.comparator,
       res.group_id,
       res.group_zones,
       res.reference,
       res.difference,
       res.ratio,
       res.z,
       res.pct_rank,
       res.stands_out,
       res.worse,
       public.ST_Y(c.pt) AS lat,
       public.ST_X(c.pt) AS lon,
       public.ST_AsGeoJSON(public.ST_Transform(z.geom, 4326), 6) AS geojson
  FROM latest l
  JOIN welfare.benchmark_result res ON res.run_id = l.run_id
  JOIN welfare.zone z ON z.zone_id = res.zone_id
  CROSS JOIN LATERAL (SELECT public.ST_Transform(public.ST_PointOnSurface(z.geom), 4326) AS pt) c
 WHERE res.published;

COMMENT ON VIEW welfare_bi.zone_benchmark IS
    'each zone against the city, its district and its peer group, latest run per level, period and value column; rows of rates over small denominators and of unpublished targets are left out';
COMMENT ON COLUMN welfare_bi.zone_benchmark.run_id IS 'run that produced the row (welfare.run)';
COMMENT ON COLUMN welfare_bi.zone_benchmark.computed_at IS 'when the run finished';
COMMENT ON COLUMN welfare_bi.zone_benchmark.zone_id IS 'zone code (embeds the ISTAT municipality code)';
COMMENT ON COLUMN welfare_bi.zone_benchmark.zone_name IS 'zone name';
COMMENT ON COLUMN welfare_bi.zone_benchmark.zone_level IS 'section, neighbourhood, district or city';
COMMENT ON COLUMN welfare_bi.zone_benchmark.parent_id IS 'zone of the next coarser level';
COMMENT ON COLUMN welfare_bi.zone_benchmark.municipality_code IS 'ISTAT municipality code';
COMMENT ON COLUMN welfare_bi.zone_benchmark.period IS 'year of the indicators';
COMMENT ON COLUMN welfare_bi.zone_benchmark.indicator IS 'target_id:column compared';
COMMENT ON COLUMN welfare_bi.zone_benchmark.target_id IS 'target group code';
COMMENT ON COLUMN welfare_bi.zone_benchmark.polarity IS 'high_is_bad or high_is_good';
COMMENT ON COLUMN welfare_bi.zone_benchmark.value IS 'the zone''s value';
COMMENT ON COLUMN welfare_bi.zone_benchmark.comparator IS 'city, district or peer';
COMMENT ON COLUMN welfare_bi.zone_benchmark.group_id IS 'city, the district''s id, or the peer group';
COMMENT ON COLUMN welfare_bi.zone_benchmark.group_zones IS 'zones of the group with a value';
COMMENT ON COLUMN welfare_bi.zone_benchmark.reference IS 'the group''s value (its own rate, weighted by the denominator)';
COMMENT ON COLUMN welfare_bi.zone_benchmark.difference IS 'value - reference';
COMMENT ON COLUMN welfare_bi.zone_benchmark.ratio IS 'value / reference';
COMMENT ON COLUMN welfare_bi.zone_benchmark.z IS 'z-score among the group''s zones';
COMMENT ON COLUMN welfare_bi.zone_benchmark.pct_rank IS 'percentile rank (r-1)/(N-1) within the group';
COMMENT ON COLUMN welfare_bi.zone_benchmark.stands_out IS '|z| at or above the run''s threshold (default 2)';
COMMENT ON COLUMN welfare_bi.zone_benchmark.worse IS 'the zone deviates in the bad direction';
COMMENT ON COLUMN welfare_bi.zone_benchmark.lat IS 'latitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.zone_benchmark.lon IS 'longitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.zone_benchmark.geojson IS 'zone boundary as GeoJSON (WGS84)';

DROP VIEW IF EXISTS welfare_bi.hot_spots;
CREATE VIEW welfare_bi.hot_spots AS
WITH latest AS (
    SELECT run_id, finished_at, parameters, service_type_id
      FROM welfare.bi_latest_run WHERE kind = 'hot_spots'
)
SELECT res.run_id,
       l.finished_at AS computed_at,
       res.zone_id,
       z.name AS zone_name,
       res.level AS zone_level,
       z.parent_id,
       z.municipality_code,
       res.period,
       res.indicator,
       split_part(res.indicator, ':', 1) AS target_id,
       m.weights,
       CASE WHEN res.published THEN res.value END AS value,
       CASE WHEN res.published THEN res.lisa_class END AS lisa_class,
       CASE WHEN res.published THEN res.p_sim END AS p_sim,
       res.neighbours,
       m.moran_i,
       m.z_norm AS moran_z,
       m.p_sim AS moran_p_sim,
       m.p_threshold,
       public.ST_Y(c.pt) AS lat,
       public.ST_X(c.pt) AS lon,
       public.ST_AsGeoJSON(public.ST_Transform(z.geom, 4326), 6) AS geojson
  FROM latest l
  JOIN welfare.hot_spot_result res ON res.run_id = l.run_id
  JOIN welfare.moran_result m ON m.run_id = l.run_id
  JOIN welfare.zone z ON z.zone_id = res.zone_id
  CROSS JOIN LATERAL (SELECT public.ST_Transform(public.ST_PointOnSurface(z.geom), 4326) AS pt) c;

COMMENT ON VIEW welfare_bi.hot_spots IS
    'local Moran (LISA) clusters per zone with the global Moran''s I, latest run per level, period, indicator and weights; value and class NULL where the value may not be published';
COMMENT ON COLUMN welfare_bi.hot_spots.run_id IS 'run that produced the row (welfare.run)';
COMMENT ON COLUMN welfare_bi.hot_spots.computed_at IS 'when the run finished';
COMMENT ON COLUMN welfare_bi.hot_spots.zone_id IS 'zone code (embeds the ISTAT municipality code)';
COMMENT ON COLUMN welfare_bi.hot_spots.zone_name IS 'zone name';
COMMENT ON COLUMN welfare_bi.hot_spots.zone_level IS 'section, neighbourhood, district or city';
COMMENT ON COLUMN welfare_bi.hot_spots.parent_id IS 'zone of the next coarser level';
COMMENT ON COLUMN welfare_bi.hot_spots.municipality_code IS 'ISTAT municipality code';
COMMENT ON COLUMN welfare_bi.hot_spots.period IS 'year of the indicators';
COMMENT ON COLUMN welfare_bi.hot_spots.indicator IS 'target_id:column analysed';
COMMENT ON COLUMN welfare_bi.hot_spots.target_id IS 'target group code';
COMMENT ON COLUMN welfare_bi.hot_spots.weights IS 'queen (zones sharing a boundary) or distance (band in metres)';
COMMENT ON COLUMN welfare_bi.hot_spots.value IS 'the zone''s value; NULL when it may not be published';
COMMENT ON COLUMN welfare_bi.hot_spots.lisa_class IS 'high-high (hot spot), low-low (cold spot), high-low, low-high (outliers), not significant, or no neighbours';
COMMENT ON COLUMN welfare_bi.hot_spots.p_sim IS 'pseudo p-value of the local Moran from seeded permutations';
COMMENT ON COLUMN welfare_bi.hot_spots.neighbours IS 'number of neighbouring zones';
COMMENT ON COLUMN welfare_bi.hot_spots.moran_i IS 'global Moran''s I of the indicator (positive: similar values cluster)';
COMMENT ON COLUMN welfare_bi.hot_spots.moran_z IS 'z-score of the global Moran''s I under normality';
COMMENT ON COLUMN welfare_bi.hot_spots.moran_p_sim IS 'permutation p-value of the global Moran''s I';
COMMENT ON COLUMN welfare_bi.hot_spots.p_threshold IS 'p-value cut-off of the classes (alpha or the FDR cut-off)';
COMMENT ON COLUMN welfare_bi.hot_spots.lat IS 'latitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.hot_spots.lon IS 'longitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.hot_spots.geojson IS 'zone boundary as GeoJSON (WGS84)';

DROP VIEW IF EXISTS welfare_bi.equity_measures;
CREATE VIEW welfare_bi.equity_measures AS
WITH latest AS (
    SELECT run_id, finished_at, parameters, service_type_id
      FROM welfare.bi_latest_run WHERE kind = 'equity_measures'
)
SELECT res.run_id,
       l.finished_at AS computed_at,
       res.level AS zone_level,
       res.period,
       res.indicator,
       split_part(res.indicator, ':', 1) AS target_id,
       l.parameters ->> 'service_type_id' AS service_type_id,
       res.measure,
       res.value,
       res.zones,
       res.weight_total,
       res.mean,
       res.ranked_by,
       res.null_reason
  FROM latest l
  JOIN welfare.equity_result res ON res.run_id = l.run_id;

COMMENT ON VIEW welfare_bi.equity_measures IS
    'inequality of an indicator across zones (people-weighted), latest run per level, period, value column and ranking';
COMMENT ON COLUMN welfare_bi.equity_measures.run_id IS 'run that produced the row (welfare.run)';
COMMENT ON COLUMN welfare_bi.equity_measures.computed_at IS 'when the run finished';
COMMENT ON COLUMN welfare_bi.equity_measures.zone_level IS 'level of the zones compared';
COMMENT ON COLUMN welfare_bi.equity_measures.period IS 'year of the indicators';
COMMENT ON COLUMN welfare_bi.equity_measures.indicator IS 'target_id:column measured';
COMMENT ON COLUMN welfare_bi.equity_measures.target_id IS 'target group code';
COMMENT ON COLUMN welfare_bi.equity_measures.service_type_id IS 'service type whose accessibility is measured (runs over an accessibility run); NULL for indicator runs';
COMMENT ON COLUMN welfare_bi.equity_measures.measure IS 'gini (0 equal - 1), theil_t (0 equal) with theil_within and theil_between districts, palma_ratio (best-off 10% over worst-off 40%), p90_p10, concentration_index (positive: the most vulnerable zones get less)';
COMMENT ON COLUMN welfare_bi.equity_measures.value IS 'the measure';
COMMENT ON COLUMN welfare_bi.equity_measures.zones IS 'zones with a value';
COMMENT ON COLUMN welfare_bi.equity_measures.weight_total IS 'people weighting the zones (the indicator''s denominator)';
COMMENT ON COLUMN welfare_bi.equity_measures.mean IS 'people-weighted mean of the indicator';
COMMENT ON COLUMN welfare_bi.equity_measures.ranked_by IS 'composite run the Palma ratio and concentration index rank zones by (NULL: the indicator itself)';
COMMENT ON COLUMN welfare_bi.equity_measures.null_reason IS 'why the value is NULL';
