-- BI view over the latest zone-indicator run per level and period.
-- Only published values (welfare_core.privacy); plain types, no PostGIS.
DROP VIEW IF EXISTS welfare_bi.zone_indicators;
CREATE VIEW welfare_bi.zone_indicators AS
WITH latest AS (
    SELECT DISTINCT ON (r.parameters ->> 'level', r.parameters ->> 'period') r.run_id, r.finished_at
      FROM welfare.run r
     WHERE r.kind = 'zone_indicators' AND r.status = 'ok'
     ORDER BY r.parameters ->> 'level', r.parameters ->> 'period', r.run_id DESC
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
       res.null_reason,
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
    'zone x target indicators of the latest run per level and period; counts suppressed '
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
COMMENT ON COLUMN welfare_bi.zone_indicators.null_reason IS 'why a value is NULL';
COMMENT ON COLUMN welfare_bi.zone_indicators.lat IS 'latitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.zone_indicators.lon IS 'longitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.zone_indicators.geojson IS 'zone boundary as GeoJSON (WGS84)';
