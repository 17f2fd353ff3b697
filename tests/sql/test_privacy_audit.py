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
    with psycopg.connect(f"dbname={sample['db']}") as c:
        plain = [r[0] for r in c.execute("SELECT target_id FROM welfare.target WHERE NOT sensitive")]
    # a district with one suppressed neighbourhood: among the sensitive targets, else the
    # others (since a published 0 means exactly 0, more small sensitive counts are hidden)
    for targets, rules in ((sample["sensitive"], sample["rules"].for_target(True)),
                           (plain, sample["rules"])):
        allpub = published(sample, targets)
        hidden = allpub[allpub.published.isna() & (allpub.zone_level == "neighbourhood")]
        alone = hidden.groupby(["target_id", "parent_id"]).size()
        if (alone == 1).any():
            break
    target = alone[alone == 1].index[0][0]
    pub = allpub[allpub.target_id == target]
    with psycopg.connect(f"dbname={sample['db']}") as c:
        c.execute("SET ROLE welfare_analyst")
        raw = pd.concat([pd.DataFrame(c.execute(
            "SELECT zone_id, demand FROM welfare.zone_indicators(%s, 2023, ARRAY[%s])",
            [level, target]).fetchall(), columns=["zone_id", "raw"]) for level in LEVELS])
    leaky = pub.merge(raw, on="zone_id")
    leaky["published"] = leaky.raw.where(leaky.published.notna())
    leaky["exact"] = True
    res = audit_publication(leaky, rules, exact="exact")
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


def test_a_district_run_to_the_unit_is_made_safe_by_complementary_cells(sample):
    """round_to = 1: neighbourhoods published to the unit pass beside districts rounded
    to 5, but districts published to the unit would pin a hidden neighbourhood down
    (N = D - siblings within +-0.5 each; before issue 9's complementary suppression this
    run failed). Now sibling districts' counts are suppressed as complementary cells
    until the audit passes, and the run is published."""
    with psycopg.connect(f"dbname={sample['db']}") as c:
        before = bi_runs(c)
        c.execute("UPDATE welfare.setting SET value = '1' WHERE name = 'round_to'")
        hood = c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)").fetchone()[0]
        dist = c.execute("SELECT welfare.run_zone_indicators('district', 2023)").fetchone()[0]
        a = frame(c, AUDITS + " WHERE a.run_id = ANY(%s) ORDER BY a.run_id", [[hood, dist]])
        assert a.passed.tolist() == [True, True]
        assert sorted(a.audited_with.iloc[1]) == sorted([hood, before["city"]])
        assert bi_runs(c) == {**before, "neighbourhood": hood, "district": dist}
        res = frame(c, "SELECT target_id, zone_id, parent_id, demand, demand_pub, "
                       "demand_complementary FROM welfare.zone_indicator_result "
                       "WHERE run_id = %s", [dist])
        comp = res[res.demand_complementary]
        assert len(comp) >= 1 and comp.demand_pub.isna().all()
        assert ((comp.demand.astype(float) == 0) | (comp.demand.astype(float) >= 7.5)).all()
        # without them, the same publication fails the audit
        hoods = frame(c, "SELECT target_id, zone_id, parent_id, demand_pub AS published "
                         "FROM welfare.zone_indicator_result WHERE run_id = %s AND published",
                      [hood])
        dists = res.assign(published=res.demand_pub.where(~res.demand_complementary,
                                                          res.demand.astype(float).round()))
        both = pd.concat([hoods, dists[["target_id", "zone_id", "parent_id", "published"]]])
        both = both[~both.target_id.isin(sample["sensitive"])]
        both["published"] = both.published.astype(float)
        one = Rules(round_to=1)
        assert not audit_publication(both, one).passed
        c.rollback()


def test_a_run_that_cannot_be_made_safe_is_held_back(sample):
    """audit_min_width 10 is wider than any suppressed count's own range [0, 7.5]: no
    complementary cell can help, the run fails and welfare_bi keeps the previous one."""
    with psycopg.connect(f"dbname={sample['db']}") as c:
        before = bi_runs(c)
        c.execute("UPDATE welfare.setting SET value = '10' WHERE name = 'audit_min_width'")
        hood = c.execute("SELECT welfare.run_zone_indicators('neighbourhood', 2023)").fetchone()[0]
        a = frame(c, AUDITS + " WHERE a.run_id = %s", [hood]).iloc[0]
        assert not a.passed and a.failed_cells >= 1 and a.narrowest_width < 10
        assert "recoverable within less than 10" in a.message
        assert bi_runs(c) == before
        assert not c.execute("SELECT bool_or(demand_complementary) FROM "
                             "welfare.zone_indicator_result WHERE run_id = %s", [hood]).fetchone()[0]
        c.rollback()


def test_the_sample_sections_pass_beside_the_other_levels(sample):
    """Before issue 9's fix the section run failed: sections published 0 (a raw 0.4 is
    0) under a suppressed neighbourhood pinned it near 0.5 x (number of sections), and
    a section hidden beside published siblings was pinned by its published parent (e.g.
    S07901's 65+ in [5, 7.5]). Now a published 0 means exactly 0 (0.4 is suppressed)
    and complementary cells are suppressed beside the small ones until every hidden
    count is uncertain over >= audit_min_width: the section run passes and is shown."""
    with psycopg.connect(f"dbname={sample['db']}") as c:
        before = bi_runs(c)
        run = c.execute("SELECT welfare.run_zone_indicators('section', 2023)").fetchone()[0]
        a = frame(c, AUDITS + " WHERE a.run_id = %s", [run]).iloc[0]
        assert a.passed and a.failed_cells == 0, a.message
        assert a.narrowest_width >= sample["rules"].audit_min_width
        assert sorted(a.audited_with) == sorted(before.values())
        assert bi_runs(c) == {**before, "section": run}
        res = frame(c, "SELECT target_id, zone_id, parent_id, demand, demand_pub, published, "
                       "demand_complementary FROM welfare.zone_indicator_result "
                       "WHERE run_id = %s", [run])
        res = res.assign(demand=res.demand.astype(float), demand_pub=res.demand_pub.astype(float))
        # a published 0 is exactly 0; every positive count under 7.5 is hidden
        assert (res.demand[res.demand_pub == 0] == 0).all()
        assert res[(res.demand > 0) & (res.demand < 7.5)].demand_pub.isna().all()
        comp = res[res.demand_complementary]
        assert len(comp) > 0 and comp.demand_pub.isna().all()
        # a complementary cell was publishable itself (0 or >= 7.5), and sits beside a
        # small count: a sibling with the same parent and target is hidden as small
        assert ((comp.demand == 0) | (comp.demand >= 7.5)).all()
        small = res[res.demand_pub.isna() & ~res.demand_complementary]
        assert comp.merge(small, on=["target_id", "parent_id"]).drop_duplicates(
            ["target_id", "zone_id_x"]).shape[0] == len(comp)
        # the BI view says which cells are complementary
        shown = c.execute("SELECT count(*) FROM welfare_bi.zone_indicators WHERE "
                          "zone_level = 'section' AND demand IS NULL AND null_reason LIKE "
                          "'%%complementary%%'").fetchone()[0]
        assert shown == int(comp.published.sum())
        # and the whole publication read from welfare_bi (this transaction) passes the audit
        allpub = frame(c, "SELECT target_id, zone_id, parent_id, zone_level, demand AS published "
                          "FROM welfare_bi.zone_indicators WHERE target_id <> ALL(%s)",
                       [sample["sensitive"]])
        allpub["published"] = allpub.published.astype(float)
        cells = allpub.merge(res[["target_id", "zone_id", "demand_complementary"]],
                             on=["target_id", "zone_id"], how="left")
        cells["shown"] = ~cells.demand_complementary.fillna(False).astype(bool)
        assert audit_publication(cells, sample["rules"], shown="shown").passed
        c.rollback()


def test_audit_publication_errors(sample):
    with psycopg.connect(f"dbname={sample['db']}") as c:
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="not a zone_indicators run"):
            c.execute("SELECT * FROM welfare.audit_publication(-1)")
