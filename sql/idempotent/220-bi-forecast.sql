-- BI view over the latest demand-forecast run per target, level and method.
-- Only published values (welfare_core.privacy); plain types, no PostGIS.
DROP VIEW IF EXISTS welfare_bi.demand_forecast;
CREATE VIEW welfare_bi.demand_forecast AS
WITH latest AS (
    SELECT run_id, finished_at, parameters, service_type_id
      FROM welfare.bi_latest_run WHERE kind = 'forecast_demand'
)
SELECT res.run_id,
       l.finished_at AS computed_at,
       res.zone_id,
       z.name AS zone_name,
       res.level AS zone_level,
       z.parent_id,
       z.municipality_code,
       res.target_id,
       t.name AS target_name,
       res.unit,
       res.period,
       res.base_period,
       res.period = res.base_period AS observed,
       res.demand_pub AS demand,
       res.lower_pub AS lower,
       res.upper_pub AS upper,
       res.method,
       res.note,
       public.ST_Y(c.pt) AS lat,
       public.ST_X(c.pt) AS lon,
       public.ST_AsGeoJSON(public.ST_Transform(z.geom, 4326), 6) AS geojson
  FROM latest l
  JOIN welfare.forecast_result res ON res.run_id = l.run_id
  JOIN welfare.zone z ON z.zone_id = res.zone_id
  JOIN welfare.target t ON t.target_id = res.target_id
  CROSS JOIN LATERAL (SELECT public.ST_Transform(public.ST_PointOnSurface(z.geom), 4326) AS pt) c
 WHERE res.published;

COMMENT ON VIEW welfare_bi.demand_forecast IS
    'projected demand per zone, target and year of the latest forecast run per target, level '
    'and method, with its prediction interval; counts suppressed below the threshold and '
    'rounded (setting suppress_below, round_to), sensitive targets only at fixed geographies';
COMMENT ON COLUMN welfare_bi.demand_forecast.run_id IS 'run that produced the row (welfare.run)';
COMMENT ON COLUMN welfare_bi.demand_forecast.computed_at IS 'when the run finished';
COMMENT ON COLUMN welfare_bi.demand_forecast.zone_id IS 'zone code (embeds the ISTAT municipality code)';
COMMENT ON COLUMN welfare_bi.demand_forecast.zone_name IS 'zone name';
COMMENT ON COLUMN welfare_bi.demand_forecast.zone_level IS 'section, neighbourhood, district or city';
COMMENT ON COLUMN welfare_bi.demand_forecast.parent_id IS 'zone of the next coarser level';
COMMENT ON COLUMN welfare_bi.demand_forecast.municipality_code IS 'ISTAT municipality code';
COMMENT ON COLUMN welfare_bi.demand_forecast.target_id IS 'target group code';
COMMENT ON COLUMN welfare_bi.demand_forecast.target_name IS 'target group name';
COMMENT ON COLUMN welfare_bi.demand_forecast.unit IS 'persons or households';
COMMENT ON COLUMN welfare_bi.demand_forecast.period IS 'year (1 January)';
COMMENT ON COLUMN welfare_bi.demand_forecast.base_period IS 'last observed year the projection starts from';
COMMENT ON COLUMN welfare_bi.demand_forecast.observed IS 'true for the base year (an observed value, not a projection)';
COMMENT ON COLUMN welfare_bi.demand_forecast.demand IS 'projected persons or households of the target (rounded to 5; NULL when 1-7)';
COMMENT ON COLUMN welfare_bi.demand_forecast.lower IS 'lower bound of the prediction interval (rounded; NULL when 1-7 or not measurable)';
COMMENT ON COLUMN welfare_bi.demand_forecast.upper IS 'upper bound of the prediction interval (rounded; NULL when 1-7 or not measurable)';
COMMENT ON COLUMN welfare_bi.demand_forecast.method IS 'hamilton_perry, linear, log_linear or share_of_city';
COMMENT ON COLUMN welfare_bi.demand_forecast.note IS 'how the projection and its interval were made';
COMMENT ON COLUMN welfare_bi.demand_forecast.lat IS 'latitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.demand_forecast.lon IS 'longitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.demand_forecast.geojson IS 'zone boundary as GeoJSON (WGS84)';

