-- Accessibility columns of the zone x service type indicators (issue 5): the
-- floating-catchment values of welfare_core.indicators._service_access, raw for
-- analysts and *_pub as published (hidden as coverage is: they are means over
-- the reference population). Rows stored before 0.1.1 keep NULL.

ALTER TABLE welfare.zone_service_result
    ADD COLUMN access_per_100 double precision,
    ADD COLUMN nearest_cost double precision,
    ADD COLUMN share_within double precision,
    ADD COLUMN access_pub double precision,
    ADD COLUMN nearest_cost_pub double precision,
    ADD COLUMN share_within_pub double precision;

COMMENT ON COLUMN welfare.zone_service_result.access_per_100 IS
    'capacity of the type reachable per 100 of the reference population (2SFCA in the type''s catchment, across zone borders), demand-weighted mean of the sections'' values';
COMMENT ON COLUMN welfare.zone_service_result.nearest_cost IS
    'cost to the nearest open facility of the type, in the type''s cost unit, demand-weighted mean of the sections'' values';
COMMENT ON COLUMN welfare.zone_service_result.share_within IS
    'share (0-1) of the reference population with a facility of the type within max_cost';
COMMENT ON COLUMN welfare.zone_service_result.access_pub IS 'access_per_100 as published (hidden for small reference populations)';
COMMENT ON COLUMN welfare.zone_service_result.nearest_cost_pub IS 'nearest_cost as published (hidden for small reference populations)';
COMMENT ON COLUMN welfare.zone_service_result.share_within_pub IS 'share_within as published (hidden for small reference populations)';
