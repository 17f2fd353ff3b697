-- Published Shapley parts of scenario comparisons (issue #7): the parts of a
-- published demand change are counts too, so they are stored rounded by
-- controlled rounding (welfare_core.privacy.controlled_round_parts: they sum
-- exactly to change_pub) and hidden with it; welfare_bi.scenario_comparison
-- reads these columns instead of the raw parts. NULL in rows stored by runs
-- before 0.1.1: run the scenario again to publish its parts.

ALTER TABLE welfare.scenario_result
    ADD COLUMN demand_effect_pub double precision,
    ADD COLUMN supply_effect_pub double precision,
    ADD COLUMN catchment_effect_pub double precision;
COMMENT ON COLUMN welfare.scenario_result.demand_effect_pub IS
    'demand_effect as published: NULL when change_pub is; for the demand measure rounded '
    'with the other parts so that the three sum exactly to change_pub';
COMMENT ON COLUMN welfare.scenario_result.supply_effect_pub IS
    'supply_effect as published (see demand_effect_pub)';
COMMENT ON COLUMN welfare.scenario_result.catchment_effect_pub IS
    'catchment_effect as published (see demand_effect_pub)';
