"""Fixtures of the SQL tests: a fresh database per test module (see wi_sql.py)."""
import psycopg
import pytest

from sql.wi_sql import fresh_database, import_all


@pytest.fixture(scope="module")
def dbname():
    with fresh_database() as name:
        yield name


@pytest.fixture
def conn(dbname):
    """A connection in a transaction that is rolled back after the test."""
    with psycopg.connect(f"dbname={dbname}") as c:
        yield c
        c.rollback()


@pytest.fixture(scope="module")
def loaded(dbname):
    """The module's database with the tiny city (tests/fixtures/tiny_city.py) loaded."""
    from fixtures import tiny_city as tc
    with psycopg.connect(f"dbname={dbname}") as c:
        assert import_all(c, tc.tables()) == []
        c.commit()
    return dbname
