-- BI view over the latest run of every shared scenario per comparison, level
-- and period. Private scenarios never appear (the view runs with its owner's
-- rights, so it filters on shared itself). Only published values.
DROP VIEW IF EXISTS welfare_bi.scenario_comparison;
CREATE VIEW welfare_bi.scenario_comparison AS
WITH latest AS (
    SELECT run_id, finished_at, parameters, service_type_id
      FROM welfare.bi_latest_run WHERE kind = 'scenario'
)
SELECT res.run_id,
       l.finished_at AS computed_at,
       res.scenario_id,
       s.name AS scenario_name,
       s.owner AS scenario_owner,
       res.compared_to,
       res.zone_id,
       z.name AS zone_name,
       res.level AS zone_level,
       res.parent_id,
       z.municipality_code,
       res.period,
       res.target_id,
       t.name AS target_name,
       res.measure,
       res.base_pub AS base,
       res.scenario_pub AS scenario,
       res.change_pub AS change,
       res.change_pct_pub AS change_pct,
       res.direction_pub AS direction,
       res.demand_effect_pub AS demand_effect,
       res.supply_effect_pub AS supply_effect,
       res.catchment_effect_pub AS catchment_effect,
       res.null_reason,
       public.ST_Y(c.pt) AS lat,
       public.ST_X(c.pt) AS lon,
       public.ST_AsGeoJSON(public.ST_Transform(z.geom, 4326), 6) AS geojson
  FROM latest l
  JOIN welfare.scenario_result res ON res.run_id = l.run_id
  JOIN welfare.scenario s ON s.scenario_id = res.scenario_id AND s.shared
  LEFT JOIN welfare.scenario cs ON cs.scenario_id = res.compared_to
  JOIN welfare.zone z ON z.zone_id = res.zone_id
  JOIN welfare.target t ON t.target_id = res.target_id
  CROSS JOIN LATERAL (SELECT public.ST_Transform(public.ST_PointOnSurface(z.geom), 4326) AS pt) c
 WHERE res.published AND (res.compared_to IS NULL OR cs.shared);

COMMENT ON VIEW welfare_bi.scenario_comparison IS
    'shared what-if scenarios compared with the current data (or another shared scenario), per '
    'zone, target and measure, latest run per level and period; counts suppressed below the '
    'threshold and rounded, rates hidden for small demand, sensitive targets only at fixed geographies';
COMMENT ON COLUMN welfare_bi.scenario_comparison.run_id IS 'run that produced the row (welfare.run)';
COMMENT ON COLUMN welfare_bi.scenario_comparison.computed_at IS 'when the run finished';
COMMENT ON COLUMN welfare_bi.scenario_comparison.scenario_id IS 'scenario number';
COMMENT ON COLUMN welfare_bi.scenario_comparison.scenario_name IS 'scenario name';
COMMENT ON COLUMN welfare_bi.scenario_comparison.scenario_owner IS 'analyst who owns the scenario';
COMMENT ON COLUMN welfare_bi.scenario_comparison.compared_to IS 'scenario it is compared with; NULL = the current data';
COMMENT ON COLUMN welfare_bi.scenario_comparison.zone_id IS 'zone code (embeds the ISTAT municipality code)';
COMMENT ON COLUMN welfare_bi.scenario_comparison.zone_name IS 'zone name';
COMMENT ON COLUMN welfare_bi.scenario_comparison.zone_level IS 'section, neighbourhood, district or city';
COMMENT ON COLUMN welfare_bi.scenario_comparison.parent_id IS 'zone of the next coarser level';
COMMENT ON COLUMN welfare_bi.scenario_comparison.municipality_code IS 'ISTAT municipality code';
COMMENT ON COLUMN welfare_bi.scenario_comparison.period IS 'year';
COMMENT ON COLUMN welfare_bi.scenario_comparison.target_id IS 'target group code';
COMMENT ON COLUMN welfare_bi.scenario_comparison.target_name IS 'target group name';
COMMENT ON COLUMN welfare_bi.scenario_comparison.measure IS 'demand, supply, coverage_per_100, gap or access (accessible supply per 100 of demand)';
COMMENT ON COLUMN welfare_bi.scenario_comparison.base IS 'value without the scenario (published)';
COMMENT ON COLUMN welfare_bi.scenario_comparison.scenario IS 'value with the scenario (published)';
COMMENT ON COLUMN welfare_bi.scenario_comparison.change IS 'scenario - base; NULL when either is hidden';
COMMENT ON COLUMN welfare_bi.scenario_comparison.change_pct IS 'change as a percentage of the base';
COMMENT ON COLUMN welfare_bi.scenario_comparison.direction IS 'gain, loss or none for the people of the zone';
COMMENT ON COLUMN welfare_bi.scenario_comparison.demand_effect IS 'part of the change due to demand (Shapley decomposition); for the demand measure the three parts are rounded like counts and sum exactly to change; NULL when change is';
COMMENT ON COLUMN welfare_bi.scenario_comparison.supply_effect IS 'part of the change due to facilities opened, closed, moved or resized';
COMMENT ON COLUMN welfare_bi.scenario_comparison.catchment_effect IS 'part of the change due to catchment size and distance decay';
COMMENT ON COLUMN welfare_bi.scenario_comparison.null_reason IS 'why a value is NULL';
COMMENT ON COLUMN welfare_bi.scenario_comparison.lat IS 'latitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.scenario_comparison.lon IS 'longitude (WGS84) of a point inside the zone';
COMMENT ON COLUMN welfare_bi.scenario_comparison.geojson IS 'zone boundary as GeoJSON (WGS84)';
