-- BI view over the latest accessibility run per service type, level, period
-- and method. Only published values (welfare_core.privacy via
-- welfare_core.zone_access.publish_accessibility); plain types, no PostGIS.
DROP VIEW IF EXISTS welfare_bi.accessibility;
CREATE VIEW welfare_bi.accessibility AS
WITH latest AS (
    SELECT run_id, finished_at, parameters, service_type_id
      FROM welfare.bi_latest_run WHERE kind = 'accessibility'
)
SELECT res.run_id,
       l.finished_at AS computed_at,
       res.zone_id,
       z.name AS zone_name,
       res.level AS zone_level,
       res.parent_id,
       res.municipality_code,
       res.period,
       res.service_type_id,
       st.name AS service_type_name,
       st.capacity_unit,
       res.target_id,
       t.name AS target_name,
       t.unit,
       res.method,
       res.demand_pub AS demand,
       res.access_pub AS access,
       res.nearest_cost_pub AS nearest_cost,
       res.share_within_pub AS share_within,
       res.max_cost,
       res.cost_unit,
       res.null_reason,
       public.ST_Y(c.pt) AS lat,
       public.ST_X(c.pt) AS lon,
       public.ST_AsGeoJSON(public.ST_Transform(z.geom, 4326), 6) AS geojson
  FROM latest l
  JOIN welfare.accessibility_result res ON res.run_id = l.run_id
                                      AND res.service_type_id = l.service_type_id
  JOIN welfare.zone z ON z.zone_id = res.zone_id
  JOIN welfare.target t ON t.target_id = res.target_id
  JOIN welfare.service_type st ON st.service_type_id = res.service_type_id
  CROSS JOIN LATERAL (SELECT public.ST_Transform(public.ST_PointOnSurface(z.geom), 4326) AS pt) c
 WHERE res.published;

COMMENT ON VIEW welfare_bi.accessibility IS
    'zone x target accessibility to a service type, latest run per service type, level, period '
    'and method; demand suppressed below the threshold and rounded (settings suppress_below, '
    'round_to), values over too small a demand hidden, sensitive targets only at fixed geographies';
COMMENT ON COLUMN welfare_bi.accessibility.run_id IS 'run that produced the row (welfare.run)';
COMMENT ON COLUMN welfare_bi.accessibility.computed_at IS 'when the run finished';
COMMENT ON COLUMN welfare_bi.accessibility.zone_id IS 'zone code (embeds the ISTAT municipality code)';
COMMENT ON COLUMN welfare_bi.accessibility.zone_name IS 'zone name';
COMMENT ON COLUMN welfare_bi.accessibility.zone_level IS 'section, neighbourhood, district or city';
COMMENT ON COLUMN welfare_bi.accessibility.parent_id IS 'zone of the next coarser level';
COMMENT ON COLUMN welfare_bi.accessibility.municipality_code IS 'ISTAT municipality code';
COMMENT ON COLUMN welfare_bi.accessibility.period IS 'year of the demand and of the open facilities';
COMMENT ON COLUMN welfare_bi.accessibility.service_type_id IS 'service type code';
COMMENT ON COLUMN welfare_bi.accessibility.service_type_name IS 'service type name';
COMMENT ON COLUMN welfare_bi.accessibility.capacity_unit IS 'unit of the service capacity (places, beds ...)';
COMMENT ON COLUMN welfare_bi.accessibility.target_id IS 'target group code (a target the service type serves)';
COMMENT ON COLUMN welfare_bi.accessibility.target_name IS 'target group name';
COMMENT ON COLUMN welfare_bi.accessibility.unit IS 'persons or households';
COMMENT ON COLUMN welfare_bi.accessibility.method IS
    '2sfca (two-step floating catchment), 3sfca (three-step, with selection weights) or gravity';
COMMENT ON COLUMN welfare_bi.accessibility.demand IS 'persons or households of the target in the zone (rounded to 5; NULL when 1-7)';
COMMENT ON COLUMN welfare_bi.accessibility.access IS
    '2sfca/3sfca: capacity within reach per 100 of demand, sharing each facility among all '
    'the demand in its catchment; gravity: decay-weighted capacity within max_cost; '
    'demand-weighted mean over the zone; NULL when demand is 0 or small';
COMMENT ON COLUMN welfare_bi.accessibility.nearest_cost IS
    'cost (cost_unit) to the nearest open facility of the type, demand-weighted mean over the zone';
COMMENT ON COLUMN welfare_bi.accessibility.share_within IS
    'share (0-1) of the demand living within max_cost of a facility of the type';
COMMENT ON COLUMN welfare_bi.accessibility.max_cost IS 'catchment: largest cost counted (inclusive)';
COMMENT ON COLUMN welfare_bi.accessibility.cost_unit IS 'm (metres, straight line) or min (minutes at the service type''s travel speed)';
COMMENT ON COLUMN welfare_bi.accessibility.null_reason IS 'why values are NULL';
COMMENT ON COLUMN welfare_bi.accessibility.lat IS 'latitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.accessibility.lon IS 'longitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.accessibility.geojson IS 'zone boundary as GeoJSON (WGS84)';

