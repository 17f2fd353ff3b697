"""Disclosure control on the sample city: every welfare_bi count is safe, and the
published neighbourhood / district / city demand passes the differencing audit,
while a publication that adds exact totals beside the suppressed cells fails it."""
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest

from sql.wi_sql import ROOT, run_cli
from welfare_core.privacy import Rules
from welfare_core.privacy_audit import audit_publication

SAMPLE = ROOT / "data" / "sample"
LEVELS = ("neighbourhood", "district", "city")


@pytest.fixture(scope="module")
def sample(dbname):
    files = [SAMPLE / "milan_sample.gpkg", *sorted(SAMPLE.glob("*.csv.gz"))]
    out = run_cli(dbname, *files)
    assert out.returncode == 0, out.stderr
    with psycopg.connect(f"dbname={dbname}") as c:
        for level in LEVELS:
            c.execute("SELECT welfare.run_zone_indicators(%s, 2023)", [level])
        c.commit()
        rules = Rules.from_settings(dict(c.execute("SELECT name, value FROM welfare.setting")))
        sensitive = [r[0] for r in c.execute("SELECT target_id FROM welfare.target WHERE sensitive")]
    return dict(db=dbname, rules=rules, sensitive=sensitive)


def bi(sample, query, params=None):
    with psycopg.connect(f"dbname={sample['db']}") as c:
        c.execute("SET ROLE welfare_bi_reader")
        cur = c.execute(query, params)
        return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def test_no_bi_count_is_small_or_unrounded(sample):
    f = bi(sample, "SELECT demand, reference_population FROM welfare_bi.zone_indicators")
    assert len(f) > 1000
    for col in ("demand", "reference_population"):
        v = f[col].dropna()
        assert not v.between(1, 7).any(), col
        assert (v % 5 == 0).all(), col
        assert f[col].isna().any() or col == "reference_population"


def published(sample, targets):
    return bi(sample, "SELECT target_id, zone_id, parent_id, zone_level, demand AS published "
                      "FROM welfare_bi.zone_indicators WHERE target_id = ANY(%s) "
                      "ORDER BY target_id, zone_id", [targets])


def test_sensitive_targets_pass_the_differencing_audit(sample):
    f = published(sample, sample["sensitive"])
    assert set(f.zone_level) == set(LEVELS) and f.published.isna().sum() >= 5
    res = audit_publication(f, sample["rules"].for_target(True))
    assert res.passed, res.cells[~res.cells.ok]
    assert len(res.cells) == f.published.isna().sum()
    assert (res.cells.width >= sample["rules"].audit_min_width).all()


def test_every_target_passes_the_differencing_audit(sample):
    with psycopg.connect(f"dbname={sample['db']}") as c:
        targets = [r[0] for r in c.execute("SELECT target_id FROM welfare.target")]
    assert audit_publication(published(sample, targets), sample["rules"]).passed


def test_exact_totals_beside_suppressed_cells_fail_the_audit(sample):
    """The leak of a second, uncoordinated table: neighbourhoods suppressed but not
    rounded, and district and city totals exact (e.g. an office publishing raw sums)."""
    allpub = published(sample, sample["sensitive"])
    hidden = allpub[allpub.published.isna() & (allpub.zone_level == "neighbourhood")]
    alone = hidden.groupby(["target_id", "parent_id"]).size()
    target = alone[alone == 1].index[0][0]  # a district with one suppressed neighbourhood
    pub = allpub[allpub.target_id == target]
    with psycopg.connect(f"dbname={sample['db']}") as c:
        c.execute("SET ROLE welfare_analyst")
        raw = pd.concat([pd.DataFrame(c.execute(
            "SELECT zone_id, demand FROM welfare.zone_indicators(%s, 2023, ARRAY[%s])",
            [level, target]).fetchall(), columns=["zone_id", "raw"]) for level in LEVELS])
    leaky = pub.merge(raw, on="zone_id")
    leaky["published"] = leaky.raw.where(leaky.published.notna())
    leaky["exact"] = True
    res = audit_publication(leaky, sample["rules"].for_target(True), exact="exact")
    assert not res.passed
    bad = res.cells[~res.cells.ok].merge(raw, on="zone_id")
    # where a district holds one suppressed neighbourhood, the attacker gets it exactly
    assert ((bad.lower - 1e-6 <= bad.raw) & (bad.raw <= bad.upper + 1e-6)).all()
    assert (bad.width < 1e-6).any()


# --- the audit wired into publishing (welfare.publication_audit) -----------------

AUDITS = """SELECT a.run_id, r.parameters ->> 'level' AS level, a.passed, a.checked_cells,
                   a.failed_cells, a.narrowest_width, a.narrowest_cell, a.threshold,
                   a.audited_with, a.message
              FROM welfare.publication_audit a JOIN welfare.run r USING (run_id)"""


def frame(c, query, params=None):
    cur = c.execute(query, params)
    return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def bi_runs(c):
    return dict(c.execute("SELECT DISTINCT zone_level, run_id FROM welfare_bi.zone_indicators"
                          ).fetchall())


def test_every_run_is_audited_with_what_is_published_and_then_shown(sample):
    with psycopg.connect(f"dbname={sample['db']}") as c:
        a = frame(c, AUDITS + " ORDER BY a.run_id")
        assert a.level.tolist() == list(LEVELS) and a.passed.all() and (a.failed_cells == 0).all()
        # neighbourhoods first, alone; districts with them; the city with both
        assert [sorted(w) for w in a.audited_with] == [[], a.run_id[:1].tolist(),
                                                       sorted(a.run_id[:2].tolist())]
        assert bi_runs(c) == dict(zip(a.level, a.run_id))
        assert set(c.execute("SELECT DISTINCT run_id FROM welfare_bi.zone_service_indicators"
                             ).fetchall()) == {(r,) for r in a.run_id}
        # the last audit saw every suppressed (target, zone) count of the three levels: in
        # the target rows shown, or as a service type's reference population
        runs = a.run_id.tolist()
        hidden = c.execute(
            "SELECT count(*) FROM (SELECT target_id, zone_id FROM welfare.zone_indicator_result "
            "WHERE run_id = ANY(%(r)s) AND published AND demand_pub IS NULL UNION "
            "SELECT reference_target_id, zone_id FROM welfare.zone_service_result "
            "WHERE run_id = ANY(%(r)s) AND reference_population_pub IS NULL) h", {"r": runs}
        ).fetchone()[0]
        assert a.checked_cells.iloc[-1] == hidden > 50
        assert (a.narrowest_width >= sample["rules"].audit_min_width).all()
        assert (a.threshold == sample["rules"].audit_min_width).all()
        # a second call returns the stored outcome and adds nothing
        again = c.execute("SELECT * FROM welfare.audit_publication(%s)", [runs[-1]]).fetchall()
        assert again == [(True, hidden, 0, a.narrowest_width.iloc[-1], a.narrowest_cell.iloc[-1],
                          a.message.iloc[-1])]
        assert c.execute("SELECT count(*) FROM welfare.publication_audit").fetchone()[0] == 3


def test_a_leaky_run_is_held_back_and_the_previous_one_stays_published(sample):
    """round_to = 1: neighbourhoods published to the unit pass beside districts rounded
    to 5 (a hidden one is district - siblings: width >= 5), but a district run rounded to
    the unit then pins a hidden neighbourhood down: it fails, and the district run of the
    fixture stays in welfare_bi."""
    with psycopg.connect(f"dbname={sample['db']}") as c:
        before = bi_runs(c)
        c.execute("UPDATE welfare.setting SET value = '1' WHERE name = 'round_to'")
        hood = c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)").fetchone()[0]
        dist = c.execute("SELECT welfare.run_zone_indicators('district', 2023)").fetchone()[0]
        a = frame(c, AUDITS + " WHERE a.run_id = ANY(%s) ORDER BY a.run_id", [[hood, dist]])
        assert a.passed.tolist() == [True, False]
        bad = a.iloc[1]
        assert bad.failed_cells >= 1 and bad.narrowest_width < 5
        assert sorted(bad.audited_with) == sorted([hood, before["city"]])
        assert "recoverable within less than 5" in bad.message and bad.narrowest_cell in bad.message
        assert bi_runs(c) == {**before, "neighbourhood": hood}
        # the narrowest interval by hand: hidden N = D - sum of its siblings, each published
        # value p known within [p - 0.5, p + 0.5] (0: [0, 0.5]; hidden: [0.5, 7.5])
        target, zone = bad.narrowest_cell.split()
        pub = frame(c, "SELECT zone_id, parent_id, demand_pub FROM welfare.zone_indicator_result "
                       "WHERE run_id = ANY(%s) AND target_id = %s", [[hood, dist], target])
        parent = pub.set_index("zone_id").parent_id[zone]
        d = pub.set_index("zone_id").demand_pub[parent]
        sib = pub[(pub.parent_id == parent) & (pub.zone_id != zone)].demand_pub.astype(float)
        lo_s = np.where(sib.isna(), 0.5, np.maximum(sib - 0.5, 0))
        hi_s = np.where(sib.isna(), 7.5, np.where(sib == 0, 0.5, sib + 0.5))
        lo, hi = max(0.5, d - 0.5 - hi_s.sum()), min(7.5, d + 0.5 - lo_s.sum())
        assert bad.narrowest_width == pytest.approx(hi - lo, abs=1e-6)
        c.rollback()


def test_the_sample_sections_beside_the_neighbourhoods_fail_the_audit(sample):
    """Sections published 0 (< 0.5 each) under a suppressed neighbourhood bound it by
    0.5 x (number of sections): the section run is held back, nothing else changes."""
    with psycopg.connect(f"dbname={sample['db']}") as c:
        before = bi_runs(c)
        run = c.execute("SELECT welfare.run_zone_indicators('section', 2023)").fetchone()[0]
        a = frame(c, AUDITS + " WHERE a.run_id = %s", [run]).iloc[0]
        assert not a.passed and a.failed_cells >= 1
        assert bi_runs(c) == before
        target, zone = a.narrowest_cell.split()
        sec = frame(c, "SELECT demand_pub FROM welfare.zone_indicator_result WHERE run_id = %s "
                       "AND target_id = %s AND parent_id = %s", [run, target, zone])
        if (sec.demand_pub == 0).all():  # the case of the sample: [0.5, 0.5 k]
            assert a.narrowest_width == pytest.approx(0.5 * len(sec) - 0.5, abs=1e-6)
        assert a.narrowest_width < 5
        c.rollback()


def test_audit_publication_errors(sample):
    with psycopg.connect(f"dbname={sample['db']}") as c:
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="not a zone_indicators run"):
            c.execute("SELECT * FROM welfare.audit_publication(-1)")
