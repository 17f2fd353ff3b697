-- welfare.run_accessibility(NULL, period, ...) stores every service type under ONE run id
-- (110-accessibility.sql), so a zone x target pair appears once per service type serving
-- the target: the key of welfare.accessibility_result (020, released: (run_id, zone_id,
-- target_id)) gains service_type_id. Widening a key never invalidates stored rows (a run
-- of 0.1.0 held one service type).
ALTER TABLE welfare.accessibility_result
    DROP CONSTRAINT accessibility_result_pkey,
    ADD CONSTRAINT accessibility_result_pkey PRIMARY KEY (run_id, service_type_id, zone_id, target_id);
