-- Issue 9, disclosure gaps found by the audit and by review:
-- * complementary (secondary) suppression of zone-indicator counts: a count
--   suppressed to protect a small one nearby (welfare_core.privacy_audit.
--   complementary_suppression); the differencing audit reads it as any value >= 0;
-- * the direction of a published scenario row read from the published change.

ALTER TABLE welfare.zone_indicator_result
    ADD COLUMN demand_complementary boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN welfare.zone_indicator_result.demand_complementary IS
    'demand_pub suppressed as a complementary cell (not small itself: hidden so that a '
    'small count nearby cannot be recovered by differencing)';

ALTER TABLE welfare.zone_service_result
    ADD COLUMN reference_population_complementary boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN welfare.zone_service_result.reference_population_complementary IS
    'reference_population_pub suppressed as a complementary cell (the same count as the '
    'reference target''s demand, suppressed with it)';

ALTER TABLE welfare.scenario_result
    ADD COLUMN direction_pub text CONSTRAINT scenario_result_direction_pub_check
        CHECK (direction_pub IN ('gain', 'loss', 'none'));
COMMENT ON COLUMN welfare.scenario_result.direction_pub IS
    'gain, loss or none read from the published change (change_pub); NULL when it is hidden';

-- rows of earlier runs: the same rule as welfare_core.scenario_compare.published_direction
UPDATE welfare.scenario_result
   SET direction_pub = CASE
       WHEN change_pub IS NULL THEN NULL
       WHEN abs(change_pub) <= 1e-9 * greatest(abs(coalesce(base_pub, 0)),
                                               abs(coalesce(scenario_pub, 0)), 1) THEN 'none'
       WHEN (CASE WHEN measure IN ('demand', 'gap') THEN -1 ELSE 1 END) * change_pub > 0
           THEN 'gain'
       ELSE 'loss' END;
