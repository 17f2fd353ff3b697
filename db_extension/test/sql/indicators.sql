-- Zone indicators through the SQL surface, on the two districts left by base.sql
-- (D1 x 510000-512000, D2 x 512000-514000; N3 is a child of D1 that spills over).
-- By hand: D1 has 300 residents 65+ of 1,000 and a 12-bed home; D2 100 of 1,000, no bed.
--   coverage D1 12/300*100 = 4, D2 0; gap D1 max(0, 2.82/100*300 - 12) = 0, D2 2.82
--   incidence D1 30, D2 10; city rate 400/2000 = 0.2, LQ D1 1.5, D2 0.5
BEGIN;
INSERT INTO welfare.target (target_id, name, unit, basis, definition, sensitive, polarity, source_id)
VALUES ('pop_65plus', 'Residents 65+', 'persons', 'prevalence', 'all residents 65+', false,
        'high_is_bad', 'test');
INSERT INTO welfare.service_type (service_type_id, name, capacity_unit, reference_target_id,
    standard_per_100, max_cost, cost_unit, travel_mode, decay, decay_param, source_id)
VALUES ('rsa', 'Nursing home', 'beds', 'pop_65plus', 2.82, 5000, 'm', 'car', 'none', NULL, 'test');
INSERT INTO welfare.service_target VALUES ('rsa', 'pop_65plus', 1);
INSERT INTO welfare.population (zone_id, period, sex, age, persons, source_id) VALUES
  ('015146-D1', 2023, 'F', 70, 300, 'test'), ('015146-D1', 2023, 'M', 40, 700, 'test'),
  ('015146-D2', 2023, 'F', 70, 100, 'test'), ('015146-D2', 2023, 'M', 40, 900, 'test');
INSERT INTO welfare.demand (zone_id, target_id, period, demand, source_id) VALUES
  ('015146-D1', 'pop_65plus', 2023, 300, 'test'), ('015146-D2', 'pop_65plus', 2023, 100, 'test');
-- in D1 but outside its only child N3: still D1's
INSERT INTO welfare.facility (facility_id, municipality_code, service_type_id, name, provider_org,
    capacity, active_from, active_to, published, source_id, geom)
VALUES ('F1', '015146', 'rsa', 'Casa Uno', 'Comune', 12, NULL, NULL, true, 'test',
        ST_SetSRID(ST_MakePoint(510500, 5033000), 32632));

SELECT zone_id, zone_level, reference_population, supply, coverage_per_100, standard_per_100,
       round(gap::numeric, 4) AS gap, facilities, coverage_rank, null_reason
  FROM welfare.zone_service_indicators('district', 2023) ORDER BY zone_id;
SELECT zone_id, target_id, demand, reference_population, incidence_per_100,
       round(location_quotient::numeric, 6) AS lq, supply, coverage_per_100, incidence_rank
  FROM welfare.zone_indicators('district', 2023) ORDER BY zone_id;
SELECT zone_id, demand, coverage_per_100 FROM welfare.zone_indicators('city', 2023, ARRAY['pop_65plus']);

-- a stored run, logged, and what BI sees (counts rounded to 5)
SELECT welfare.run_zone_indicators('district', 2023) > 0 AS stored;
SELECT kind, parameters, status FROM welfare.run WHERE kind = 'zone_indicators';
SELECT zone_id, zone_name, target_id, demand, incidence_per_100, gap, lat BETWEEN 45 AND 46 AS lat_ok
  FROM welfare_bi.zone_indicators ORDER BY zone_id;

-- clear errors (each inside a savepoint, so the transaction goes on)
\set SHOW_CONTEXT never
SAVEPOINT e;
SELECT * FROM welfare.zone_indicators('ward', 2023);
ROLLBACK TO e;
SELECT * FROM welfare.zone_indicators('district', 1990);
ROLLBACK TO e;
SELECT * FROM welfare.zone_indicators('district', 2023, ARRAY['ghost']);
ROLLBACK TO e;
ROLLBACK;
