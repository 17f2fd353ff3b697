"""Extra cost of published mode on the sample city (issue 9): accessibility recomputed on
published demand, publishing, complementary suppression, scenario comparison on published
demand. Best of 3 (1 for the last two), one process, OPENBLAS_NUM_THREADS=1."""
import sys, time
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "data" / "sample")); sys.path.insert(0, str(ROOT / "core"))
from pathlib import Path
from card import load_sample
from welfare_core.indicators import zone_indicators, service_access
from welfare_core import privacy, privacy_audit
t = load_sample(ROOT / "data" / "sample")
t["population"] = t["population"].groupby(["zone_id", "period"], as_index=False)["persons"].sum()
t["household"] = t["household"].groupby(["zone_id", "period"], as_index=False)[["households", "members"]].sum()
sens = list(t["target"].loc[t["target"]["sensitive"].astype(bool), "target_id"])
def tm(f, n=3):
    best = 1e9
    for _ in range(n):
        t0 = time.perf_counter(); r = f(); best = min(best, time.perf_counter() - t0)
    return best, r
for level in ("neighbourhood", "section"):
    raw_s, (rows, services) = tm(lambda: zone_indicators(t, level, 2023, accessibility=True))
    acc_s, means = tm(lambda: service_access(privacy.with_published_demand(t, sensitive=sens), level, 2023))
    pub_s, _ = tm(lambda: (privacy.publish_zone_indicators(rows, sensitive=sens, level=level, services=services, service_target=t["service_target"]),
                           privacy.publish_zone_indicators(services, sensitive=sens, level=level, access=means)))
    print(f"{level}: raw indicators+access {raw_s:.2f} s; published access recomputed {acc_s:.2f} s; publish {pub_s:.2f} s; rows {len(rows)}")
# complementary suppression of sections against published neighbourhoods
rn, sn = zone_indicators(t, "neighbourhood", 2023)
pn = privacy.publish_zone_indicators(rn, sensitive=sens, level="neighbourhood")
ps = privacy.publish_zone_indicators(sn, sensitive=sens, level="neighbourhood")
rs, ss = zone_indicators(t, "section", 2023)
c_s, comp = tm(lambda: privacy_audit.complementary_suppression(rs, ss, level="section", sensitive=sens,
                published_with=(pn[["target_id","zone_id","parent_id","demand","published"]],
                                ps[["reference_target_id","zone_id","parent_id","reference_population"]])), n=1)
print(f"complementary suppression, sections vs neighbourhoods: {c_s:.2f} s, {len(comp)} cells")
from welfare_core import scenario as sc, scenario_compare as cmp
base = cmp.prepare(t)
fid = t["facility"].query("service_type_id == 'elderly_day_centre'")["facility_id"].iloc[0]
scen = sc.apply(base, [sc.change("close", facility_id=fid)])
targets = ["pop_65plus", "nss_75plus"]
r_s, comp_rows = tm(lambda: cmp.compare(base, scen, "neighbourhood", 2023, targets=targets), n=1)
p_s, _ = tm(lambda: cmp.published_comparison(base, scen, "neighbourhood", 2023, targets=targets, sensitive=sens, comparison=comp_rows), n=1)
print(f"scenario (close 1 day centre, 2 targets, neighbourhoods): compare {r_s:.2f} s; published extra {p_s:.2f} s")
