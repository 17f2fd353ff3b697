-- Results of optimisation runs (welfare.run_optimise_locations,
-- welfare.run_allocate_capacity), keyed by run id: the sites considered (chosen
-- or not), the demand -> site allocation and one summary row with the solver's
-- proof (status, objective, bound, gap). Raw values, for analysts; welfare_bi
-- shows sites and summary percentages only.

CREATE TABLE welfare.optimise_site (
    run_id bigint NOT NULL REFERENCES welfare.run (run_id) ON DELETE CASCADE,
    site_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('existing', 'candidate')),
    name text,
    chosen boolean NOT NULL,
    x double precision NOT NULL,
    y double precision NOT NULL,
    capacity double precision,
    added_capacity double precision NOT NULL,
    demand_served double precision NOT NULL,
    n_points integer NOT NULL,
    PRIMARY KEY (run_id, site_id)
);
COMMENT ON TABLE welfare.optimise_site IS
    'sites of each optimisation run: existing facilities and candidate sites, chosen or not';
COMMENT ON COLUMN welfare.optimise_site.run_id IS 'run (welfare.run, kind optimise_locations or allocate_capacity)';
COMMENT ON COLUMN welfare.optimise_site.site_id IS 'facility_id of an existing facility or site_id of a candidate site';
COMMENT ON COLUMN welfare.optimise_site.kind IS 'existing (facility, always open) or candidate (candidate_site)';
COMMENT ON COLUMN welfare.optimise_site.name IS 'display name';
COMMENT ON COLUMN welfare.optimise_site.chosen IS
    'open in the solution (existing facilities always; allocate_capacity: capacity was added)';
COMMENT ON COLUMN welfare.optimise_site.x IS 'easting in the working SRID (metres)';
COMMENT ON COLUMN welfare.optimise_site.y IS 'northing in the working SRID (metres)';
COMMENT ON COLUMN welfare.optimise_site.capacity IS
    'capacity in place (existing) or the most a candidate can host (max_capacity); allocate_capacity: before the additions';
COMMENT ON COLUMN welfare.optimise_site.added_capacity IS
    'capacity added: a chosen candidate''s capacity, or the modules allocated by allocate_capacity';
COMMENT ON COLUMN welfare.optimise_site.demand_served IS 'demand (or need, for allocate_capacity) allocated to the site';
COMMENT ON COLUMN welfare.optimise_site.n_points IS 'demand points (zones) allocated to the site';

CREATE TABLE welfare.optimise_allocation (
    run_id bigint NOT NULL REFERENCES welfare.run (run_id) ON DELETE CASCADE,
    zone_id text NOT NULL,
    site_id text NOT NULL,
    demand double precision NOT NULL,
    cost double precision,
    share double precision NOT NULL,
    PRIMARY KEY (run_id, zone_id, site_id)
);
COMMENT ON TABLE welfare.optimise_allocation IS 'demand point (zone) -> site allocation of each optimisation run';
COMMENT ON COLUMN welfare.optimise_allocation.run_id IS 'run (welfare.run)';
COMMENT ON COLUMN welfare.optimise_allocation.zone_id IS 'zone carrying the demand (finest zone with demand)';
COMMENT ON COLUMN welfare.optimise_allocation.site_id IS 'site serving it (welfare.optimise_site)';
COMMENT ON COLUMN welfare.optimise_allocation.demand IS 'demand (need, for allocate_capacity) of the zone served by the site';
COMMENT ON COLUMN welfare.optimise_allocation.cost IS 'cost zone -> site in the service type''s unit';
COMMENT ON COLUMN welfare.optimise_allocation.share IS 'share (0-1) of the zone''s demand served by the site';

CREATE TABLE welfare.optimise_summary (
    run_id bigint PRIMARY KEY REFERENCES welfare.run (run_id) ON DELETE CASCADE,
    model text NOT NULL,
    service_type_id text NOT NULL,
    period integer NOT NULL,
    existing_sites integer NOT NULL,
    new_sites integer,
    p integer,
    max_cost double precision NOT NULL,
    cost_unit text NOT NULL,
    total_demand double precision NOT NULL,
    covered_before double precision,
    covered_after double precision,
    coverage_pct_before double precision,
    coverage_pct_after double precision,
    mean_cost_before double precision,
    mean_cost_after double precision,
    unmet_before double precision,
    unmet_after double precision,
    budget double precision,
    spend double precision,
    objective double precision NOT NULL,
    bound double precision,
    gap double precision,
    status text NOT NULL,
    solver text NOT NULL,
    seconds double precision NOT NULL
);
COMMENT ON TABLE welfare.optimise_summary IS 'one row per optimisation run: before/after and the solver''s proof';
COMMENT ON COLUMN welfare.optimise_summary.run_id IS 'run (welfare.run)';
COMMENT ON COLUMN welfare.optimise_summary.model IS 'mclp, p_median, p_center, equity or allocate_capacity';
COMMENT ON COLUMN welfare.optimise_summary.service_type_id IS 'service type optimised';
COMMENT ON COLUMN welfare.optimise_summary.period IS 'year of the demand and of the active facilities';
COMMENT ON COLUMN welfare.optimise_summary.existing_sites IS 'facilities of the type active in the period (kept open)';
COMMENT ON COLUMN welfare.optimise_summary.new_sites IS 'candidate sites opened';
COMMENT ON COLUMN welfare.optimise_summary.p IS 'open sites in total (existing + new); NULL for allocate_capacity';
COMMENT ON COLUMN welfare.optimise_summary.max_cost IS 'coverage / catchment cutoff (inclusive)';
COMMENT ON COLUMN welfare.optimise_summary.cost_unit IS 'm or min';
COMMENT ON COLUMN welfare.optimise_summary.total_demand IS 'demand (need, for allocate_capacity) of all demand points';
COMMENT ON COLUMN welfare.optimise_summary.covered_before IS 'demand within max_cost of an existing facility (allocate_capacity: served by the current capacity)';
COMMENT ON COLUMN welfare.optimise_summary.covered_after IS 'the same with the solution';
COMMENT ON COLUMN welfare.optimise_summary.coverage_pct_before IS 'covered_before as a percentage of total_demand';
COMMENT ON COLUMN welfare.optimise_summary.coverage_pct_after IS 'covered_after as a percentage of total_demand';
COMMENT ON COLUMN welfare.optimise_summary.mean_cost_before IS 'demand-weighted mean cost to the nearest existing facility';
COMMENT ON COLUMN welfare.optimise_summary.mean_cost_after IS 'demand-weighted mean cost to the nearest open site with the solution';
COMMENT ON COLUMN welfare.optimise_summary.unmet_before IS 'allocate_capacity: need no reachable capacity can serve now';
COMMENT ON COLUMN welfare.optimise_summary.unmet_after IS 'allocate_capacity: the same with the added capacity (minimised)';
COMMENT ON COLUMN welfare.optimise_summary.budget IS 'allocate_capacity: budget (unit of unit_cost)';
COMMENT ON COLUMN welfare.optimise_summary.spend IS 'allocate_capacity: budget spent';
COMMENT ON COLUMN welfare.optimise_summary.objective IS 'the model''s objective (covered demand, total cost, worst cost, worst gap or unmet need)';
COMMENT ON COLUMN welfare.optimise_summary.bound IS 'best bound the solver proved on the objective';
COMMENT ON COLUMN welfare.optimise_summary.gap IS 'relative gap objective vs bound; 0 when proven optimal';
COMMENT ON COLUMN welfare.optimise_summary.status IS 'optimal (proven) or time_limit (best found when the limit stopped the solver)';
COMMENT ON COLUMN welfare.optimise_summary.solver IS 'solver name and version';
COMMENT ON COLUMN welfare.optimise_summary.seconds IS 'wall time of the model build and solve';
SELECT pg_catalog.pg_extension_config_dump('welfare.optimise_site', '');
SELECT pg_catalog.pg_extension_config_dump('welfare.optimise_allocation', '');
SELECT pg_catalog.pg_extension_config_dump('welfare.optimise_summary', '');
