-- Who a run is published to (issue 9). welfare.bi_run (190-bi-runs.sql) shows a run
-- of audience caller in the welfare_bi views to the role that ran it only:
--   - a provider's run (welfare.run_published), so a third party cannot replace
--     the city's published figures by running an analysis with other parameters;
--   - a run that counted unpublished facilities (setting
--     welfare.count_unpublished_facilities), whose figures could give away a
--     facility that is not public, e.g. a shelter with a confidential address.
ALTER TABLE welfare.run
    ADD COLUMN audience text NOT NULL DEFAULT 'everyone'
        CONSTRAINT run_audience_check CHECK (audience IN ('everyone', 'caller'));
COMMENT ON COLUMN welfare.run.audience IS
    'who sees the run in the welfare_bi views: everyone, or only the role that ran it '
    '(caller: runs through welfare.run_published and runs that counted unpublished facilities)';

-- Before 0.1.2 a provider's run was logged with published_facilities_only, and every
-- other run counted the unpublished facilities: where there are any, those runs
-- (all but forecasts, which read no facility) stop being shown to everyone.
UPDATE welfare.run SET audience = 'caller'
 WHERE parameters @> '{"published_facilities_only": true}'::jsonb
    OR (kind <> 'forecast_demand'
        AND EXISTS (SELECT 1 FROM welfare.facility f WHERE NOT f.published));
