-- BI view over the latest zone-indicator run per level and period that passed the
-- differencing audit (welfare.publication_audit, 205-publication-audit.sql).
-- Only published values (welfare_core.privacy); plain types, no PostGIS.
DROP VIEW IF EXISTS welfare_bi.zone_indicators;
CREATE VIEW welfare_bi.zone_indicators AS
WITH latest AS (
    SELECT run_id, finished_at, parameters, service_type_id
      FROM welfare.bi_latest_run WHERE kind = 'zone_indicators'
)
SELECT res.run_id,
       l.finished_at AS computed_at,
       res.zone_id,
       z.name AS zone_name,
       res.level AS zone_level,
       res.parent_id,
       z.municipality_code,
       res.period,
       res.target_id,
       t.name AS target_name,
       res.unit,
       res.polarity,
       res.demand_pub AS demand,
       res.reference_population_pub AS reference_population,
       res.incidence_pub AS incidence_per_100,
       res.supply,
       res.coverage_pub AS coverage_per_100,
       res.gap_pub AS gap,
       res.location_quotient_pub AS location_quotient,
       res.incidence_rank_pub AS incidence_rank,
       res.incidence_pct_rank_pub AS incidence_pct_rank,
       res.coverage_rank_pub AS coverage_rank,
       res.coverage_pct_rank_pub AS coverage_pct_rank,
       NULLIF(concat_ws('; ', res.null_reason,
                        CASE WHEN res.demand_complementary THEN 'demand suppressed as a '
                             'complementary cell (protects a small count nearby)' END), '')
           AS null_reason,
       public.ST_Y(c.pt) AS lat,
       public.ST_X(c.pt) AS lon,
       public.ST_AsGeoJSON(public.ST_Transform(z.geom, 4326), 6) AS geojson
  FROM latest l
  JOIN welfare.zone_indicator_result res ON res.run_id = l.run_id
  JOIN welfare.zone z ON z.zone_id = res.zone_id
  JOIN welfare.target t ON t.target_id = res.target_id
  CROSS JOIN LATERAL (SELECT public.ST_Transform(public.ST_PointOnSurface(z.geom), 4326) AS pt) c
 WHERE res.published;

COMMENT ON VIEW welfare_bi.zone_indicators IS
    'zone x target indicators of the latest run per level and period that passed the '
    'differencing audit (welfare.publication_audit); counts suppressed '
    'below the threshold and rounded (setting suppress_below, round_to), sensitive targets '
    'only at fixed geographies';
COMMENT ON COLUMN welfare_bi.zone_indicators.run_id IS 'run that produced the row (welfare.run)';
COMMENT ON COLUMN welfare_bi.zone_indicators.computed_at IS 'when the run finished';
COMMENT ON COLUMN welfare_bi.zone_indicators.zone_id IS 'zone code (embeds the ISTAT municipality code)';
COMMENT ON COLUMN welfare_bi.zone_indicators.zone_name IS 'zone name';
COMMENT ON COLUMN welfare_bi.zone_indicators.zone_level IS 'section, neighbourhood, district or city';
COMMENT ON COLUMN welfare_bi.zone_indicators.parent_id IS 'zone of the next coarser level';
COMMENT ON COLUMN welfare_bi.zone_indicators.municipality_code IS 'ISTAT municipality code';
COMMENT ON COLUMN welfare_bi.zone_indicators.period IS 'year';
COMMENT ON COLUMN welfare_bi.zone_indicators.target_id IS 'target group code';
COMMENT ON COLUMN welfare_bi.zone_indicators.target_name IS 'target group name';
COMMENT ON COLUMN welfare_bi.zone_indicators.unit IS 'persons or households';
COMMENT ON COLUMN welfare_bi.zone_indicators.polarity IS 'high_is_bad or high_is_good: how to read a high incidence';
COMMENT ON COLUMN welfare_bi.zone_indicators.demand IS 'persons or households of the target (rounded to 5; NULL when 1-7)';
COMMENT ON COLUMN welfare_bi.zone_indicators.reference_population IS 'all residents or all households (rounded)';
COMMENT ON COLUMN welfare_bi.zone_indicators.incidence_per_100 IS 'demand per 100 of the reference population; NULL for small or suppressed counts';
COMMENT ON COLUMN welfare_bi.zone_indicators.supply IS 'capacity for the target located in the zone (capacity x share), in the capacity units of its service types';
COMMENT ON COLUMN welfare_bi.zone_indicators.coverage_per_100 IS 'supply per 100 of demand; NULL when demand is 0 or small';
COMMENT ON COLUMN welfare_bi.zone_indicators.gap IS 'capacity missing to reach the service standards, 0 when met';
COMMENT ON COLUMN welfare_bi.zone_indicators.location_quotient IS 'incidence in the zone over incidence in all zones of the level';
COMMENT ON COLUMN welfare_bi.zone_indicators.incidence_rank IS 'rank of incidence among zones of the level, ascending, ties at the minimum';
COMMENT ON COLUMN welfare_bi.zone_indicators.incidence_pct_rank IS 'percentile rank of incidence (r-1)/(N-1)';
COMMENT ON COLUMN welfare_bi.zone_indicators.coverage_rank IS 'rank of coverage among zones of the level, ascending';
COMMENT ON COLUMN welfare_bi.zone_indicators.coverage_pct_rank IS 'percentile rank of coverage (r-1)/(N-1)';
COMMENT ON COLUMN welfare_bi.zone_indicators.null_reason IS 'why a value is NULL (a demand suppressed as a complementary cell says so: it may be any count)';
COMMENT ON COLUMN welfare_bi.zone_indicators.lat IS 'latitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.zone_indicators.lon IS 'longitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.zone_indicators.geojson IS 'zone boundary as GeoJSON (WGS84)';

-- Zone x service type rows of the same runs: coverage, gap and accessibility as
-- published (means over a small reference population hidden with the coverage).
DROP VIEW IF EXISTS welfare_bi.zone_service_indicators;
CREATE VIEW welfare_bi.zone_service_indicators AS
WITH latest AS (
    SELECT run_id, finished_at, parameters, service_type_id
      FROM welfare.bi_latest_run WHERE kind = 'zone_indicators'
)
SELECT res.run_id,
       l.finished_at AS computed_at,
       res.zone_id,
       z.name AS zone_name,
       res.level AS zone_level,
       res.parent_id,
       z.municipality_code,
       res.period,
       res.service_type_id,
       st.name AS service_type_name,
       st.capacity_unit,
       res.reference_target_id,
       res.reference_population_pub AS reference_population,
       res.supply,
       res.facilities,
       res.coverage_pub AS coverage_per_100,
       res.standard_per_100,
       res.gap_pub AS gap,
       res.access_pub AS access_per_100,
       res.nearest_cost_pub AS nearest_cost,
       st.cost_unit,
       res.share_within_pub AS share_within,
       st.max_cost,
       NULLIF(concat_ws('; ', res.null_reason,
                        CASE WHEN res.reference_population_complementary THEN 'reference '
                             'population suppressed as a complementary cell (protects a small '
                             'count nearby)' END), '')
           AS null_reason,
       public.ST_Y(c.pt) AS lat,
       public.ST_X(c.pt) AS lon,
       public.ST_AsGeoJSON(public.ST_Transform(z.geom, 4326), 6) AS geojson
  FROM latest l
  JOIN welfare.zone_service_result res ON res.run_id = l.run_id
  JOIN welfare.zone z ON z.zone_id = res.zone_id
  JOIN welfare.service_type st ON st.service_type_id = res.service_type_id
  CROSS JOIN LATERAL (SELECT public.ST_Transform(public.ST_PointOnSurface(z.geom), 4326) AS pt) c;

COMMENT ON VIEW welfare_bi.zone_service_indicators IS
    'zone x service type coverage, gap and accessibility of the latest zone_indicators run '
    'per level and period that passed the differencing audit; reference populations suppressed below the threshold and rounded, '
    'rates and means over a small reference population hidden';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.run_id IS 'run that produced the row (welfare.run)';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.computed_at IS 'when the run finished';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.zone_id IS 'zone code (embeds the ISTAT municipality code)';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.zone_name IS 'zone name';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.zone_level IS 'section, neighbourhood, district or city';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.parent_id IS 'zone of the next coarser level';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.municipality_code IS 'ISTAT municipality code';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.period IS 'year';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.service_type_id IS 'service type code';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.service_type_name IS 'service type name';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.capacity_unit IS 'unit of supply and gap (places, beds, ...)';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.reference_target_id IS 'target whose count is the reference population (e.g. residents 65+ for nursing homes)';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.reference_population IS 'reference population in the zone (rounded to 5; NULL when 1-7)';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.supply IS 'capacity of the open facilities of the type located in the zone';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.facilities IS 'number of open facilities of the type in the zone';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.coverage_per_100 IS 'supply per 100 of the reference population; NULL when it is 0 or small';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.standard_per_100 IS 'coverage standard of the service type';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.gap IS 'capacity missing to reach the standard, 0 when met';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.access_per_100 IS 'capacity reachable per 100 of the reference population, across zone borders and shared with competing demand (2SFCA in the type''s catchment), demand-weighted mean of the sections; NULL when the reference population is 0 or small';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.nearest_cost IS 'cost (in cost_unit) to the nearest open facility of the type, demand-weighted mean of the sections; NULL as access_per_100';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.cost_unit IS 'unit of nearest_cost and max_cost: m (metres) or min (minutes)';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.share_within IS 'share (0-1) of the reference population with a facility of the type within max_cost; NULL as access_per_100';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.max_cost IS 'catchment of the service type (in cost_unit)';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.null_reason IS 'why a value is NULL (a reference population suppressed as a complementary cell says so: it may be any count)';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.lat IS 'latitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.lon IS 'longitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.zone_service_indicators.geojson IS 'zone boundary as GeoJSON (WGS84)';
