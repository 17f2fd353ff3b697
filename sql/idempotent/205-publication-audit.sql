-- Differencing audit wired into publishing (issue 9).
--
-- welfare.audit_publication(run_id) audits a zone_indicators run together with
-- what is already published for its period: for every other level, the latest
-- run whose audit passed and that everyone sees (the runs welfare_bi shows them). Zones of all those levels
-- form one hierarchy per target (a parent is the sum of its children); the
-- reference populations of zone_service_indicators are a second publication of
-- their reference target's count. welfare_core.privacy_audit computes, for every
-- suppressed count, the interval an attacker can infer from all of it (exact
-- interval propagation over the tree, linear time) and fails when one is
-- narrower than setting audit_min_width. The outcome is stored once per run in
-- welfare.publication_audit; welfare_bi.zone_indicators and
-- zone_service_indicators publish, per level and period, the latest run that
-- passed. welfare.run_zone_indicators audits every run it makes.
--
-- A run is audited once and the outcome stands: publishing is first come, first
-- served (publish coarse levels first; a finer run that would let a published
-- count be recovered is the one held back). Earlier runs are bounded by the
-- settings they were published with (publication_audit.rules).

CREATE OR REPLACE FUNCTION welfare._audit_publication(run_id bigint)
RETURNS void
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
import dataclasses
import json
import time
wi = GD.get("welfare_intelligence @extversion@") or plpy.execute(
    "SELECT welfare._bootstrap()") and GD["welfare_intelligence @extversion@"]
from welfare_core import privacy, privacy_audit
pd = wi.pd
t0 = time.perf_counter()
if run_id is None:
    wi.fail("run_id is required", hint="pass the id returned by welfare.run_zone_indicators")
run = plpy.execute(plpy.prepare(
    "SELECT r.kind, r.status, r.parameters ->> 'level' AS level, "
    "(r.parameters ->> 'period')::integer AS period, "
    "EXISTS (SELECT 1 FROM welfare.publication_audit a WHERE a.run_id = r.run_id) AS done "
    "FROM welfare.run r WHERE r.run_id = $1", ["bigint"]), [run_id])
if not run or run[0]["kind"] != "zone_indicators":
    wi.fail(f"run {run_id} is not a zone_indicators run", sqlstate="22023",
            hint="pass the id returned by welfare.run_zone_indicators")
run = run[0]
if run["done"]:
    return  # audited once: the outcome stands
if run["status"] != "ok":
    wi.fail(f"run {run_id} did not finish (status {run['status']}): nothing to publish",
            sqlstate="22023", hint="run welfare.run_zone_indicators again")
others = plpy.execute(plpy.prepare(
    "SELECT DISTINCT ON (r.parameters ->> 'level') r.run_id, a.rules::text AS rules "
    "FROM welfare.run r JOIN welfare.publication_audit a ON a.run_id = r.run_id AND a.passed "
    "WHERE r.kind = 'zone_indicators' AND r.status = 'ok' AND r.audience = 'everyone' "
    "AND (r.parameters ->> 'period')::integer = $1 AND r.parameters ->> 'level' <> $2 "
    "ORDER BY r.parameters ->> 'level', r.run_id DESC", ["integer", "text"]),
    [run["period"], run["level"]])
runs = [run_id] + [o["run_id"] for o in others]


def frame(query):
    rows = plpy.execute(plpy.prepare(
        f"SELECT COALESCE(pg_catalog.json_agg(q), '[]')::text AS j FROM ({query}) q",
        ["bigint[]"]), [runs])[0]["j"]
    return pd.DataFrame.from_records(json.loads(rows))


# complementary cells (088): suppressed to protect a small count, any value >= 0
targets = frame("SELECT run_id, target_id, zone_id, parent_id, demand_pub AS demand, published, "
                "demand_complementary AS complementary "
                "FROM welfare.zone_indicator_result WHERE run_id = ANY($1)")
services = frame("SELECT run_id, reference_target_id, zone_id, parent_id, "
                 "reference_population_pub AS reference_population, "
                 "reference_population_complementary AS complementary "
                 "FROM welfare.zone_service_result WHERE run_id = ANY($1)")
if len(targets):
    targets["demand"] = targets["demand"].astype(float)
rules = wi.rules()
run_rules = {o["run_id"]: wi.call(privacy.Rules, **json.loads(o["rules"])) for o in others}
sensitive = [r["target_id"] for r in plpy.execute(
    "SELECT target_id FROM welfare.target WHERE sensitive")]
try:
    res = privacy_audit.audit_zone_indicators(targets, services, rules, sensitive=sensitive,
                                              run_rules=run_rules)
    cells = res.cells
    passed, message = res.passed, res.summary()
except wi.errors.InputError as e:  # e.g. published values that contradict each other
    cells, passed, message = None, False, f"not auditable: {e.message}"
checked = 0 if cells is None else len(cells)
failed = 0 if cells is None else int((~cells["ok"]).sum())
narrowest = cell = None
if checked:
    k = int(cells["width"].to_numpy().argmin())
    narrowest = float(cells["width"].iloc[k])
    cell = f"{cells['target_id'].iloc[k]} {cells['zone_id'].iloc[k]}"
plpy.execute(plpy.prepare(
    "INSERT INTO welfare.publication_audit (run_id, passed, checked_cells, failed_cells, "
    "narrowest_width, narrowest_cell, threshold, audited_with, rules, message, seconds) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11)",
    ["bigint", "boolean", "integer", "integer", "double precision", "text",
     "double precision", "bigint[]", "text", "text", "double precision"]),
    [run_id, passed, checked, failed, narrowest, cell, rules.audit_min_width, runs[1:],
     json.dumps(dataclasses.asdict(rules)), message, time.perf_counter() - t0])
$python$;
COMMENT ON FUNCTION welfare._audit_publication(bigint) IS 'PL/Python body of welfare.audit_publication (internal)';

CREATE OR REPLACE FUNCTION welfare.audit_publication(run_id bigint)
RETURNS TABLE (passed boolean, checked_cells integer, failed_cells integer,
               narrowest_width double precision, narrowest_cell text, message text)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    PERFORM welfare._audit_publication(audit_publication.run_id);
    RETURN QUERY SELECT a.passed, a.checked_cells, a.failed_cells, a.narrowest_width,
                        a.narrowest_cell, a.message
                   FROM welfare.publication_audit a WHERE a.run_id = audit_publication.run_id;
@reraise_errors@
END
$$;
COMMENT ON FUNCTION welfare.audit_publication(bigint) IS
    'differencing audit of a zone_indicators run together with the runs of the other levels '
    'published for its period; stored once in welfare.publication_audit (a second call returns '
    'the stored outcome); welfare_bi shows the run only if it passed';

GRANT SELECT, INSERT ON welfare.publication_audit TO welfare_analyst;

-- Runs made before the audit existed (a database updated from 0.1.0), or through the
-- internal welfare._run_zone_indicators: audited here, oldest first, so that what
-- welfare_bi showed stays published if it passes.
DO $audit_earlier$
DECLARE
    r bigint;
BEGIN
    FOR r IN SELECT run.run_id FROM welfare.run
              WHERE run.kind = 'zone_indicators' AND run.status = 'ok'
                AND NOT EXISTS (SELECT 1 FROM welfare.publication_audit a
                                 WHERE a.run_id = run.run_id)
              ORDER BY run.run_id LOOP
        PERFORM welfare._audit_publication(r);
    END LOOP;
END
$audit_earlier$;
