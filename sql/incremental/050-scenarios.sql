-- Scenarios: named what-if changes owned by an analyst, private or shared,
-- on the current data or on another scenario; and the results of their runs.
-- Row-level security: an analyst sees her own scenarios and the shared ones,
-- and changes only her own (shared scenarios are read-only to others).
-- Superusers and the owner of the tables bypass row-level security.

CREATE TABLE welfare.scenario (
    scenario_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CONSTRAINT scenario_name_check CHECK (name <> ''),
    description text,
    owner text NOT NULL DEFAULT current_user,
    created timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    shared boolean NOT NULL DEFAULT false,
    base_scenario_id bigint REFERENCES welfare.scenario (scenario_id) ON DELETE RESTRICT,
    CONSTRAINT scenario_base_check CHECK (base_scenario_id IS DISTINCT FROM scenario_id)
);
COMMENT ON TABLE welfare.scenario IS
    'what-if scenarios: a named list of changes (welfare.scenario_change) on the current data '
    'or on a base scenario; private to the owner unless shared (read-only to others)';
COMMENT ON COLUMN welfare.scenario.scenario_id IS 'scenario number';
COMMENT ON COLUMN welfare.scenario.name IS 'short name';
COMMENT ON COLUMN welfare.scenario.description IS 'what the scenario tries, for colleagues';
COMMENT ON COLUMN welfare.scenario.owner IS 'database role that owns it; only the owner changes it';
COMMENT ON COLUMN welfare.scenario.created IS 'when it was created';
COMMENT ON COLUMN welfare.scenario.shared IS 'true: every analyst can read, copy and run it; false: private';
COMMENT ON COLUMN welfare.scenario.base_scenario_id IS 'scenario whose changes apply first; NULL = the current data';
SELECT pg_catalog.pg_extension_config_dump('welfare.scenario', '');
SELECT pg_catalog.pg_extension_config_dump('welfare.scenario_scenario_id_seq', '');

CREATE TABLE welfare.scenario_change (
    change_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scenario_id bigint NOT NULL REFERENCES welfare.scenario (scenario_id) ON DELETE CASCADE,
    kind text NOT NULL CONSTRAINT scenario_change_kind_check
        CHECK (kind IN ('open', 'close', 'move', 'capacity', 'demand', 'catchment', 'adopt')),
    params jsonb NOT NULL DEFAULT '{}'::jsonb,
    created timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
CREATE INDEX scenario_change_scenario_idx ON welfare.scenario_change (scenario_id, change_id);
COMMENT ON TABLE welfare.scenario_change IS
    'changes of a scenario, applied in change_id order (kinds and parameters: welfare_core.scenario)';
COMMENT ON COLUMN welfare.scenario_change.change_id IS 'change number; changes apply in this order';
COMMENT ON COLUMN welfare.scenario_change.scenario_id IS 'scenario it belongs to';
COMMENT ON COLUMN welfare.scenario_change.kind IS 'open, close, move, capacity, demand, catchment or adopt';
COMMENT ON COLUMN welfare.scenario_change.params IS 'parameters of the change, validated by welfare.add_scenario_change';
COMMENT ON COLUMN welfare.scenario_change.created IS 'when it was added';
SELECT pg_catalog.pg_extension_config_dump('welfare.scenario_change', '');
SELECT pg_catalog.pg_extension_config_dump('welfare.scenario_change_change_id_seq', '');

CREATE TABLE welfare.scenario_result (
    run_id bigint NOT NULL REFERENCES welfare.run (run_id) ON DELETE CASCADE,
    scenario_id bigint NOT NULL REFERENCES welfare.scenario (scenario_id) ON DELETE CASCADE,
    compared_to bigint REFERENCES welfare.scenario (scenario_id) ON DELETE CASCADE,
    zone_id text NOT NULL,
    level text NOT NULL,
    parent_id text,
    period integer NOT NULL,
    target_id text NOT NULL,
    measure text NOT NULL,
    base double precision,
    scenario double precision,
    change double precision,
    change_pct double precision,
    direction text CONSTRAINT scenario_result_direction_check CHECK (direction IN ('gain', 'loss', 'none')),
    demand_effect double precision,
    supply_effect double precision,
    catchment_effect double precision,
    null_reason text,
    published boolean NOT NULL,
    base_pub double precision,
    scenario_pub double precision,
    change_pub double precision,
    change_pct_pub double precision,
    PRIMARY KEY (run_id, zone_id, target_id, measure)
);
CREATE INDEX scenario_result_scenario_idx ON welfare.scenario_result (scenario_id);
COMMENT ON TABLE welfare.scenario_result IS
    'zone x target x measure comparison of each scenario run with its Shapley decomposition '
    '(raw for analysts, *_pub for publication)';
COMMENT ON COLUMN welfare.scenario_result.run_id IS 'run that produced the row (welfare.run)';
COMMENT ON COLUMN welfare.scenario_result.scenario_id IS 'scenario that was run';
COMMENT ON COLUMN welfare.scenario_result.compared_to IS 'scenario it is compared with; NULL = the current data';
COMMENT ON COLUMN welfare.scenario_result.zone_id IS 'zone';
COMMENT ON COLUMN welfare.scenario_result.level IS 'level of the zone';
COMMENT ON COLUMN welfare.scenario_result.parent_id IS 'zone of the next coarser level';
COMMENT ON COLUMN welfare.scenario_result.period IS 'year';
COMMENT ON COLUMN welfare.scenario_result.target_id IS 'target';
COMMENT ON COLUMN welfare.scenario_result.measure IS 'demand, supply, coverage_per_100, gap or access (welfare_core.scenario_compare)';
COMMENT ON COLUMN welfare.scenario_result.base IS 'value without the scenario (or in compared_to)';
COMMENT ON COLUMN welfare.scenario_result.scenario IS 'value with the scenario';
COMMENT ON COLUMN welfare.scenario_result.change IS 'scenario - base';
COMMENT ON COLUMN welfare.scenario_result.change_pct IS 'change / |base| x 100; NULL when base is 0';
COMMENT ON COLUMN welfare.scenario_result.direction IS 'gain, loss or none for the people of the zone (a smaller gap or demand is a gain)';
COMMENT ON COLUMN welfare.scenario_result.demand_effect IS 'part of the change due to demand (Shapley value over demand, supply, catchment)';
COMMENT ON COLUMN welfare.scenario_result.supply_effect IS 'part of the change due to supply: facilities opened, closed, moved, resized';
COMMENT ON COLUMN welfare.scenario_result.catchment_effect IS 'part of the change due to catchment size and distance decay';
COMMENT ON COLUMN welfare.scenario_result.null_reason IS 'why a value is NULL';
COMMENT ON COLUMN welfare.scenario_result.published IS 'false for sensitive targets below the published geographies';
COMMENT ON COLUMN welfare.scenario_result.base_pub IS 'base as published (counts suppressed and rounded, rates hidden for small demand)';
COMMENT ON COLUMN welfare.scenario_result.scenario_pub IS 'scenario value as published';
COMMENT ON COLUMN welfare.scenario_result.change_pub IS 'change as published; NULL when either value is hidden';
COMMENT ON COLUMN welfare.scenario_result.change_pct_pub IS 'percentage change as published';
SELECT pg_catalog.pg_extension_config_dump('welfare.scenario_result', '');

ALTER TABLE welfare.scenario ENABLE ROW LEVEL SECURITY;
CREATE POLICY scenario_read ON welfare.scenario FOR SELECT
    USING (owner = current_user OR shared);
CREATE POLICY scenario_insert ON welfare.scenario FOR INSERT
    WITH CHECK (owner = current_user);
CREATE POLICY scenario_update ON welfare.scenario FOR UPDATE
    USING (owner = current_user) WITH CHECK (owner = current_user);
CREATE POLICY scenario_delete ON welfare.scenario FOR DELETE
    USING (owner = current_user);

ALTER TABLE welfare.scenario_change ENABLE ROW LEVEL SECURITY;
CREATE POLICY scenario_change_read ON welfare.scenario_change FOR SELECT
    USING (EXISTS (SELECT 1 FROM welfare.scenario s WHERE s.scenario_id = scenario_change.scenario_id));
CREATE POLICY scenario_change_write ON welfare.scenario_change FOR ALL
    USING (EXISTS (SELECT 1 FROM welfare.scenario s WHERE s.scenario_id = scenario_change.scenario_id
                   AND s.owner = current_user))
    WITH CHECK (EXISTS (SELECT 1 FROM welfare.scenario s
                        WHERE s.scenario_id = scenario_change.scenario_id AND s.owner = current_user));

ALTER TABLE welfare.scenario_result ENABLE ROW LEVEL SECURITY;
CREATE POLICY scenario_result_read ON welfare.scenario_result FOR SELECT
    USING (EXISTS (SELECT 1 FROM welfare.scenario s WHERE s.scenario_id = scenario_result.scenario_id));
CREATE POLICY scenario_result_insert ON welfare.scenario_result FOR INSERT
    WITH CHECK (EXISTS (SELECT 1 FROM welfare.scenario s
                        WHERE s.scenario_id = scenario_result.scenario_id));
