-- PL/Python bootstrap, run once per session and cached in GD.
--
-- Every PL/Python body of the extension starts with
--     wi = GD.get("welfare_intelligence @extversion@") or plpy.execute(
--         "SELECT welfare._bootstrap()") and GD["welfare_intelligence @extversion@"]
-- so a warm call costs one dict lookup. The bootstrap puts the core installed
-- by `make install` at the front of sys.path, sets the environment the
-- scientific stack needs inside the server, checks the core's version against
-- the extension's, and leaves the SQL-door helpers (staging reader, error
-- mapping) in GD. The key carries the version, so after ALTER EXTENSION
-- UPDATE a session does not reuse helpers of the old version.
CREATE OR REPLACE FUNCTION welfare._bootstrap() RETURNS text
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
import os
import sys
import types

VERSION = "@extversion@"
KEY = "welfare_intelligence " + VERSION
if KEY in GD:
    return VERSION


class WelfareSqlError(plpy.Error):
    """plpy.Error reporting its own SQLSTATE and hint, without a class-name prefix."""


# PL/Python prefixes messages with the module of the exception class unless it
# is __main__ or builtins; the sqlstate/hint attributes are read either way.
WelfareSqlError.__module__ = "__main__"


def fail(message, *, sqlstate="22023", hint=None, detail=None):
    err = WelfareSqlError(message)
    err.sqlstate = sqlstate
    err.hint = hint
    err.detail = detail
    raise err


row = plpy.execute(
    "SELECT pg_catalog.current_setting('welfare.lib_dir', true) AS lib_dir, "
    "(SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) AS su")[0]
lib_dir = "/usr/local/lib/welfare_intelligence/" + VERSION
if row["lib_dir"]:
    # Another copy of the core (tests, development); it runs as the server's
    # OS user, so only a superuser may choose it.
    if not row["su"]:
        fail("welfare.lib_dir may only be set by a superuser", sqlstate="42501",
             hint="RESET welfare.lib_dir")
    lib_dir = row["lib_dir"]

os.environ.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")  # PL/Python has none; pulp needs it
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is first imported
os.environ.setdefault("PROJ_DATA", "/usr/share/proj")
if lib_dir in sys.path:
    sys.path.remove(lib_dir)
sys.path.insert(0, lib_dir)
# OpenDP (welfare_core.privacy.dp_counts), installed by make install without its
# dependencies beside the installed core, whichever copy of the core runs; absent
# without a network, and then the DP functions say so.
vendor_dir = "/usr/local/lib/welfare_intelligence/" + VERSION + "/vendor"
if os.path.isdir(vendor_dir) and vendor_dir not in sys.path:
    sys.path.insert(1, vendor_dir)

if not os.path.isfile(os.path.join(lib_dir, "welfare_core", "__init__.py")):
    fail(f"the welfare_core library is not installed in {lib_dir}",
         sqlstate="58P01", hint="run make install (it copies the core there)")
try:
    import welfare_core
except Exception as e:  # a broken copy: say where it is
    fail(f"cannot import welfare_core from {lib_dir}: {e}", sqlstate="58000",
         hint="run make install")
found = os.path.dirname(os.path.dirname(os.path.abspath(welfare_core.__file__)))
if found != os.path.abspath(lib_dir):
    fail(f"welfare_core was already imported from {found} in this session, not {lib_dir}",
         sqlstate="55000", hint="open a new database session")
if welfare_core.__version__ != VERSION:
    fail(f"welfare_core in {lib_dir} is version {welfare_core.__version__}, "
         f"but extension welfare_intelligence is version {VERSION}",
         sqlstate="55000", hint="run make install, then ALTER EXTENSION welfare_intelligence UPDATE")

from welfare_core import errors, model, validation  # noqa: E402


def call(fn, *args, **kwargs):
    """Run a core function; a WelfareError becomes an SQL error with its SQLSTATE and hint."""
    try:
        return fn(*args, **kwargs)
    except errors.WelfareError as e:
        fail(e.message, sqlstate=e.sqlstate, hint=e.hint)


def problems_out(frame):
    return list(zip(frame["dataset"], frame["row_key"], frame["field"],
                    frame["code"], frame["message"]))


def crs_of(srid):
    r = plpy.execute(plpy.prepare(
        "SELECT auth_name, auth_srid, srtext FROM public.spatial_ref_sys WHERE srid = $1",
        ["integer"]), [srid])
    if not r:
        fail(f"working SRID {srid} (setting srid) is not in spatial_ref_sys",
             hint="UPDATE welfare.setting SET value = '32632' WHERE name = 'srid'")
    r = r[0]
    return f"{r['auth_name']}:{r['auth_srid']}" if r["auth_name"] else r["srtext"]


import numpy as np  # noqa: E402  (after OPENBLAS_NUM_THREADS)
import pandas as pd  # noqa: E402

NUMERIC_TYPES = {"smallint", "integer", "bigint", "real", "double precision", "numeric"}


def column_frame(values, kind, sql_type):
    """A DataFrame column from a list PL/Python gave us, typed as the core expects."""
    if values is None:
        values = []
    if kind == "geometry":
        return pd.Series([None if v is None else bytes(v) for v in values], dtype=object)
    if kind in ("int", "float") and sql_type in NUMERIC_TYPES:
        if kind == "int" and sql_type in ("smallint", "integer", "bigint"):
            # whole numbers keep their integer form in row keys ("2023", not "2023.0")
            return pd.Series(values, dtype=object if None in values else "int64")
        return pd.Series(values, dtype=float)  # NULL becomes NaN, as in the core
    if kind in ("int", "float"):
        # numbers staged as text (CSV): 'NaN' is empty, as when pandas reads a CSV
        values = [None if isinstance(v, str) and v.strip().lower() == "nan" else v
                  for v in values]
    return pd.Series(values, dtype=object)


def read_frame(spec, relation, columns, where="", args=(), argtypes=()):
    """Columns of `relation` (a quoted name or subquery) as a DataFrame in one round trip.

    columns: {model column: (SQL expression, SQL type of the expression)}.
    Values come back as arrays (one row), much cheaper than a dict per row.
    """
    names = list(columns)
    if not names:
        return pd.DataFrame()
    select = ", ".join(f"pg_catalog.array_agg({expr}) AS c{i}"
                       for i, (expr, _) in enumerate(columns.values()))
    plan = plpy.prepare(f"SELECT {select} FROM {relation} {where}", list(argtypes))
    row = plpy.execute(plan, list(args))[0]
    data = {}
    for i, name in enumerate(names):
        kind = spec.column(name).kind if name in spec.column_names else "text"
        data[name] = column_frame(row[f"c{i}"], kind, columns[name][1])
    return pd.DataFrame(data)


def published_only():
    """Whether analyses count published facilities only: the default, because their
    published values reach everyone and an unpublished facility (a shelter whose address
    is confidential, a provider's draft) must not shape them. A session that sets
    welfare.count_unpublished_facilities = on counts them too, and its runs are shown in
    welfare_bi to their author only (welfare.log_run_start). welfare.run_published pins
    welfare.published_facilities_only = on, which wins."""
    v = plpy.execute("SELECT pg_catalog.current_setting('welfare.published_facilities_only', "
                     "true) AS pinned, pg_catalog.current_setting("
                     "'welfare.count_unpublished_facilities', true) AS wider")[0]
    on = ("on", "true", "yes", "1")
    return (v["pinned"] or "").strip().lower() in on or (v["wider"] or "").strip().lower() not in on


def relation(name):
    """welfare.<name> as the analyses read it: the facility table is its published rows
    only (no unpublished facility of any provider) unless published_only() says otherwise."""
    rel = f"welfare.{plpy.quote_ident(name)}"
    if name == "facility" and published_only():
        return f"(SELECT * FROM {rel} WHERE published) AS facility"
    return rel


def table_frame(name, wanted=None):
    """A welfare table (all rows; facility: see relation) as the core sees it; geometry
    as WKB in `geometry`."""
    spec = model.TABLES[name]
    cols = {}
    for c in spec.columns:
        if wanted is not None and c.name not in wanted:
            continue
        if c.kind == "geometry":
            cols[c.name] = ("public.ST_AsBinary(geom)", "bytea")
        else:
            cols[c.name] = (plpy.quote_ident(c.name), SQL_TYPES[c.kind])
    return read_frame(spec, relation(name), cols)


def records(frame, names):
    """Rows as one JSON array of objects (NaN / <NA> -> null), for json_populate_recordset.

    PL/Python converts returned values one by one through their text form;
    handing PostgreSQL one JSON document is much faster for many rows.
    15 significant digits: below any tolerance.
    """
    return frame[list(names)].to_json(orient="records", double_precision=15)


def rules():
    """The disclosure-control rules of the settings table (welfare_core.privacy.Rules)."""
    from welfare_core import privacy
    settings = {r["name"]: r["value"] for r in plpy.execute(
        "SELECT s.name, welfare.setting_value(s.name) AS value FROM welfare.setting s")}
    return call(privacy.Rules.from_settings, settings)


def period_tables(tables, period, *, level=None, totals=False, targets=None):
    """``tables`` (read by the caller) completed with the rows of ``period``: ``demand`` and,
    with ``totals``, ``population`` / ``household`` totals per zone.
    targets: read only these targets' demand rows (a list of ids); ``demand_carriers``
    is then added, the zones carrying demand rows of any target in the period (the
    origins of welfare_core.zone_access), unless the period is projected.

    The one place where every analysis (indicators, accessibility, scenarios,
    optimisation) decides what a period means. Up to the last population year:
    the welfare tables. After it: the forecast (welfare_core.forecast.future_inputs,
    default settings; at ``level`` when given, else at the zones carrying
    population), which also drops the targets and service types it could not
    project. Nothing is written: welfare.demand is never changed.
    """
    if period is None:
        fail("period is required", hint="e.g. 2023, or a later year for the forecast")
    # Is the period after the last population year? Two EXISTS that stop at the first
    # row, not min/max over every population row (a 0.2 s scan of a city's 2.5M rows,
    # paid by every analysis call); the years themselves only for the messages.
    span = plpy.execute(plpy.prepare(
        "SELECT EXISTS (SELECT 1 FROM welfare.population) AS any_rows, "
        "EXISTS (SELECT 1 FROM welfare.population WHERE period >= $1) AS covered",
        ["integer"]), [period])[0]

    def years():
        r = plpy.execute("SELECT min(period) AS first, max(period) AS last "
                         "FROM welfare.population")[0]
        return r["first"], r["last"]

    out = dict(tables)
    if span["any_rows"] and not span["covered"]:
        from welfare_core import forecast
        inp = dict(tables)
        for name in ("zone", "target", "target_prevalence", "target_household",
                     "service_type", "service_target"):
            if name not in inp:
                inp[name] = table_frame(name)
        inp["population"] = table_frame("population",
                                        ("zone_id", "period", "sex", "age", "persons"))
        inp["household"] = table_frame("household",
                                       ("zone_id", "period", "household_type_id", "households"))
        future = call(forecast.future_inputs, inp, period, level=level)
        out["demand"] = future["demand"]
        for name in ("target", "service_type", "service_target"):
            if name in tables:
                out[name] = future[name]
        if totals:
            out["population"], out["household"] = future["population"], future["household"]
        return out
    spec = model.TABLES["demand"]
    cols = {c: (c, SQL_TYPES[spec.column(c).kind])
            for c in ("zone_id", "target_id", "period", "demand")}
    if targets is None:
        out["demand"] = read_frame(spec, "welfare.demand", cols, "WHERE period = $1", [period],
                                   ["integer"])
    else:
        out["demand"] = read_frame(spec, "welfare.demand", cols,
                                   "WHERE period = $1 AND target_id = ANY($2)",
                                   [period, list(targets)], ["integer", "text[]"])
        out["demand_carriers"] = plpy.execute(plpy.prepare(
            "SELECT pg_catalog.array_agg(DISTINCT zone_id) AS z FROM welfare.demand "
            "WHERE period = $1", ["integer"]), [period])[0]["z"] or []
    if out["demand"].empty and (targets is None or not out["demand_carriers"]):
        have = [r["period"] for r in plpy.execute(
            "SELECT DISTINCT period FROM welfare.demand ORDER BY 1")]
        first, last = years()
        future = f"; years after {last} are projected from the population" if last else ""
        if first is not None and period < first:
            fail(f"no demand rows for period {period}: it is before the first population "
                 f"year {first}", hint=f"periods with demand: {have}{future}")
        fail(f"no demand rows for period {period}",
             hint=(f"periods available: {have}" if have else "load demand first") + future)
    if totals:
        for name, value in (("population", "persons"), ("household", "households")):
            out[name] = read_frame(
                model.TABLES[name],
                f"(SELECT zone_id, period, sum({value}) AS {value} FROM welfare.{name} "
                "WHERE period = $1 GROUP BY zone_id, period) AS t",
                {"zone_id": ("zone_id", "text"), "period": ("period", "integer"),
                 value: (value, "double precision")}, "", [period], ["integer"])
    return out


SQL_TYPES = {"text": "text", "int": "integer", "float": "double precision",
             "bool": "boolean", "date": "date", "geometry": "bytea"}


GD[KEY] = types.SimpleNamespace(
    version=VERSION, lib_dir=lib_dir, core=welfare_core, model=model, errors=errors,
    validation=validation, fail=fail, call=call, problems_out=problems_out, crs_of=crs_of,
    np=np, pd=pd, read_frame=read_frame, table_frame=table_frame, column_frame=column_frame,
    records=records, rules=rules, period_tables=period_tables,
    relation=relation, published_only=published_only,
    SQL_TYPES=SQL_TYPES)
return VERSION
$python$;
COMMENT ON FUNCTION welfare._bootstrap() IS
    'loads the welfare_core library once per session and checks its version (internal)';
