-- Differentially private releases of demand counts (issue 9): welfare.dp_zone_demand.
--
-- The demand of one target per zone of a level in a period, read and aggregated to the
-- level by the indicator adapter (welfare._indicators_door, welfare_core.indicators:
-- every zone of the level, zero where nobody is counted), with discrete Laplace noise
-- from welfare_core.privacy.dp_counts (OpenDP; scale 1 / epsilon: one person changes
-- one zone's count by one). The noise is drawn only after the release has been
-- recorded and committed in welfare.dp_release by an autonomous transaction
-- (welfare._record_dp_release, 150-governance.sql), so rolling back after reading the
-- output does not give the epsilon back; its insert trigger (welfare._dp_release_guard)
-- serialises releases by an advisory lock and refuses one that would take the epsilon
-- of all releases over setting dp_epsilon_budget, so two concurrent releases cannot
-- both take the last of it. The call is also logged as a run (kind dp_zone_demand).
--
-- Who: welfare_admin and welfare_analyst (the rules of 900-privileges.sql); not a
-- provider or a BI reader.
-- OpenDP is installed for the server's Python by make install (vendor directory,
-- 010-bootstrap.sql); without it the function says so and records nothing.
CREATE OR REPLACE FUNCTION welfare._dp_zone_demand_json(
    level text, period integer, target text, epsilon double precision, description text)
RETURNS json
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
import json
wi = GD.get("welfare_intelligence @extversion@") or plpy.execute(
    "SELECT welfare._bootstrap()") and GD["welfare_intelligence @extversion@"]
ind = GD.get("welfare_indicators @extversion@") or plpy.execute(
    "SELECT welfare._indicators_door()") and GD["welfare_indicators @extversion@"]
privacy, np = ind.privacy, wi.np

if level is None or period is None or target is None:
    wi.fail("level, period and target are required",
            hint="e.g. ('neighbourhood', 2023, 'pop_65plus', 0.1, 'elderly per neighbourhood "
                 "for the 2024 report')")
if description is None or not 1 <= len(description.strip()) <= 1000:
    wi.fail("description is required (1 to 1000 characters): what is released, for whom",
            hint="it is kept in welfare.dp_release with the epsilon spent")
try:
    import opendp  # noqa: F401
except ImportError:
    wi.fail("differential privacy is not available: OpenDP is not installed for the "
            "database server's Python", sqlstate="0A000",
            hint="run make install on the server with network access (it installs OpenDP "
                 f"into {wi.lib_dir}/vendor)")
# epsilon is checked by the core before anything is read or spent (no noise for no cells)
wi.call(privacy.dp_counts, [], epsilon)

# a projected period has estimates, not counts of people: nothing to release
last = plpy.execute("SELECT max(period) AS last FROM welfare.population")[0]["last"]
if last is not None and period > last:
    wi.fail(f"period {period} is after the last population year {last}: a differentially "
            "private release is of counted demand, not of a projection",
            hint=f"choose a period up to {last}")
rows, _ = ind.compute(level, period, [target])
counts = rows["demand"].to_numpy(float)
frac = ~np.isclose(counts, np.round(counts), rtol=0, atol=1e-9)
if frac.any():
    at = rows.loc[frac, "zone_id"].iloc[0]
    wi.fail(f"demand of target {target!r} in {period} is not a whole count "
            f"(zone {at}: {counts[frac][0]:g})",
            hint="differential privacy here adds noise to counts of persons or households; "
                 "this target's demand holds estimates")

run_id = plpy.execute(plpy.prepare(
    "SELECT welfare.log_run_start('dp_zone_demand', $1::jsonb) AS run_id", ["text"]),
    [json.dumps({"level": level, "period": period, "target": target, "epsilon": epsilon,
                 "description": description})])[0]["run_id"]
# recorded and committed first (autonomously): the trigger checks the budget under its
# lock, and no rollback after the noise is seen gives the epsilon back
release_id = plpy.execute(plpy.prepare(
    "SELECT welfare._record_dp_release($1, $2, $3) AS release_id",
    ["text", "double precision", "integer"]), [description, epsilon, len(rows)])[0]["release_id"]
noisy = wi.call(privacy.dp_counts, np.round(counts).astype(np.int64), epsilon)
out = rows[["zone_id", "level", "period", "target_id"]].assign(
    release_id=release_id, noisy_demand=noisy)
plpy.execute(plpy.prepare("SELECT welfare.log_run_finish($1, 'ok', $2)", ["bigint", "text"]),
             [run_id, f"release {release_id}: {len(rows)} cells, epsilon {epsilon:g}"])
return wi.records(out, ["release_id", "zone_id", "level", "period", "target_id",
                        "noisy_demand"])
$python$;
COMMENT ON FUNCTION welfare._dp_zone_demand_json(text, integer, text, double precision, text) IS
    'PL/Python body of welfare.dp_zone_demand (internal)';

CREATE OR REPLACE FUNCTION welfare.dp_zone_demand(
    level text, period integer, target text, epsilon double precision, description text)
RETURNS TABLE (release_id bigint, zone_id text, zone_level text, period_year integer,
               target_id text, noisy_demand bigint)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT r.release_id, r.zone_id, r.level, r.period, r.target_id, r.noisy_demand
      FROM pg_catalog.json_to_recordset(
               welfare._dp_zone_demand_json(level, period, target, epsilon, description))
           AS r(release_id bigint, zone_id text, level text, period integer, target_id text,
                noisy_demand bigint)
     ORDER BY r.zone_id;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.dp_zone_demand(text, integer, text, double precision, text) IS
    'differentially private demand of one target per zone of a level in a period: discrete '
    'Laplace noise of scale 1/epsilon (welfare_core.privacy.dp_counts, OpenDP), floored at 0; '
    'the release is recorded in welfare.dp_release and refused beyond setting dp_epsilon_budget';
