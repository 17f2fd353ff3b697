"""Disclosure control on the sample city: every welfare_bi count is safe, and the
published neighbourhood / district / city demand passes the differencing audit,
while a publication that adds exact totals beside the suppressed cells fails it."""
from pathlib import Path

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
