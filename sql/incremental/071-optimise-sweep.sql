-- Trade-off curves of welfare.run_sweep_locations, keyed by run id: one row per
-- number of new sites (0 .. max_new) with the objective, the coverage and the
-- marginal gain over the previous row. (Closure runs, welfare.run_closure_plan,
-- use welfare.optimise_site, optimise_allocation and optimise_summary.)

CREATE TABLE welfare.optimise_sweep (
    run_id bigint NOT NULL REFERENCES welfare.run (run_id) ON DELETE CASCADE,
    new_sites integer NOT NULL,
    model text NOT NULL,
    p integer NOT NULL,
    objective double precision NOT NULL,
    covered double precision NOT NULL,
    coverage_pct double precision,
    gain double precision,
    status text NOT NULL,
    gap double precision,
    new_site_ids text[] NOT NULL,
    seconds double precision NOT NULL,
    PRIMARY KEY (run_id, new_sites)
);
COMMENT ON TABLE welfare.optimise_sweep IS
    'trade-off curve of each sweep run (welfare.run_sweep_locations): one row per number of new sites';
COMMENT ON COLUMN welfare.optimise_sweep.run_id IS 'run (welfare.run, kind sweep_locations)';
COMMENT ON COLUMN welfare.optimise_sweep.new_sites IS 'candidate sites opened at this point of the curve (0 .. max_new)';
COMMENT ON COLUMN welfare.optimise_sweep.model IS 'mclp or p_median';
COMMENT ON COLUMN welfare.optimise_sweep.p IS 'open sites in total (existing facilities + new_sites)';
COMMENT ON COLUMN welfare.optimise_sweep.objective IS
    'the model''s objective: covered demand (mclp) or total demand-weighted cost (p_median)';
COMMENT ON COLUMN welfare.optimise_sweep.covered IS
    'demand within max_cost of an open site (capacitated mclp: the share the capacities serve)';
COMMENT ON COLUMN welfare.optimise_sweep.coverage_pct IS 'covered as a percentage of the total demand (NULL when it is zero)';
COMMENT ON COLUMN welfare.optimise_sweep.gain IS
    'improvement over the previous row: demand added (mclp) or cost saved (p_median); NULL on the first row';
COMMENT ON COLUMN welfare.optimise_sweep.status IS 'optimal (proven) or time_limit (best found when the limit stopped the solver)';
COMMENT ON COLUMN welfare.optimise_sweep.gap IS 'relative gap objective vs bound; 0 when proven optimal';
COMMENT ON COLUMN welfare.optimise_sweep.new_site_ids IS 'site_id of the candidate sites opened (welfare.candidate_site)';
COMMENT ON COLUMN welfare.optimise_sweep.seconds IS 'wall time of this point''s model build and solve';
SELECT pg_catalog.pg_extension_config_dump('welfare.optimise_sweep', '');
