"""Differencing audit and the privacy extensions: intervals worked out by hand."""
import math

import numpy as np
import pandas as pd
import pytest

from welfare_core.errors import InputError
from welfare_core.privacy import Rules, merge_small_zones, publish_zone_indicators, safe_composites
from welfare_core.privacy_audit import (DisclosureRisk, audit_publication, feasible_intervals,
                                        published_bounds)

NAN = float("nan")


def district(d, n1, n2, n3, exact=False):
    return pd.DataFrame({"zone_id": ["D", "N1", "N2", "N3"], "parent_id": [None, "D", "D", "D"],
                         "published": [d, n1, n2, n3], "exact": [exact] * 4})


def test_bounds_of_published_values():
    lo, hi = published_bounds([15, 10, 0, NAN, 153], exact=[False, False, False, False, True])
    # 15 <- whole 13..17; 10 <- whole 8..12 (7 would be suppressed); 0 <- exactly 0
    # (0.4 is suppressed); suppressed <- 0 < x < 7.5; exact 153 is 153
    assert lo.tolist() == [12.5, 7.5, 0.0, 0.0, 153]
    assert hi.tolist() == [17.5, 12.5, 0.0, 7.5, 153]


def test_rounded_publication_keeps_the_suppressed_cell_uncertain():
    # N1 = D - N2 - N3 in [152.5 - 102.5 - 52.5, 157.5 - 97.5 - 47.5] = [-2.5, 12.5], cut to [0, 7.5]
    res = audit_publication(district(155, NAN, 100, 50))
    assert res.passed
    row = res.cells.iloc[0]
    assert (row.zone_id, row.lower, row.upper, row.width) == ("N1", 0.0, 7.5, 7.5)


def test_exact_totals_beside_suppression_leak_the_cell():
    res = audit_publication(district(153, NAN, 100, 50, exact=True), exact="exact")
    assert not res.passed
    assert res.cells.iloc[0][["lower", "upper"]].tolist() == pytest.approx([3.0, 3.0])
    with pytest.raises(DisclosureRisk, match="N1 in \\[3.00, 3.00\\]"):
        res.raise_if_failed()


def test_exact_parent_alone_is_not_enough_to_leak():
    f = district(153, NAN, 100, 50)
    f["exact"] = [True, False, False, False]
    # N1 in [153 - 102.5 - 52.5, 153 - 97.5 - 47.5] = [-2, 8] -> [0, 7.5]
    assert audit_publication(f, exact="exact").passed


def test_two_suppressed_siblings_share_their_uncertainty():
    f = pd.DataFrame({"zone_id": ["D", "N1", "N2", "N3"], "parent_id": [None, "D", "D", "D"],
                      "published": [106, NAN, NAN, 100], "exact": [True, False, False, True]})
    # N1 + N2 = 6, each in [0, 7.5] -> N1 in [0, 6]: width 6, enough
    res = audit_publication(f, exact="exact")
    assert res.cells.width.tolist() == pytest.approx([6.0, 6.0]) and res.passed
    f.loc[0, "published"] = 102  # N1 + N2 = 2 -> [0, 2]
    res = audit_publication(f, exact="exact")
    assert res.cells.width.tolist() == pytest.approx([2.0, 2.0]) and not res.passed


def test_three_levels_and_several_targets():
    f = pd.DataFrame({
        "target_id": ["a"] * 5 + ["b"] * 5,
        "zone_id": ["C", "D1", "D2", "N1", "N2"] * 2,
        "parent_id": [None, "C", "C", "D1", "D1"] * 2,
        "published": [50, 50, 0, 50, NAN, 57, 57, 0, 50, NAN],
        "exact": [False] * 5 + [True] * 5})
    res = audit_publication(f, exact="exact")
    assert res.cells.target_id.tolist() == ["a", "b"]
    # a: N2 = D1 - N1 in [47.5 - 52.5, 52.5 - 47.5] = [-5, 5] -> [0, 5]; b: 57 - 50 = 7 exactly
    assert res.cells.lower.tolist() == pytest.approx([0.0, 7.0])
    assert res.cells.upper.tolist() == pytest.approx([5.0, 7.0])
    assert res.cells.ok.tolist() == [True, False]
    assert audit_publication(f, exact="exact", min_width=5.5).cells.ok.tolist() == [False, False]


def test_contradictory_publication_is_an_error():
    with pytest.raises(InputError, match="contradict"):
        audit_publication(district(500, NAN, 100, 50))


def test_audit_input_errors():
    with pytest.raises(InputError, match="lacks column"):
        audit_publication(pd.DataFrame({"zone_id": ["a"]}))
    with pytest.raises(InputError, match="repeat"):
        feasible_intervals(["a", "a"], [None, None], [0, 0], [1, 1], [True, False])
    with pytest.raises(InputError, match="not negative"):
        published_bounds([-5])


def test_sensitive_targets_get_their_own_stricter_rules():
    rules = Rules.from_settings({"sensitive_suppress_below": "11", "sensitive_round_to": "10"})
    rows = pd.DataFrame({
        "target_id": ["dis", "dis", "old"], "demand": [9.0, 24.0, 9.0],
        "reference_population": [300.0, 400.0, 1000.0], "incidence_per_100": [3.0, 6.0, 0.9],
        "coverage_per_100": [1.0, 1.0, 1.0], "location_quotient": [1.0, 1.0, 1.0],
        "gap": [1.0, 1.0, 1.0], "required": [1.0, 1.0, 1.0], "supply": [1.0, 1.0, 1.0]})
    pub = publish_zone_indicators(rows, rules, sensitive={"dis"}, level="neighbourhood")
    assert math.isnan(pub.demand[0]) and pub.demand[1] == 20 and pub.demand[2] == 10
    assert math.isnan(pub.incidence_per_100[0])
    with pytest.raises(InputError, match="below suppress_below"):
        Rules(sensitive_suppress_below=5)
    with pytest.raises(InputError, match="not a int"):
        Rules.from_settings({"round_to": "five"})


def test_composites_only_above_the_population_floor():
    got = safe_composites([0.5, 0.9, 0.1], [99, 100, float("nan")])
    assert math.isnan(got[0]) and got[1] == 0.9 and math.isnan(got[2])
    merged = merge_small_zones(["C", "D1", "N1", "N2", "P"], [None, "C", "D1", "D1", "D1"],
                               [1000, 150, 50, 120, 10], Rules(composite_min_population=100))
    assert merged.tolist() == ["C", "D1", "D1", "N2", "D1"]
    assert merge_small_zones(["X"], [None], [5]).tolist() == [None]


# --- properties (hypothesis) --------------------------------------------------
from hypothesis import given, settings, strategies as st  # noqa: E402

from welfare_core.privacy import safe_counts, smallest_published  # noqa: E402

COUNTS = st.lists(st.one_of(st.floats(0, 1e7, allow_nan=False), st.integers(0, 40).map(float),
                            st.just(float("nan"))), max_size=30)


@settings(max_examples=200, deadline=None)
@given(counts=COUNTS, s=st.integers(3, 20), b=st.integers(1, 10))
def test_safe_counts_never_small_never_unrounded(counts, s, b):
    rules = Rules(suppress_below=s, round_to=b)
    out = safe_counts(counts, rules)
    for x, y in zip(counts, out):
        if math.isnan(y):
            assert math.isnan(x) or 0 < x and math.floor(x + 0.5) < s
        else:  # raised to the smallest published value, or within rounding
            assert y % b == 0 and not 1 <= y < s
            assert (y == 0) == (x == 0)  # a published 0 is exactly 0
            assert abs(y - x) <= b / 2 + 0.5 or y == smallest_published(rules)


@given(st.lists(st.one_of(st.floats(allow_nan=True), st.text(max_size=3)), max_size=5))
def test_malformed_counts_are_input_errors_or_results(values):
    try:
        out = safe_counts(values)
    except (InputError, ValueError, TypeError):
        return
    assert len(out) == len(values)


@settings(max_examples=60, deadline=None)
@given(s=st.integers(3, 12), b=st.integers(1, 6), children=st.lists(st.lists(st.floats(0, 60), min_size=1, max_size=6), min_size=1, max_size=4))
def test_audit_intervals_always_contain_the_truth(s, b, children):
    """Soundness: publishing true counts by the rules, the audit's interval of every
    suppressed cell contains its true value (it never claims more than is known)."""
    rows = [("C", None, sum(sum(c) for c in children))]
    for i, kids in enumerate(children):
        rows.append((f"D{i}", "C", sum(kids)))
        rows += [(f"N{i}_{j}", f"D{i}", v) for j, v in enumerate(kids)]
    f = pd.DataFrame(rows, columns=["zone_id", "parent_id", "truth"])
    rules = Rules(suppress_below=s, round_to=b)
    f["published"] = safe_counts(f.truth, rules)
    res = audit_publication(f, rules)
    truth = f.set_index("zone_id").truth
    for _, r in res.cells.iterrows():
        assert r.lower - 1e-6 <= truth[r.zone_id] <= r.upper + 1e-6


# --- exact interval propagation == the LPs ------------------------------------

def test_city_total_narrows_a_neighbourhood_beyond_its_district():
    """Why districts cannot be audited alone: C = 10 exactly and D2 published 0 (exactly
    0), so D1 = 10, not its own [7.5, 12.5]; N2 published 10 is in [7.5, 12.5], so
    N1 = D1 - N2 in [10 - 12.5, 10 - 7.5] -> [0, 2.5], where D1's sub-tree alone
    says N1 in [7.5 - 12.5, 12.5 - 7.5] -> [0, 5]."""
    f = pd.DataFrame({"zone_id": ["C", "D1", "D2", "N1", "N2"],
                      "parent_id": [None, "C", "C", "D1", "D1"],
                      "published": [10, 10, 0, NAN, 10], "exact": [True] + [False] * 4})
    for method in ("propagate", "lp"):
        res = audit_publication(f, exact="exact", method=method)
        assert res.cells[["lower", "upper"]].iloc[0].tolist() == pytest.approx([0.0, 2.5])
    alone = f.iloc[[1, 3, 4]].assign(parent_id=[None, "D1", "D1"])
    assert audit_publication(alone).cells[["lower", "upper"]].iloc[0].tolist() == \
        pytest.approx([0.0, 5.0])
    # with min_width 3 the whole tree fails where the sub-tree alone would pass
    assert not audit_publication(f, exact="exact", min_width=3).passed
    assert audit_publication(alone, min_width=3).passed


def random_publication(rng):
    """A random forest of 1-3 cities (depth up to 4), true counts published by random
    rules, some cells exact, some not shown, one or two targets."""
    rows = []
    for t in ("a", "b")[: rng.integers(1, 3)]:
        def grow(zone, parent, depth):
            kids = [] if depth == 3 else [grow(f"{zone}.{k}", zone, depth + 1)
                                          for k in range(rng.integers(0, 4))]
            truth = sum(kids) if kids else float(rng.choice([0, rng.integers(1, 9), rng.integers(0, 60)]))
            rows.append((t, zone, parent, truth))
            return truth
        for c in range(rng.integers(1, 4)):
            grow(f"C{c}", None, 0)
    f = pd.DataFrame(rows, columns=["target_id", "zone_id", "parent_id", "truth"])
    rules = Rules(suppress_below=int(rng.integers(3, 12)), round_to=int(rng.integers(1, 6)))
    f["published"] = safe_counts(f.truth, rules)
    f["exact"] = rng.random(len(f)) < 0.3
    f.loc[f.exact, "published"] = f.truth.where(f.published.notna())
    f["shown"] = rng.random(len(f)) < 0.9
    return f, rules


def test_propagation_gives_the_lp_intervals_on_random_publications():
    rng = np.random.default_rng(20230101)
    checked = 0
    for _ in range(150):
        f, rules = random_publication(rng)
        fast = audit_publication(f, rules, exact="exact", shown="shown")
        ref = audit_publication(f, rules, exact="exact", shown="shown", method="lp")
        assert fast.cells[["target_id", "zone_id"]].equals(ref.cells[["target_id", "zone_id"]])
        for col in ("lower", "upper"):
            a, b = fast.cells[col].to_numpy(), ref.cells[col].to_numpy()
            assert np.array_equal(np.isinf(a), np.isinf(b))
            assert a[np.isfinite(a)] == pytest.approx(b[np.isfinite(b)], abs=1e-6)
        truth = f.set_index(["target_id", "zone_id"]).truth
        for r in fast.cells.itertuples():  # and both contain the truth
            assert r.lower - 1e-6 <= truth[(r.target_id, r.zone_id)] <= r.upper + 1e-6
        checked += len(fast.cells)
    assert checked > 300  # the draws did produce suppressed cells to compare


def test_propagation_and_lp_agree_on_arbitrary_bounds_and_contradictions():
    """Bounds that are not from a rounding rule: wide, narrow, infinite, inconsistent."""
    rng = np.random.default_rng(7)
    outcomes = set()
    for _ in range(200):
        n = int(rng.integers(1, 12))
        parents = [None] + [f"z{rng.integers(0, k)}" for k in range(1, n)]
        lo = rng.integers(0, 20, n).astype(float)
        hi = lo + rng.choice([0.0, 1.0, 5.0, 30.0, np.inf], n)
        protect = rng.random(n) < 0.6
        ids = [f"z{k}" for k in range(n)]
        try:
            fast = feasible_intervals(ids, parents, lo, hi, protect)
        except InputError as e:
            assert "contradict" in str(e)
            if protect.any():  # the LPs only see a contradiction when they have a cell to solve
                with pytest.raises(InputError, match="contradict"):
                    feasible_intervals(ids, parents, lo, hi, protect, method="lp")
            outcomes.add("contradiction")
            continue
        ref = feasible_intervals(ids, parents, lo, hi, protect, method="lp")
        for a, b in zip(fast, ref):
            assert np.array_equal(np.isnan(a), np.isnan(b)) and np.array_equal(np.isinf(a), np.isinf(b))
            ok = np.isfinite(a)
            assert a[ok] == pytest.approx(b[ok], abs=1e-6)
        outcomes.add("unbounded" if np.isinf(fast[1]).any() else "bounded")
    assert outcomes == {"contradiction", "unbounded", "bounded"}


def test_propagation_input_errors():
    with pytest.raises(InputError, match="cycle"):
        feasible_intervals(["a", "b"], ["b", "a"], [0, 0], [1, 1], [True, True])
    with pytest.raises(InputError, match="method"):
        feasible_intervals(["a"], [None], [0], [1], [True], method="simplex")
    with pytest.raises(InputError, match="same length"):
        feasible_intervals(["a"], [None], [0, 1], [1], [True])


def test_a_cell_published_in_two_tables_is_known_within_both():
    """N1 suppressed by the strict rules of a sensitive target (threshold 11, base 10:
    [0, 10.5]) but shown as 10 by a table under the default rules ([7.5, 12.5]):
    together [7.5, 10.5]: width 3, a leak. D = 100 exactly and N2 published 90 by the strict rules
    (whole 85..94: [84.5, 94.5]) give N1 in [5.5, 15.5]."""
    rules = Rules(sensitive_suppress_below=11, sensitive_round_to=10)
    f = pd.DataFrame({"target_id": ["dis"] * 4, "zone_id": ["D", "N1", "N2", "N1"],
                      "parent_id": [None, "D", "D", "D"], "published": [100, NAN, 90, 10],
                      "exact": [True, False, False, False], "strict": [True, True, True, False]})
    res = audit_publication(f, rules, exact="exact", strict="strict")
    # hidden by the strict table, shown by the other: the strict suppression is undone
    assert res.cells[["zone_id", "lower", "upper"]].values.tolist() == [["N1", 7.5, 10.5]]
    assert not res.passed
    f.loc[3, "published"] = NAN  # the second table suppresses it too (default threshold 8)
    res = audit_publication(f, rules, exact="exact", strict="strict")
    # default suppression says [0, 7.5]; strict [0, 10.5]; D - N2 in [5.5, 15.5] -> [5.5, 7.5]
    assert res.cells[["zone_id", "lower", "upper"]].values.tolist() == [["N1", 5.5, 7.5]]
    assert not res.passed
    alone = audit_publication(f.iloc[:3], rules, exact="exact", strict="strict")
    assert alone.cells[["lower", "upper"]].values.tolist() == [[5.5, 10.5]] and alone.passed
    f.loc[3, "parent_id"] = "X"
    with pytest.raises(InputError, match="two different parent_id"):
        audit_publication(f, rules, exact="exact", strict="strict")


def test_zone_indicator_runs_are_bounded_by_the_rules_they_were_published_with():
    """District run 2 published to the unit (round_to 1): D = 100 -> [99.5, 100.5];
    neighbourhood run 1 earlier under round_to 5: N2 = 95 -> [92.5, 97.5], N1 hidden.
    N1 = D - N2 in [2, 8] -> [2, 7.5]. Read with run 2's rules, N2 would be [94.5, 95.5]
    and N1 [4, 6]: an audit that forgot the earlier rules would claim too much."""
    from welfare_core.privacy_audit import audit_zone_indicators
    rows = pd.DataFrame({"run_id": [2, 1, 1], "target_id": "t", "zone_id": ["D", "N1", "N2"],
                         "parent_id": [None, "D", "D"], "demand": [100, NAN, 95],
                         "published": True})
    services = pd.DataFrame({"run_id": [1], "reference_target_id": ["t"], "zone_id": ["N1"],
                             "parent_id": ["D"], "reference_population": [NAN]})
    unit = Rules(round_to=1)
    res = audit_zone_indicators(rows, services, unit, run_rules={1: Rules()})
    assert res.cells[["zone_id", "lower", "upper"]].values.tolist() == [["N1", 2.0, 7.5]]
    assert res.passed
    naive = audit_zone_indicators(rows, services, unit)
    assert naive.cells[["lower", "upper"]].values.tolist() == [[4.0, 6.0]] and not naive.passed
    # a row not shown (a sensitive target below its fixed geographies) tells nothing
    rows.loc[2, "published"] = False
    res = audit_zone_indicators(rows, None, unit, run_rules={1: Rules()})
    assert res.cells[["lower", "upper"]].values.tolist() == [[0.0, 7.5]]


# --- complementary (secondary) suppression -------------------------------------

def _sections(s1=7.0, s2=32.0, s3=0.0):
    """Neighbourhood N (published earlier: 39 -> 40, known in [37.5, 42.5]) and its
    sections S1 = 7 (suppressed), S2 = 32 (-> 30: [27.5, 32.5]), S3 = 0 (exactly 0)."""
    from welfare_core.privacy import safe_counts
    rows = pd.DataFrame({"target_id": "t", "zone_id": ["S1", "S2", "S3"], "parent_id": "N",
                         "demand": [s1, s2, s3]})
    n = s1 + s2 + s3
    fixed = pd.DataFrame({"target_id": ["t"], "zone_id": ["N"], "parent_id": [None],
                          "demand": safe_counts([n]), "published": [True]})
    return rows, fixed


def test_a_zero_beside_a_suppressed_cell_pins_it_and_a_complementary_cell_frees_it():
    from welfare_core.privacy_audit import audit_zone_indicators, complementary_suppression
    rows, fixed = _sections()
    primary = rows.assign(demand=[NAN, 30.0, 0.0], published=True)
    # S1 = N - S2 - S3 in [37.5 - 32.5 - 0, 42.5 - 27.5 - 0] = [5, 15] -> [5, 7.5]: width 2.5
    res = audit_zone_indicators(pd.concat([fixed, primary]))
    assert res.cells[["zone_id", "lower", "upper"]].values.tolist() == [["S1", 5.0, 7.5]]
    assert not res.passed
    # the smallest sibling (S3, 0) is suppressed too; it may then be anything >= 0, so
    # S1 in [37.5 - 32.5 - inf, 42.5 - 27.5 - 0] -> [0, 7.5]: width 7.5
    comp = complementary_suppression(rows, level="section", published_with=(fixed, None))
    assert comp.values.tolist() == [["t", "S3"]]
    pub = publish_zone_indicators(rows.assign(reference_population=1000.0, supply=0.0),
                                  level="section", complementary=comp)
    assert pub.demand.isna().tolist() == [True, False, True]
    assert pub.complementary.tolist() == [False, False, True]
    res = audit_zone_indicators(pd.concat([fixed, pub.assign(published=True)]))
    assert res.passed and res.cells.zone_id.tolist() == ["S1"]  # S3 is not protected
    assert res.cells[["lower", "upper"]].values.tolist() == [[0.0, 7.5]]


def test_complementary_cells_take_the_smallest_sibling_and_hide_its_second_copy():
    """S1 = 7, S2 = 32, S3 = 12, N = 51. Rounded to 5 nothing is pinned. Published to the
    unit (round_to 1): N in [50.5, 51.5], S2 in [31.5, 32.5], S3 in [11.5, 12.5], so
    S1 in [50.5 - 32.5 - 12.5, 51.5 - 31.5 - 11.5] = [5.5, 8.5] -> [5.5, 7.5]. The smallest
    sibling, S3, is suppressed, in the target rows and in the service rows whose reference
    target it is: S1 in [50.5 - 32.5 - inf, 51.5 - 31.5 - 0] -> [0, 7.5]."""
    from welfare_core.privacy_audit import complementary_suppression
    rows, fixed = _sections(s3=12.0)
    # before: S1 in [47.5 - 32.5 - 12.5, 52.5 - 27.5 - 7.5] = [2.5, 17.5] -> [2.5, 7.5]: passes
    assert complementary_suppression(rows, level="section", published_with=(fixed, None)).empty
    fixed_exact = fixed.assign(demand=51.0)  # N published to the unit
    rules = Rules(round_to=1)
    services = pd.DataFrame({"reference_target_id": "t", "zone_id": ["S1", "S2", "S3"],
                             "parent_id": "N", "reference_population": [7.0, 32.0, 12.0]})
    comp = complementary_suppression(rows, services, rules, level="section",
                                     published_with=(fixed_exact, None))
    assert comp.values.tolist() == [["t", "S3"]]
    pub_s = publish_zone_indicators(services.assign(service_type_id="x", supply=5.0,
                                                    standard_per_100=10.0),
                                    rules, level="section", complementary=comp)
    assert pub_s.reference_population.isna().tolist() == [True, False, True]
    assert pub_s.coverage_per_100.isna().tolist() == [True, False, True]
    assert pub_s.gap.isna().tolist() == [True, False, True]


def test_a_cell_whose_own_range_is_too_narrow_gets_no_complementary_cell():
    """Threshold 3, base 1: N = 5 published 5 ([4.5, 5.5]), S1 = 2 hidden ([0, 2.5]),
    S2 = 3 published 3 ([2.5, 3.5]): S1 in [1, 2.5]. Even with S2 suppressed S1 would be
    in [0, 2.5], narrower than 5: no complementary cell can help, none is suppressed, and
    the audit fails (the run is held back)."""
    from welfare_core.privacy_audit import audit_zone_indicators, complementary_suppression
    rules = Rules(suppress_below=3, round_to=1)
    rows = pd.DataFrame({"target_id": "t", "zone_id": ["S1", "S2"], "parent_id": "N",
                         "demand": [2.0, 3.0]})
    fixed = pd.DataFrame({"target_id": ["t"], "zone_id": ["N"], "parent_id": [None],
                          "demand": [5.0], "published": [True]})
    primary = rows.assign(demand=[NAN, 3.0], published=True)
    res = audit_zone_indicators(pd.concat([fixed, primary]), rules=rules)
    assert res.cells[["lower", "upper"]].values.tolist() == [[1.0, 2.5]] and not res.passed
    assert complementary_suppression(rows, rules=rules, level="section",
                                     published_with=(fixed, None)).empty
    after = primary.assign(complementary=[False, True])
    res = audit_zone_indicators(pd.concat([fixed, after]), rules=rules)
    assert res.cells[["lower", "upper"]].values.tolist() == [[0.0, 2.5]] and not res.passed


# --- one level published together with its parents (the QGIS export's case) ------------

def _level(counts, parents):
    zones = [f"S{i + 1}" for i in range(len(counts))]
    return pd.DataFrame({"zone_id": zones, "parent_id": parents, "count": counts})


def test_unit_publication_beside_a_parent_total_needs_the_smallest_sibling_suppressed():
    """Parent total 30 with children 3, 12, 15, published to the unit (round_to 1):
    P in [29.5, 30.5], 12 in [11.5, 12.5], 15 in [14.5, 15.5], so the hidden 3 is in
    [29.5 - 12.5 - 15.5, 30.5 - 11.5 - 14.5] = [1.5, 4.5]: width 3 < 5. Suppressing the
    smallest sibling, 12 (then anything >= 0), gives [29.5 - inf, 30.5 - 14.5 - 0] = [0, 16]
    -> [0, 7.5]: width 7.5, the audit passes. Exactly one complementary cell."""
    from welfare_core.privacy_audit import publish_with_parents
    rules = Rules(round_to=1)
    primary = pd.DataFrame({"zone_id": ["P", "S1", "S2", "S3"],
                            "parent_id": [None, "P", "P", "P"],
                            "published": [30.0, NAN, 12.0, 15.0]})
    before = audit_publication(primary, rules)
    assert before.cells[["lower", "upper"]].values.tolist() == [[1.5, 4.5]]
    assert not before.passed
    res = publish_with_parents(_level([3.0, 12.0, 15.0], "P"), rules)
    assert res.complementary.tolist() == [False, True, False]
    assert np.isnan(res.published[:2]).all() and res.published[2] == 15.0
    assert res.audit.passed
    assert res.audit.cells[["zone_id", "lower", "upper"]].values.tolist() == [["S1", 0.0, 7.5]]
    assert res.parents[["zone_id", "published"]].values.tolist() == [["P", 30.0]]


def test_rounded_to_five_three_siblings_need_nothing_two_do():
    """Defaults (1-7 hidden, rounded to 5). Parent 30 = 3 + 12 + 15: 12 -> 10 in
    [7.5, 12.5], 15 in [12.5, 17.5], 30 in [27.5, 32.5]: the 3 is in [-2.5, 12.5] -> [0, 7.5],
    safe as it is. Parent 38 = 7 + 31: 38 -> 40 in [37.5, 42.5], 31 -> 30 in [27.5, 32.5]:
    the 7 is in [5, 15] -> [5, 7.5], width 2.5; with 31 suppressed it is in [0, 7.5]."""
    from welfare_core.privacy_audit import publish_with_parents
    res = publish_with_parents(_level([3.0, 12.0, 15.0, 7.0, 31.0],
                                      ["P2", "P2", "P2", "P1", "P1"]))
    assert res.complementary.tolist() == [False, False, False, False, True]
    assert res.published[[1, 2]].tolist() == [10.0, 15.0]
    assert np.isnan(res.published[[0, 3, 4]]).all()
    cells = res.audit.cells.set_index("zone_id")
    assert res.audit.passed and sorted(cells.index) == ["S1", "S4"]  # S5 is not protected
    assert cells.loc["S1", ["lower", "upper"]].tolist() == [0.0, 7.5]
    assert cells.loc["S4", ["lower", "upper"]].tolist() == [0.0, 7.5]
    # the same children without S5 suppressed fail: what the plain export published
    plain = pd.DataFrame({"zone_id": ["P1", "S4", "S5"], "parent_id": [None, "P1", "P1"],
                          "published": [40.0, NAN, 30.0]})
    assert audit_publication(plain).cells[["lower", "upper"]].values.tolist() == [[5.0, 7.5]]


def test_the_smallest_sibling_is_the_complementary_cell_even_a_zero():
    """Parent 38 = 7 + 0 + 31: the 0 is exact, so the 7 is in [37.5 - 32.5 - 0,
    42.5 - 27.5 - 0] = [5, 15] -> [5, 7.5]. The smallest sibling is the 0 (not the 31):
    hidden, the 7 is in [0, 7.5]."""
    from welfare_core.privacy_audit import publish_with_parents
    res = publish_with_parents(_level([7.0, 0.0, 31.0], "P"))
    assert res.complementary.tolist() == [False, True, False]
    assert res.published[2] == 30.0 and res.audit.passed


def test_published_parents_are_fixed_cells():
    """PARENTS as published: P1 hidden although its total, 38, would be shown, so it was
    hidden as a complementary cell (anything >= 0): the 7 under it is in [0, 7.5] with the
    31 published. P2 = 5 = 2 + 3 hidden by the primary rule: a protected cell, in
    [0, 7.5] ∩ [0, 15]; its children are hidden too."""
    from welfare_core.privacy_audit import publish_with_parents
    children = _level([7.0, 31.0, 2.0, 3.0], ["P1", "P1", "P2", "P2"])
    parents = pd.DataFrame({"zone_id": ["P2", "P1", "P9"], "published": [NAN, NAN, 100.0]})
    res = publish_with_parents(children, parents=parents)
    assert not res.complementary.any()
    assert res.published[1] == 30.0 and np.isnan(res.published[[0, 2, 3]]).all()
    assert res.parents[["zone_id", "complementary"]].values.tolist() == [["P1", True],
                                                                         ["P2", False]]
    cells = res.audit.cells.set_index(["is_parent", "zone_id"])
    assert res.audit.passed and len(cells) == 4
    assert cells.loc[(True, "P2"), ["lower", "upper"]].tolist() == [0.0, 7.5]
    assert cells.loc[(False, "S1"), ["lower", "upper"]].tolist() == [0.0, 7.5]
    # published as 40 instead, P1 pins the 7 again: the 31 goes
    res = publish_with_parents(children, parents=parents.assign(published=[NAN, 40.0, 1.0]))
    assert res.complementary.tolist() == [False, True, False, False] and res.audit.passed


def test_a_pinned_cell_with_no_sibling_left_fails_the_audit():
    """Parent 14 = 7 + 7, published 15 ([12.5, 17.5]): each 7 is in [12.5 - 7.5, 7.5] =
    [5, 7.5] and no published sibling is left to suppress: the audit fails."""
    from welfare_core.privacy_audit import publish_with_parents
    res = publish_with_parents(_level([7.0, 7.0], "P"))
    assert not res.complementary.any() and not res.audit.passed
    assert res.audit.cells[["lower", "upper"]].values.tolist() == [[5.0, 7.5], [5.0, 7.5]]


def test_tables_are_separate_hierarchies():
    from welfare_core.privacy_audit import publish_with_parents
    children = pd.DataFrame({"table": ["a", "a", "b", "b"], "zone_id": ["S1", "S2"] * 2,
                             "parent_id": 1.0, "count": [7.0, 31.0, 20.0, 18.0]})
    parents = pd.DataFrame({"table": ["a", "b"], "zone_id": [1, 1], "published": [40.0, 40.0]})
    for given in (None, parents):
        res = publish_with_parents(children, parents=given)
        # table a as above; table b (20 -> 20, 18 -> 20, 38 -> 40) hides nothing
        assert res.complementary.tolist() == [False, True, False, False]
        assert res.published[2:].tolist() == [20.0, 20.0]
        assert res.audit.cells.target_id.tolist() == ["a"]


@pytest.mark.parametrize("children,parents,match", [
    (_level([7.0, 31.0], ["P", None]), None, "without a parent: S2"),
    (_level([7.0, NAN], "P"), None, "without a count: S2"),
    (_level([7.0, -1.0], "P"), None, "negative"),
    (_level([7.0, 31.0], "P").assign(zone_id="S1"), None, "S1 repeat"),
    (_level([7.0, 31.0], ["P", "Q"]), pd.DataFrame({"zone_id": ["P"], "published": [5.0]}),
     "not found among the published parents: Q"),
    (_level([7.0, 31.0], "P"), pd.DataFrame({"zone_id": ["P", "P"], "published": [40.0] * 2}),
     "P repeat"),
    # published 100 but its children add up to 38: [97.5, 102.5] against [27.5, 40]
    (_level([7.0, 31.0], "P"), pd.DataFrame({"zone_id": ["P"], "published": [100.0]}),
     "contradict"),
    (_level([7.0, 31.0], "P").assign(table="a"), pd.DataFrame({"zone_id": ["P"],
                                                               "published": [40.0]}),
     "lack column"),
])
def test_publish_with_parents_input_errors(children, parents, match):
    from welfare_core.privacy_audit import publish_with_parents
    with pytest.raises(InputError, match=match):
        publish_with_parents(children, parents=parents)
