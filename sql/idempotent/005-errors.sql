-- Clean errors for users. PL/Python prefixes every error with its Python
-- class and adds a Python traceback as CONTEXT; public functions are
-- therefore thin PL/pgSQL wrappers over their PL/Python bodies (welfare._*)
-- that re-raise what the core said: message, SQLSTATE, hint, detail. A wrapper
-- ends its block with a line holding the marker reraise_errors between two @,
-- which db_extension/build.py expands into the one exception handler that
-- calls welfare._reraise.
CREATE OR REPLACE FUNCTION welfare._reraise(message text, state text, hint text, detail text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    clean text := regexp_replace(message, '^((plpy\.Error|WelfareSqlError|spiexceptions\.\w+|\w+Error): )+', '');
BEGIN
    IF coalesce(hint, '') <> '' AND coalesce(detail, '') <> '' THEN
        RAISE EXCEPTION USING MESSAGE = clean, ERRCODE = state, HINT = hint, DETAIL = detail;
    ELSIF coalesce(hint, '') <> '' THEN
        RAISE EXCEPTION USING MESSAGE = clean, ERRCODE = state, HINT = hint;
    ELSIF coalesce(detail, '') <> '' THEN
        RAISE EXCEPTION USING MESSAGE = clean, ERRCODE = state, DETAIL = detail;
    ELSE
        RAISE EXCEPTION USING MESSAGE = clean, ERRCODE = state;
    END IF;
END
$$;
COMMENT ON FUNCTION welfare._reraise(text, text, text, text) IS
    're-raises an error without the PL/Python class prefix and traceback (internal)';
