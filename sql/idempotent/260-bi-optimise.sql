-- BI views over the stored optimisation runs (welfare.run_optimise_locations,
-- welfare.run_allocate_capacity): every finished run, sites with lat/lon and a
-- summary with percentages. No demand counts per site or zone (those are
-- analyst-only in welfare.optimise_*); plain types, no PostGIS.
DROP VIEW IF EXISTS welfare_bi.optimise_sites;
CREATE VIEW welfare_bi.optimise_sites AS
SELECT s.run_id,
       r.finished_at AS computed_at,
       r.kind AS run_kind,
       sm.model,
       sm.service_type_id,
       st.name AS service_type_name,
       st.capacity_unit,
       sm.period,
       s.site_id,
       s.kind AS site_kind,
       s.name AS site_name,
       s.chosen,
       (s.kind = 'candidate' AND s.chosen) AS new_site,
       s.capacity,
       s.added_capacity,
       public.ST_Y(c.pt) AS lat,
       public.ST_X(c.pt) AS lon
  FROM welfare.optimise_site s
  JOIN welfare.bi_run r ON r.run_id = s.run_id
  JOIN welfare.optimise_summary sm ON sm.run_id = s.run_id
  JOIN welfare.service_type st ON st.service_type_id = sm.service_type_id
  CROSS JOIN LATERAL (SELECT public.ST_Transform(public.ST_SetSRID(public.ST_MakePoint(s.x, s.y),
      (SELECT COALESCE(o.value, v.value)::integer FROM welfare.setting v
        LEFT JOIN welfare.setting_override o ON o.name = v.name WHERE v.name = 'srid')), 4326) AS pt) c
 -- an analyst's run also counts unpublished facilities (drafts): their names and places stay out
 WHERE s.kind = 'candidate'
    OR EXISTS (SELECT 1 FROM welfare.facility f WHERE f.facility_id = s.site_id AND f.published);
COMMENT ON VIEW welfare_bi.optimise_sites IS
    'sites of every finished optimisation run (published facilities and candidate sites; an '
    'unpublished facility the run counted is left out), chosen or not, with the capacity added; '
    'no demand counts';
COMMENT ON COLUMN welfare_bi.optimise_sites.run_id IS 'run that produced the row (welfare.run)';
COMMENT ON COLUMN welfare_bi.optimise_sites.computed_at IS 'when the run finished';
COMMENT ON COLUMN welfare_bi.optimise_sites.run_kind IS 'optimise_locations or allocate_capacity';
COMMENT ON COLUMN welfare_bi.optimise_sites.model IS 'mclp, p_median, p_center, equity or allocate_capacity';
COMMENT ON COLUMN welfare_bi.optimise_sites.service_type_id IS 'service type code';
COMMENT ON COLUMN welfare_bi.optimise_sites.service_type_name IS 'service type name';
COMMENT ON COLUMN welfare_bi.optimise_sites.capacity_unit IS 'unit of capacity (places, beds, ...)';
COMMENT ON COLUMN welfare_bi.optimise_sites.period IS 'year of the demand and of the active facilities';
COMMENT ON COLUMN welfare_bi.optimise_sites.site_id IS 'facility or candidate site code';
COMMENT ON COLUMN welfare_bi.optimise_sites.site_kind IS 'existing or candidate';
COMMENT ON COLUMN welfare_bi.optimise_sites.site_name IS 'display name';
COMMENT ON COLUMN welfare_bi.optimise_sites.chosen IS 'open in the solution (allocate_capacity: capacity added)';
COMMENT ON COLUMN welfare_bi.optimise_sites.new_site IS 'a candidate site chosen to open';
COMMENT ON COLUMN welfare_bi.optimise_sites.capacity IS 'capacity in place (existing) or the most a candidate can host';
COMMENT ON COLUMN welfare_bi.optimise_sites.added_capacity IS 'capacity the solution adds at the site';
COMMENT ON COLUMN welfare_bi.optimise_sites.lat IS 'latitude (WGS84)';
COMMENT ON COLUMN welfare_bi.optimise_sites.lon IS 'longitude (WGS84)';

DROP VIEW IF EXISTS welfare_bi.optimise_summary;
CREATE VIEW welfare_bi.optimise_summary AS
SELECT sm.run_id,
       r.finished_at AS computed_at,
       r.kind AS run_kind,
       sm.model,
       sm.service_type_id,
       st.name AS service_type_name,
       sm.period,
       sm.existing_sites,
       sm.new_sites,
       sm.max_cost,
       sm.cost_unit,
       sm.coverage_pct_before,
       sm.coverage_pct_after,
       sm.mean_cost_before,
       sm.mean_cost_after,
       sm.budget,
       sm.spend,
       sm.status,
       sm.gap,
       sm.solver
  FROM welfare.optimise_summary sm
  JOIN welfare.bi_run r ON r.run_id = sm.run_id
  JOIN welfare.service_type st ON st.service_type_id = sm.service_type_id;
COMMENT ON VIEW welfare_bi.optimise_summary IS
    'one row per finished optimisation run: coverage before/after (percentages), spend and the solver''s proof';
COMMENT ON COLUMN welfare_bi.optimise_summary.run_id IS 'run (welfare.run)';
COMMENT ON COLUMN welfare_bi.optimise_summary.computed_at IS 'when the run finished';
COMMENT ON COLUMN welfare_bi.optimise_summary.run_kind IS 'optimise_locations or allocate_capacity';
COMMENT ON COLUMN welfare_bi.optimise_summary.model IS 'mclp, p_median, p_center, equity or allocate_capacity';
COMMENT ON COLUMN welfare_bi.optimise_summary.service_type_id IS 'service type code';
COMMENT ON COLUMN welfare_bi.optimise_summary.service_type_name IS 'service type name';
COMMENT ON COLUMN welfare_bi.optimise_summary.period IS 'year of the demand and of the active facilities';
COMMENT ON COLUMN welfare_bi.optimise_summary.existing_sites IS 'facilities of the type kept open';
COMMENT ON COLUMN welfare_bi.optimise_summary.new_sites IS 'candidate sites opened';
COMMENT ON COLUMN welfare_bi.optimise_summary.max_cost IS 'coverage cutoff (inclusive)';
COMMENT ON COLUMN welfare_bi.optimise_summary.cost_unit IS 'm or min';
COMMENT ON COLUMN welfare_bi.optimise_summary.coverage_pct_before IS 'share (%) of demand covered (served) before';
COMMENT ON COLUMN welfare_bi.optimise_summary.coverage_pct_after IS 'share (%) of demand covered (served) with the solution';
COMMENT ON COLUMN welfare_bi.optimise_summary.mean_cost_before IS 'demand-weighted mean cost to the nearest facility before';
COMMENT ON COLUMN welfare_bi.optimise_summary.mean_cost_after IS 'the same with the solution';
COMMENT ON COLUMN welfare_bi.optimise_summary.budget IS 'allocate_capacity: budget';
COMMENT ON COLUMN welfare_bi.optimise_summary.spend IS 'allocate_capacity: budget spent';
COMMENT ON COLUMN welfare_bi.optimise_summary.status IS 'optimal (proven) or time_limit';
COMMENT ON COLUMN welfare_bi.optimise_summary.gap IS 'relative gap to the proven bound (0 = optimal)';
COMMENT ON COLUMN welfare_bi.optimise_summary.solver IS 'solver name and version';

