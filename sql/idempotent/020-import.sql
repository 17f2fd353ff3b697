-- Loading data: validate staged rows with the core, then upsert all or nothing.

CREATE OR REPLACE FUNCTION welfare._import_datasets(
    datasets text[], stagings regclass[], source_id text)
RETURNS TABLE (dataset text, row_key text, field text, code text, message text)
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
wi = GD.get("welfare_intelligence @extversion@") or plpy.execute(
    "SELECT welfare._bootstrap()") and GD["welfare_intelligence @extversion@"]
model, pd, q = wi.model, wi.pd, plpy.quote_ident

if datasets is None or stagings is None or len(datasets) != len(stagings):
    wi.fail("datasets and stagings must be arrays of the same length",
            hint="one staging relation per dataset, in the same order")
for name in datasets:
    if name not in model.TABLES:
        wi.fail(f"unknown dataset {name!r}", hint=f"use one of {', '.join(model.LOAD_ORDER)}")
if len(set(datasets)) != len(datasets):
    wi.fail("a dataset is listed twice in datasets", hint="stage each dataset once")

srid = int(plpy.execute("SELECT welfare.working_srid() AS srid")[0]["srid"])
rel_plan = plpy.prepare(
    "SELECT $1::regclass::oid AS oid, pg_catalog.format('%s', $1::regclass) AS rel", ["text"])
att_plan = plpy.prepare(
    "SELECT attname, pg_catalog.format_type(atttypid, NULL) AS type FROM pg_catalog.pg_attribute "
    "WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped", ["oid"])
srid_plan = "SELECT g.srid, s.srtext, g.box FROM (SELECT public.ST_SRID(geom) AS srid, " \
            "public.ST_Extent(geom)::public.geometry AS box FROM {rel} WHERE geom IS NOT NULL " \
            "GROUP BY 1) g LEFT JOIN public.spatial_ref_sys s ON s.srid = g.srid"
degrees_plan = plpy.prepare(
    "SELECT public.ST_XMin($1) >= -180 AND public.ST_XMax($1) <= 180 AND "
    "public.ST_YMin($1) >= -90 AND public.ST_YMax($1) <= 90 AS ok", ["public.geometry"])


def staged_expr(spec, col, attrs, for_insert):
    """SQL expression reading model column `col` from the staging row `s`."""
    if col.kind == "geometry":
        g = f"public.ST_Transform(s.geom, {srid})"
        if for_insert:
            return f"public.ST_Multi({g})" if spec.geometry_type == "MultiPolygon" else g
        return f"public.ST_AsBinary({g})"
    if col.name == "source_id" and source_id is not None:
        return "COALESCE(s.source_id::text, $1)" if "source_id" in attrs else "$1::text"
    c = f"s.{q(col.name)}"
    if not for_insert:
        return c
    if col.kind == "int":
        if attrs[col.name] in ("smallint", "integer", "bigint"):
            return c
        return f"CAST(NULLIF(CAST({c} AS numeric), 'NaN') AS integer)"
    if col.kind == "float":  # NaN and NULL are the same "empty" to the core
        return f"NULLIF(CAST({c} AS double precision), 'NaN')"
    return f"CAST({c} AS {wi.SQL_TYPES[col.kind]})"


staged = {}  # dataset -> (relation, attrs)
tables = {}
args, argtypes = ([source_id], ["text"]) if source_id is not None else ([], [])
for name, staging in zip(datasets, stagings):
    spec = model.TABLES[name]
    r = plpy.execute(rel_plan, [staging])[0]
    rel = r["rel"]
    attrs = {a["attname"]: a["type"] for a in plpy.execute(att_plan, [r["oid"]])}
    staged[name] = (rel, attrs)
    if spec.geometry_type and "geom" in attrs:
        if attrs["geom"] != "geometry":
            wi.fail(f"column geom of {rel} (dataset {name}) is of type {attrs['geom']}, not geometry",
                    hint="stage geometry as PostGIS geometry with its SRID, "
                         "e.g. ST_GeomFromEWKB or ST_SetSRID(..., 4326)")
        for s in plpy.execute(srid_plan.format(rel=rel)):
            if s["srid"] == 0:
                wi.fail(f"{rel}.geom (dataset {name}) has geometries without a coordinate "
                        "system (SRID 0)", sqlstate="22023",
                        hint=f"set the SRID they were drawn in, e.g. "
                             f"UPDATE {rel} SET geom = ST_SetSRID(geom, {srid})")
            if s["srtext"] is None:
                wi.fail(f"{rel}.geom (dataset {name}) has SRID {s['srid']}, which is not in "
                        "spatial_ref_sys", hint="use an EPSG code PostGIS knows")
            if s["srtext"].startswith("GEOGCS") and s["box"] is not None and not plpy.execute(
                    degrees_plan, [s["box"]])[0]["ok"]:
                wi.fail(f"{rel}.geom (dataset {name}) has SRID {s['srid']}, a geographic CRS, but "
                        "its coordinates are not longitude/latitude degrees",
                        hint="the file's coordinate system is probably wrong: set the one the "
                             "coordinates were measured in")
    cols = {}
    for col in spec.columns:
        present = "geom" in attrs if col.kind == "geometry" else (
            col.name in attrs or (col.name == "source_id" and source_id is not None))
        if present:
            sql_type = "bytea" if col.kind == "geometry" else attrs.get(col.name, "text")
            cols[col.name] = (staged_expr(spec, col, attrs, False), sql_type)
    frame = wi.read_frame(spec, f"{rel} s", cols, args=args, argtypes=argtypes)
    # Validate the table as it will be after the upsert: stored rows whose key
    # is not staged are part of it (parents, shares of a service type, ...).
    if len(cols) == len(spec.columns) and all(k in attrs for k in spec.key) and plpy.execute(
            f"SELECT 1 FROM welfare.{q(name)} LIMIT 1"):
        same = " AND ".join(f"s.{q(k)}::text = w.{q(k)}::text" for k in spec.key)
        stored = {c.name: ("public.ST_AsBinary(w.geom)" if c.kind == "geometry" else f"w.{q(c.name)}",
                           wi.SQL_TYPES[c.kind]) for c in spec.columns}
        kept = wi.read_frame(spec, f"welfare.{q(name)} w",
                             stored, where=f"WHERE NOT EXISTS (SELECT 1 FROM {rel} s WHERE {same})")
        if len(kept):
            frame = pd.concat([frame, kept], ignore_index=True)
    tables[name] = frame

# What the staged rows refer to, from the tables already loaded.
context = {}
for name in datasets:
    for ref in model.TABLES[name].references:
        if ref.table not in tables and ref.table not in context:
            context[ref.table] = wi.table_frame(ref.table, {model.TABLES[ref.table].key[0]})
if {"facility", "candidate_site"} & set(datasets) and "zone" not in tables:
    context["zone"] = wi.table_frame("zone", {"zone_id", "level", "parent_id", "geometry"})

problems = wi.call(wi.validation.validate, tables, crs=wi.crs_of(srid), context=context)
if len(problems):
    return wi.problems_out(problems)

# Upsert in load order. Validation has ruled out duplicate keys among the
# staged rows, so UPDATE of the stored keys then INSERT of the others is the
# same as INSERT ... ON CONFLICT DO UPDATE, and about twice as fast on a large
# first load (no speculative insertion). A concurrent load of the same keys
# fails with unique_violation instead of interleaving.
for name in model.LOAD_ORDER:
    if name not in staged:
        continue
    spec = model.TABLES[name]
    rel, attrs = staged[name]
    target = ["geom" if c.kind == "geometry" else c.name for c in spec.columns]
    exprs = [staged_expr(spec, c, attrs, True) for c in spec.columns]
    same = " AND ".join(f"w.{q(k)} = {e}" for k, e in zip(target, exprs) if k in spec.key)
    if plpy.execute(f"SELECT 1 FROM welfare.{q(name)} LIMIT 1"):
        sets = ", ".join(f"{q(t)} = {e}" for t, e in zip(target, exprs) if t not in spec.key)
        plpy.execute(plpy.prepare(f"UPDATE welfare.{q(name)} w SET {sets} FROM {rel} s "
                                  f"WHERE {same}", argtypes), args)
        missing = f"WHERE NOT EXISTS (SELECT 1 FROM welfare.{q(name)} w WHERE {same})"
    else:
        missing = ""
    plpy.execute(plpy.prepare(
        f"INSERT INTO welfare.{q(name)} ({', '.join(q(t) for t in target)}) "
        f"SELECT {', '.join(exprs)} FROM {rel} s {missing}", argtypes), args)
return []
$python$;
COMMENT ON FUNCTION welfare._import_datasets(text[], regclass[], text) IS
    'body of welfare.import_datasets (internal)';

-- Public entry: a PL/pgSQL wrapper so errors reach the user without the
-- PL/Python class prefix and traceback (see welfare._reraise).
CREATE OR REPLACE FUNCTION welfare.import_datasets(
    datasets text[], stagings regclass[], source_id text DEFAULT NULL)
RETURNS TABLE (dataset text, row_key text, field text, code text, message text)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM welfare._import_datasets($1, $2, $3);
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.import_datasets(text[], regclass[], text) IS
$$Validates staged datasets together (like welfare_core.validation.validate) and, when
there is no problem, upserts them into the welfare tables in load order; otherwise writes
nothing and returns one row per problem. stagings[i] holds datasets[i] with the columns of
the table (geometry in a column geom of any known SRID, reprojected to the working SRID);
source_id fills empty source_id values.$$;

CREATE OR REPLACE FUNCTION welfare.import_dataset(
    dataset text, staging regclass, source_id text DEFAULT NULL)
RETURNS TABLE (dataset text, row_key text, field text, code text, message text)
LANGUAGE sql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT * FROM welfare.import_datasets(ARRAY[$1], ARRAY[$2], $3) $$;
COMMENT ON FUNCTION welfare.import_dataset(text, regclass, text) IS
    'welfare.import_datasets for one dataset: validate a staging relation and upsert it, or return its problems';
