"""Comparisons through the SQL door: same numbers as the core, runs stored, BI views safe.

The tiny city (tests/fixtures/tiny_city.py) at neighbourhood level: 4 zones in
a 2 × 2 block (each touches the other three, queen), residents N1 1340,
N2 1160, N3 1000, N4 1220; districts D1 = {N1, N2}, D2 = {N3, N4}.
"""
import json
import math

import numpy as np
import pandas as pd
import psycopg
import pytest

from fixtures import tiny_city as tc
from sql.wi_sql import import_all
from welfare_core import benchmark, composite, equity, spatial
from welfare_core.indicators import zone_indicators

COMPONENTS = ["pop_65plus", {"name": "pop_0_2", "theme": "children"},
              {"name": "pop_65plus:coverage_per_100", "theme": "services"}]
N = ["015146-N1", "015146-N2", "015146-N3", "015146-N4"]


@pytest.fixture(scope="module")
def run_id(dbname):
    with psycopg.connect(f"dbname={dbname}") as c:
        assert import_all(c, tc.tables()) == []
        rid = c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)").fetchone()[0]
        c.commit()
    return rid


def core_rows():
    rows, _ = zone_indicators(tc.tables(), "neighbourhood", 2023)
    return rows


def fetch(dbname, query, params):
    with psycopg.connect(f"dbname={dbname}") as c:
        cur = c.execute(query, params)
        return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def same(a, b):
    for x, y in zip(a, b):
        if y is None or (not isinstance(y, str) and pd.isna(y)):
            assert x is None or pd.isna(x), (x, y)
        else:
            assert x == pytest.approx(float(y), rel=1e-12, abs=1e-12), (x, y)


@pytest.mark.parametrize("method", ["svi", "imd", "ampi"])
def test_composite_index_equals_core(dbname, run_id, method):
    got = fetch(dbname, "SELECT * FROM welfare.composite_index(%s, %s::jsonb, %s)",
                [run_id, json.dumps(COMPONENTS), method]).sort_values("zone_id")
    values, comps, _ = composite.components_from_indicators(core_rows(), COMPONENTS)
    want = composite.composite_index(values, comps, method=method).index.sort_values("zone_id")
    assert got["zone_id"].tolist() == want["zone_id"].tolist() == N
    for col in ("score", "rank", "pct_rank", "flags", "mean", "penalty"):
        same(got[col], want[col])
    assert got["null_reason"].tolist() == want["null_reason"].tolist()


def test_run_composite_is_stored_with_contributions_and_the_floor(dbname, run_id):
    with psycopg.connect(f"dbname={dbname}") as c:
        c.execute("UPDATE welfare.setting SET value = '1100' WHERE name = 'composite_min_population'")
        rid = c.execute("SELECT welfare.run_composite_index(%s, %s::jsonb, 'svi', name => 'fragility')",
                        [run_id, json.dumps(COMPONENTS)]).fetchone()[0]
        kind, params, status = c.execute("SELECT kind, parameters, status FROM welfare.run "
                                          "WHERE run_id = %s", [rid]).fetchone()
        n_contrib = c.execute("SELECT count(*) FROM welfare.composite_component_result "
                              "WHERE run_id = %s", [rid]).fetchone()[0]
        bi = c.execute("SELECT zone_id, score, null_reason, lat IS NOT NULL, geojson IS NOT NULL "
                       "FROM welfare_bi.composite_index WHERE index_name = 'fragility' "
                       "ORDER BY zone_id").fetchall()
        comp = c.execute("SELECT count(*) FILTER (WHERE score IS NULL) FROM "
                         "welfare_bi.composite_components WHERE run_id = %s", [rid]).fetchone()[0]
        c.rollback()
    assert (kind, status, params["source_run_id"], params["name"]) == \
        ("composite_index", "ok", run_id, "fragility")
    assert n_contrib == 4 * 3
    # N3 has 1000 residents, below the floor of 1100: no composite leaves for it
    assert [r[0] for r in bi] == N
    n3 = bi[2]
    assert n3[1] is None and "parent zone" in n3[2]
    assert all(r[1] is not None for r in bi if r[0] != "015146-N3")
    assert all(r[3] and r[4] for r in bi)
    assert comp == 3  # N3's three components


def test_hot_spots_and_global_moran_equal_core(dbname, run_id):
    got = fetch(dbname, "SELECT * FROM welfare.hot_spots(%s, 'pop_65plus', permutations => 99, "
                        "seed => 5)", [run_id]).sort_values("zone_id")
    vals = benchmark.indicator_rows(core_rows(), ["pop_65plus"])
    w = spatial.queen_weights(N, [g for g in tc.tables()["zone"].set_index("zone_id")
                                  .loc[N, "geometry"]])
    want = spatial.local_moran(vals["value"].to_numpy(), w, permutations=99, seed=5)
    for col in ("value", "z", "lag", "local_i", "p_sim", "z_sim"):
        same(got[col], want[col])
    assert got["lisa_class"].tolist() == want["lisa_class"].tolist()
    assert got["neighbours"].tolist() == [3, 3, 3, 3]
    g = fetch(dbname, "SELECT * FROM welfare.global_moran(%s, 'pop_65plus', permutations => 99, "
                      "seed => 5)", [run_id]).iloc[0]
    m = spatial.moran(vals["value"].to_numpy(), w, permutations=99, seed=5)
    assert g["moran_i"] == pytest.approx(m.i) and g["expected"] == pytest.approx(-1 / 3)
    assert g["p_sim"] == pytest.approx(m.p_sim) and g["zones"] == 4


def test_run_hot_spots_distance_weights_and_bi_view(dbname, run_id):
    with psycopg.connect(f"dbname={dbname}") as c:
        rid = c.execute("SELECT welfare.run_hot_spots(%s, 'pop_65plus', 'gap', 'distance', "
                        "distance_m => 2000, permutations => 99)", [run_id]).fetchone()[0]
        m = c.execute("SELECT weights, distance_m, zones, islands FROM welfare.moran_result "
                      "WHERE run_id = %s", [rid]).fetchone()
        bi = c.execute("SELECT zone_id, value, lisa_class, neighbours, moran_i IS NOT NULL "
                       "FROM welfare_bi.hot_spots WHERE run_id = %s ORDER BY zone_id",
                       [rid]).fetchall()
        c.rollback()
    # centres 2000 m apart along the edges, 2828 m across: each zone has 2 neighbours
    assert m == ("distance", 2000.0, 4, 0)
    assert [r[3] for r in bi] == [2, 2, 2, 2] and all(r[4] for r in bi)
    # gap of N3 derives from a demand of 0 (publishable); 65+ gap: .75 x .0282 x demand - supply
    assert {r[2] for r in bi} <= {"not significant", "high-high", "low-low", "high-low",
                                  "low-high"}


def test_compare_zones_equals_core_and_view_is_safe(dbname, run_id):
    got = fetch(dbname, "SELECT * FROM welfare.compare_zones(%s, ARRAY['pop_65plus'], "
                        "peers => 'none')", [run_id])
    vals = benchmark.indicator_rows(core_rows(), ["pop_65plus"])
    groups = pd.DataFrame({"zone_id": N, "district_id": ["015146-D1", "015146-D1",
                                                          "015146-D2", "015146-D2"]})
    want = benchmark.compare_zones(vals, groups)
    assert len(got) == len(want) == 8
    key = ["zone_id", "comparator"]
    got, want = got.sort_values(key), want.sort_values(key)
    assert got["group_id"].tolist() == want["group_id"].tolist()
    for col in ("value", "reference", "difference", "ratio", "z", "pct_rank"):
        same(got[col], want[col])
    # the city reference is the city's own 65+ rate: 600 / 4720 residents
    city = got[got["comparator"] == "city"]["reference"].iloc[0]
    assert city == pytest.approx(600 / 4720 * 100)
    with psycopg.connect(f"dbname={dbname}") as c:
        rid = c.execute("SELECT welfare.run_compare_zones(%s, ARRAY['pop_0_2'], "
                        "'coverage_per_100')", [run_id]).fetchone()[0]
        rows = c.execute("SELECT zone_id, comparator FROM welfare_bi.zone_benchmark "
                         "WHERE run_id = %s", [rid]).fetchall()
        c.rollback()
    # coverage of 0-2: denominators 40, 60, 0, 20 -> N3 (0) hidden; peers by size (5 classes)
    assert {r[0] for r in rows} == {"015146-N1", "015146-N2", "015146-N4"}
    assert {r[1] for r in rows} == {"city", "district", "peer"}


def test_equity_measures_equal_core_with_composite_ranking(dbname, run_id):
    with psycopg.connect(f"dbname={dbname}") as c:
        crun = c.execute("SELECT welfare.run_composite_index(%s, %s::jsonb)",
                         [run_id, json.dumps(COMPONENTS)]).fetchone()[0]
        c.commit()
    got = fetch(dbname, "SELECT * FROM welfare.equity_measures(%s, ARRAY['pop_65plus'], "
                        "composite_run_id => %s)", [run_id, crun]).set_index("measure")
    vals = benchmark.indicator_rows(core_rows(), ["pop_65plus"], "coverage_per_100")
    values, comps, _ = composite.components_from_indicators(core_rows(), COMPONENTS)
    score = composite.composite_index(values, comps).index.set_index("zone_id")["score"]
    want = equity.equity_measures(vals["value"], vals["weight"],
                                  groups=["D1", "D1", "D2", "D2"],
                                  vulnerability=vals["zone_id"].map(score)).set_index("measure")
    same(got.loc[list(equity.MEASURES), "value"], want.loc[list(equity.MEASURES), "value"])
    assert got.loc["gini", "ranked_by"] == f"composite run {crun}"
    with psycopg.connect(f"dbname={dbname}") as c:
        rid = c.execute("SELECT welfare.run_equity_measures(%s)", [run_id]).fetchone()[0]
        n = c.execute("SELECT count(*), count(DISTINCT indicator) FROM welfare_bi.equity_measures "
                      "WHERE run_id = %s", [rid]).fetchone()
        c.rollback()
    assert n == (3 * len(equity.MEASURES), 3)


def test_equity_of_access_from_an_accessibility_run_by_hand(dbname, run_id):
    """Nursery 2SFCA on the tiny city: only N2 (60 children, F3 at its centre, 30 places)
    reaches F3 within 1,500 m; N1 (40) and N4 (20) are 2,000 m away, N3 has no children.
    access = (0, 50, 0) per 100 children, weights (40, 60, 20): W = 120, mu = 25;
    Gini = 2 (40·60·50 + 20·60·50) / (2 · 120² · 25) = 0.5; Theil T = (60/120) · 2 ln 2
    = ln 2; by district (N1, N2 in D1: mu 30; N4 in D2: mu 0): between = ln(30/25),
    within = (60/100)(50/30) ln(50/30); Palma and P90/P10: the worst-off 40 % have 0.
    nearest_cost = (2000, 0, 2000): mu 1000, Gini = 2 (40·60 + 20·60) 2000 / (2·120²·1000)
    = 0.5."""
    with psycopg.connect(f"dbname={dbname}") as c:
        acc = c.execute("SELECT welfare.run_accessibility('nursery', 2023, 'neighbourhood')"
                        ).fetchone()[0]
        c.commit()
        access = dict(c.execute("SELECT zone_id, access FROM welfare.accessibility_result "
                                "WHERE run_id = %s AND demand > 0", [acc]).fetchall())
    assert access == pytest.approx({N[0]: 0.0, N[1]: 50.0, N[3]: 0.0}, abs=1e-12)
    got = fetch(dbname, "SELECT * FROM welfare.equity_measures(%s)", [acc]).set_index("measure")
    assert set(got["indicator"]) == {"pop_0_2:access"}
    hand = {"gini": 0.5, "theil_t": math.log(2), "theil_between": math.log(30 / 25),
            "theil_within": 0.6 * (50 / 30) * math.log(50 / 30)}
    for m, v in hand.items():
        assert got.loc[m, "value"] == pytest.approx(v, rel=1e-12), m
    assert got.loc["theil_within", "value"] + got.loc["theil_between", "value"] == \
        pytest.approx(math.log(2), rel=1e-12)
    assert pd.isna(got.loc["palma_ratio", "value"]) and pd.isna(got.loc["p90_p10", "value"])
    assert got.loc["p90_p10", "null_reason"] == "lower group mean or percentile is 0"
    assert (got.loc["gini", "zones"], got.loc["gini", "weight_total"],
            got.loc["gini", "mean"]) == (3, pytest.approx(120.0), pytest.approx(25.0))
    # the same values through welfare_core.equity
    want = equity.equity_measures([0.0, 50.0, 0.0], [40.0, 60.0, 20.0],
                                  groups=["D1", "D1", "D2"]).set_index("measure")
    same(got.loc[list(equity.MEASURES), "value"], want.loc[list(equity.MEASURES), "value"])
    cost = fetch(dbname, "SELECT * FROM welfare.equity_measures(%s, ARRAY['pop_0_2'], "
                         "'nearest_cost')", [acc]).set_index("measure")
    assert cost.loc["gini", "value"] == pytest.approx(0.5, rel=1e-12)
    assert cost.loc["gini", "mean"] == pytest.approx(1000.0, rel=1e-12)
    # stored and shown by BI with its service type
    with psycopg.connect(f"dbname={dbname}") as c:
        rid = c.execute("SELECT welfare.run_equity_measures(%s)", [acc]).fetchone()[0]
        rows = c.execute("SELECT DISTINCT indicator, service_type_id FROM "
                         "welfare_bi.equity_measures WHERE run_id = %s", [rid]).fetchall()
        params = c.execute("SELECT parameters FROM welfare.run WHERE run_id = %s",
                           [rid]).fetchone()[0]
        c.rollback()
    assert rows == [("pop_0_2:access", "nursery")]
    assert (params["source_run_id"], params["value_column"]) == (acc, "access")
    with psycopg.connect(f"dbname={dbname}") as c:
        with pytest.raises(psycopg.Error) as e:
            c.execute("SELECT * FROM welfare.equity_measures(%s, value_column => "
                      "'coverage_per_100')", [acc])
    assert e.value.sqlstate == "22023" and "access" in e.value.diag.message_hint


@pytest.mark.parametrize("query, args, state, fragment", [
    ("SELECT * FROM welfare.composite_index(%s, '[\"nope\"]')", [], "23503", "nope"),
    ("SELECT * FROM welfare.composite_index(%s, '[\"pop_65plus\"]', 'pca')", [], "22023", "pca"),
    ("SELECT * FROM welfare.hot_spots(%s, 'pop_65plus', weights => 'distance')", [], "22023",
     "distance_m"),
    ("SELECT * FROM welfare.compare_zones(%s, peers => 'friends')", [], "22023", "friends"),
    ("SELECT * FROM welfare.equity_measures(-1)", None, "23503", "no run -1"),
])
def test_errors_are_clean(dbname, run_id, query, args, state, fragment):
    with psycopg.connect(f"dbname={dbname}") as c:
        with pytest.raises(psycopg.Error) as e:
            c.execute(query, [run_id] if args is not None else [])
    assert e.value.sqlstate == state
    assert fragment in e.value.diag.message_primary
    assert "Traceback" not in str(e.value) and "plpy" not in e.value.diag.message_primary


def test_result_columns_are_commented_and_analyst_can_run(dbname, run_id):
    with psycopg.connect(f"dbname={dbname}") as c:
        missing = c.execute(
            "SELECT c.relname || '.' || a.attname FROM pg_class c JOIN pg_namespace n ON "
            "n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
            "AND NOT a.attisdropped WHERE n.nspname IN ('welfare', 'welfare_bi') AND "
            "c.relname IN ('composite_result', 'composite_component_result', 'benchmark_result', "
            "'hot_spot_result', 'moran_result', 'equity_result', 'composite_index', "
            "'composite_components', 'zone_benchmark', 'hot_spots', 'equity_measures') "
            "AND col_description(c.oid, a.attnum) IS NULL").fetchall()
        assert missing == []
        c.execute("SET ROLE welfare_analyst")
        rid = c.execute("SELECT welfare.run_hot_spots(%s, 'pop_65plus', permutations => 9)",
                        [run_id]).fetchone()[0]
        assert rid > 0
        c.execute("SET ROLE welfare_bi_reader")
        assert c.execute("SELECT count(*) FROM welfare_bi.hot_spots WHERE run_id = %s",
                         [rid]).fetchone()[0] == 4
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("SELECT * FROM welfare.hot_spot_result")
        c.rollback()


def test_stored_equity_run_uses_published_values_by_hand():
    """A stored (publishable) equity run reads the run's published values: a zone whose
    demand is suppressed is left out, not measured on its raw count."""
    from sql.wi_sql import fresh_database
    tables = tc.tables()
    d = tables["demand"]
    tables["demand"] = d.assign(demand=d["demand"].where(
        ~((d["zone_id"] == "015146-N4") & (d["target_id"] == "pop_65plus")), 6.0))
    # pop_65plus coverage per 100: N1 9/300 -> 3 (weight 300), N2 0/100 -> 0 (weight 100),
    # N3 no demand, N4 3/6 -> 50 on the raw 6, which publishing suppresses.
    # Published: weighted Gini = sum_ij w_i w_j |x_i - x_j| / (2 W^2 mean)
    #   = 2 * 300 * 100 * 3 / (2 * 400^2 * 900/400) = 0.25 (mean 2.25); Theil T =
    #   sum_i (w_i/W) (x_i/mean) ln(x_i/mean) = 0.75 * (4/3) * ln(4/3) = ln(4/3).
    # Raw (N4 kept): 409200 / (2 * 406^2 * 1200/406) = 0.41995..., mean 1200/406.
    with fresh_database() as db, psycopg.connect(f"dbname={db}") as c:
        assert import_all(c, tables) == []
        run = c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)").fetchone()[0]
        raw = dict(c.execute("SELECT measure, value FROM welfare.equity_measures(%s, "
                             "ARRAY['pop_65plus'])", [run]).fetchall())
        rid = c.execute("SELECT welfare.run_equity_measures(%s, ARRAY['pop_65plus'])",
                        [run]).fetchone()[0]
        stored = dict(c.execute("SELECT measure, value FROM welfare.equity_result "
                                "WHERE run_id = %s", [rid]).fetchall())
        c.rollback()
    assert raw["gini"] == pytest.approx(409200 / (2 * 406 * 1200))
    assert stored["gini"] == pytest.approx(0.25)
    assert stored["theil_t"] == pytest.approx(math.log(4 / 3))
