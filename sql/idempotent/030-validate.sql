CREATE OR REPLACE FUNCTION welfare._validate_data()
RETURNS TABLE (dataset text, row_key text, field text, code text, message text)
LANGUAGE plpython3u STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
wi = GD.get("welfare_intelligence @extversion@") or plpy.execute(
    "SELECT welfare._bootstrap()") and GD["welfare_intelligence @extversion@"]
tables = {name: wi.table_frame(name) for name in wi.model.LOAD_ORDER}
srid = int(plpy.execute("SELECT welfare.working_srid() AS srid")[0]["srid"])
return wi.problems_out(wi.call(wi.validation.validate, tables, crs=wi.crs_of(srid)))
$python$;
COMMENT ON FUNCTION welfare._validate_data() IS 'body of welfare.validate_data (internal)';

CREATE OR REPLACE FUNCTION welfare.validate_data()
RETURNS TABLE (dataset text, row_key text, field text, code text, message text)
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM welfare._validate_data();
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.validate_data() IS
    'checks everything loaded against the data model (welfare_core validation); one row per problem, none when fine';
