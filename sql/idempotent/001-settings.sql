-- Settings: the working SRID and privacy thresholds, checked on every change.

CREATE OR REPLACE FUNCTION welfare.setting_value(setting_name text) RETURNS text
LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT s.value FROM welfare.setting s WHERE s.name = setting_name $$;
COMMENT ON FUNCTION welfare.setting_value(text) IS 'value of a welfare.setting (NULL if absent)';

CREATE OR REPLACE FUNCTION welfare.working_srid() RETURNS integer
LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT s.value::integer FROM welfare.setting s WHERE s.name = 'srid' $$;
COMMENT ON FUNCTION welfare.working_srid() IS 'SRID every geometry is stored in (setting srid)';

-- Refuses a bad value with a message naming it; applies a new SRID to the
-- SRID constraints of the (empty) geometry tables, and refuses it once any geometry is stored.
CREATE OR REPLACE FUNCTION welfare._setting_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $fn$
DECLARE
    new_srid integer;
    srs text;
    tab record;
    stored bigint := 0;
    n bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.name IN ('srid', 'suppress_below', 'round_to', 'min_threshold_floor') THEN
            RAISE EXCEPTION 'setting % cannot be deleted', OLD.name
              USING ERRCODE = 'restrict_violation', HINT = 'UPDATE its value instead';
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.name <> OLD.name THEN
        RAISE EXCEPTION 'setting % cannot be renamed', OLD.name USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.name IN ('suppress_below', 'round_to', 'min_threshold_floor')
       AND NEW.value !~ '^[0-9]{1,9}$' THEN
        RAISE EXCEPTION 'setting % = % is not a whole number >= 0', NEW.name, pg_catalog.quote_literal(NEW.value)
          USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.name <> 'srid' OR (TG_OP = 'UPDATE' AND NEW.value = OLD.value) THEN
        RETURN NEW;
    END IF;

    IF NEW.value !~ '^[0-9]{1,9}$' THEN
        RAISE EXCEPTION 'setting srid = % is not an SRID', pg_catalog.quote_literal(NEW.value)
          USING ERRCODE = 'invalid_parameter_value', HINT = 'give an EPSG code, e.g. 32632';
    END IF;
    new_srid := NEW.value::integer;
    SELECT srtext INTO srs FROM public.spatial_ref_sys WHERE srid = new_srid;
    IF srs IS NULL THEN
        RAISE EXCEPTION 'setting srid = %: no such SRID in spatial_ref_sys', new_srid
          USING ERRCODE = 'invalid_parameter_value', HINT = 'give an EPSG code, e.g. 32632';
    END IF;
    IF srs NOT LIKE 'PROJCS%' THEN
        RAISE EXCEPTION 'setting srid = % is not a projected CRS; distances need metres', new_srid
          USING ERRCODE = 'invalid_parameter_value',
                HINT = 'choose a projected metric CRS, e.g. 32632 (UTM 32N) for Milan';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        FOR tab IN SELECT * FROM (VALUES ('zone', 'MultiPolygon'), ('facility', 'Point'),
                                         ('candidate_site', 'Point')) v(name, gtype) LOOP
            EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM welfare.%I LIMIT 1) s', tab.name)
               INTO n;
            stored := stored + n;
        END LOOP;
        IF stored > 0 THEN
            RAISE EXCEPTION 'cannot change setting srid from % to %: geometries are already stored',
                OLD.value, NEW.value
              USING ERRCODE = 'object_in_use',
                    HINT = 'choose the SRID before loading data, or empty welfare.zone, '
                           'welfare.facility and welfare.candidate_site first';
        END IF;
        FOR tab IN SELECT * FROM (VALUES ('zone', 'MultiPolygon'), ('facility', 'Point'),
                                         ('candidate_site', 'Point')) v(name, gtype) LOOP
            EXECUTE format('ALTER TABLE welfare.%I DROP CONSTRAINT %I, '
                           'ADD CONSTRAINT %I CHECK (public.ST_SRID(geom) = %s)',
                           tab.name, tab.name || '_geom_srid', tab.name || '_geom_srid', new_srid);
        END LOOP;
    END IF;
    RETURN NEW;
END
$fn$;

DROP TRIGGER IF EXISTS setting_guard ON welfare.setting;
CREATE TRIGGER setting_guard BEFORE INSERT OR UPDATE OR DELETE ON welfare.setting
    FOR EACH ROW EXECUTE FUNCTION welfare._setting_guard();

-- Geometry tables: a geometry in another SRID is refused with a message that
-- names the row and both SRIDs (the CHECK constraint behind it is for
-- geometry_columns and for rows the trigger does not see, e.g. COPY FREEZE).
CREATE OR REPLACE FUNCTION welfare._check_srid() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $fn$
DECLARE
    want integer := welfare.working_srid();
    got integer := public.ST_SRID(NEW.geom);
BEGIN
    IF got IS DISTINCT FROM want AND NEW.geom IS NOT NULL THEN
        RAISE EXCEPTION 'welfare.% %: geometry has SRID %, the working SRID is %',
            TG_TABLE_NAME, pg_catalog.to_jsonb(NEW) ->> TG_ARGV[0], got, want
          USING ERRCODE = 'invalid_parameter_value',
                HINT = format('reproject it with ST_Transform(geom, %s), or load through '
                              'welfare.import_dataset, which reprojects', want);
    END IF;
    RETURN NEW;
END
$fn$;

DROP TRIGGER IF EXISTS check_srid ON welfare.zone;
CREATE TRIGGER check_srid BEFORE INSERT OR UPDATE OF geom ON welfare.zone
    FOR EACH ROW EXECUTE FUNCTION welfare._check_srid('zone_id');
DROP TRIGGER IF EXISTS check_srid ON welfare.facility;
CREATE TRIGGER check_srid BEFORE INSERT OR UPDATE OF geom ON welfare.facility
    FOR EACH ROW EXECUTE FUNCTION welfare._check_srid('facility_id');
DROP TRIGGER IF EXISTS check_srid ON welfare.candidate_site;
CREATE TRIGGER check_srid BEFORE INSERT OR UPDATE OF geom ON welfare.candidate_site
    FOR EACH ROW EXECUTE FUNCTION welfare._check_srid('site_id');
