-- Settings: the working SRID and privacy thresholds, checked on every change.
-- welfare.setting holds the defaults (written by CREATE EXTENSION, not dumped);
-- a change is a row of welfare.setting_override (dumped, so it survives
-- pg_dump / restore), read first. `UPDATE welfare.setting SET value = ...` still
-- works: the setting_redirect trigger turns it into an override.

CREATE OR REPLACE FUNCTION welfare.setting_value(setting_name text) RETURNS text
LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT COALESCE(o.value, s.value) FROM welfare.setting s
        LEFT JOIN welfare.setting_override o ON o.name = s.name
       WHERE s.name = setting_name $$;
COMMENT ON FUNCTION welfare.setting_value(text) IS
    'value in force of a setting: its welfare.setting_override, else its default in welfare.setting '
    '(NULL if absent)';

CREATE OR REPLACE FUNCTION welfare.working_srid() RETURNS integer
LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT welfare.setting_value('srid')::integer $$;
COMMENT ON FUNCTION welfare.working_srid() IS 'SRID every geometry is stored in (setting srid)';

-- Moves the SRID constraints of the geometry tables to new_srid, refusing once any
-- geometry is stored. SECURITY DEFINER because ALTER TABLE needs the tables' owner,
-- and an admin (who may change settings) does not own them; it counts rows as the
-- owner, so row-level security cannot hide a stored facility from the check.
-- Executable by the admin only (900-privileges.sql); called by _setting_check.
CREATE OR REPLACE FUNCTION welfare._apply_srid(old_value text, new_srid integer)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    tab record;
    stored bigint := 0;
    n bigint;
BEGIN
    FOR tab IN SELECT * FROM (VALUES ('zone'), ('facility'), ('candidate_site')) v(name) LOOP
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM welfare.%I LIMIT 1) s', tab.name)
           INTO n;
        stored := stored + n;
    END LOOP;
    IF stored > 0 THEN
        RAISE EXCEPTION 'cannot change setting srid from % to %: geometries are already stored',
            old_value, new_srid
          USING ERRCODE = 'object_in_use',
                HINT = 'choose the SRID before loading data, or empty welfare.zone, '
                       'welfare.facility and welfare.candidate_site first';
    END IF;
    FOR tab IN SELECT * FROM (VALUES ('zone'), ('facility'), ('candidate_site')) v(name) LOOP
        EXECUTE format('ALTER TABLE welfare.%I DROP CONSTRAINT %I, '
                       'ADD CONSTRAINT %I CHECK (public.ST_SRID(geom) = %s)',
                       tab.name, tab.name || '_geom_srid', tab.name || '_geom_srid', new_srid);
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION welfare._apply_srid(text, integer) IS
    'moves the SRID constraints of the empty geometry tables to a new srid (internal)';

-- Refuses a bad value with a message naming it. When the value in force of
-- srid changes (old_value not NULL), applies it to the SRID constraints of the
-- (empty) geometry tables, and refuses it once any geometry is stored.
CREATE OR REPLACE FUNCTION welfare._setting_check(setting_name text, old_value text, new_value text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $fn$
DECLARE
    new_srid integer;
    srs text;
BEGIN
    IF setting_name IN ('suppress_below', 'round_to', 'min_threshold_floor')
       AND new_value !~ '^[0-9]{1,9}$' THEN
        RAISE EXCEPTION 'setting % = % is not a whole number >= 0', setting_name,
            pg_catalog.quote_literal(new_value)
          USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF setting_name = 'dp_epsilon_budget' AND new_value !~ '^[0-9]{1,6}(\.[0-9]{1,9})?$' THEN
        RAISE EXCEPTION 'setting dp_epsilon_budget = % is not a decimal number >= 0',
            pg_catalog.quote_literal(new_value)
          USING ERRCODE = 'invalid_parameter_value', HINT = 'e.g. 1.0';
    END IF;
    IF setting_name <> 'srid' OR new_value IS NOT DISTINCT FROM old_value THEN
        RETURN;
    END IF;

    IF new_value !~ '^[0-9]{1,9}$' THEN
        RAISE EXCEPTION 'setting srid = % is not an SRID', pg_catalog.quote_literal(new_value)
          USING ERRCODE = 'invalid_parameter_value', HINT = 'give an EPSG code, e.g. 32632';
    END IF;
    new_srid := new_value::integer;
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
    IF old_value IS NOT NULL THEN
        PERFORM welfare._apply_srid(old_value, new_srid);
    END IF;
END
$fn$;
COMMENT ON FUNCTION welfare._setting_check(text, text, text) IS
    'checks a new value of a setting and applies a new SRID (internal)';

-- Defaults: a new setting is checked; the core ones cannot be deleted or renamed.
CREATE OR REPLACE FUNCTION welfare._setting_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $fn$
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
    IF TG_OP = 'INSERT' THEN
        PERFORM welfare._setting_check(NEW.name, NULL, NEW.value);
    END IF;
    RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION welfare._setting_guard() IS 'trigger: checks welfare.setting rows (internal)';

-- UPDATE welfare.setting SET value = v: stored as an override (checked by its
-- trigger); setting a default value back removes the override. The default
-- itself stays. (A migration that changes a default disables this trigger.)
CREATE OR REPLACE FUNCTION welfare._setting_redirect() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $fn$
BEGIN
    IF NEW.value IS NOT DISTINCT FROM OLD.value THEN
        DELETE FROM welfare.setting_override o WHERE o.name = NEW.name;
    ELSE
        INSERT INTO welfare.setting_override AS o (name, value) VALUES (NEW.name, NEW.value)
            ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value;
    END IF;
    NEW.value := OLD.value;
    RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION welfare._setting_redirect() IS
    'trigger: turns a change of welfare.setting.value into a welfare.setting_override (internal)';

CREATE OR REPLACE FUNCTION welfare._setting_override_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $fn$
DECLARE
    dflt text;
BEGIN
    SELECT s.value INTO dflt FROM welfare.setting s
     WHERE s.name = CASE WHEN TG_OP = 'DELETE' THEN OLD.name ELSE NEW.name END;
    IF TG_OP = 'DELETE' THEN
        PERFORM welfare._setting_check(OLD.name, OLD.value, dflt);
        RETURN OLD;
    END IF;
    IF dflt IS NULL THEN
        RAISE EXCEPTION 'no setting named %', pg_catalog.quote_literal(NEW.name)
          USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM welfare.setting';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.name <> OLD.name THEN
            RAISE EXCEPTION 'setting % cannot be renamed', OLD.name USING ERRCODE = 'restrict_violation';
        END IF;
        NEW.changed_by := welfare._caller();
        NEW.changed_at := pg_catalog.now();
        PERFORM welfare._setting_check(NEW.name, OLD.value, NEW.value);
    ELSE
        PERFORM welfare._setting_check(NEW.name, dflt, NEW.value);
    END IF;
    RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION welfare._setting_override_guard() IS
    'trigger: checks a changed setting and applies a new SRID (internal)';

DROP TRIGGER IF EXISTS setting_guard ON welfare.setting;
CREATE TRIGGER setting_guard BEFORE INSERT OR UPDATE OR DELETE ON welfare.setting
    FOR EACH ROW EXECUTE FUNCTION welfare._setting_guard();
DROP TRIGGER IF EXISTS setting_redirect ON welfare.setting;
CREATE TRIGGER setting_redirect BEFORE UPDATE OF value ON welfare.setting
    FOR EACH ROW EXECUTE FUNCTION welfare._setting_redirect();
DROP TRIGGER IF EXISTS setting_override_guard ON welfare.setting_override;
CREATE TRIGGER setting_override_guard BEFORE INSERT OR UPDATE OR DELETE ON welfare.setting_override
    FOR EACH ROW EXECUTE FUNCTION welfare._setting_override_guard();

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
