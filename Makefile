# Welfare Intelligence: one core, three doors.  `make demo` and `make test`
# are the two commands a newcomer needs; every target installs what it needs.
SHELL := /bin/bash
PY := /usr/bin/python3
VENV := $(CURDIR)/.venv
PYTEST := $(VENV)/bin/python -m pytest
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' core/welfare_core/__init__.py)
CORE_DIR := /usr/local/lib/welfare_intelligence/$(VERSION)
PGUSER ?= $(shell id -un)
export PROJ_DATA := /usr/share/proj
export QT_QPA_PLATFORM := offscreen
export PYTHONDONTWRITEBYTECODE := 1

APT_PACKAGES := python3-numpy python3-pandas python3-scipy python3-geopandas python3-pulp \
  coinor-cbc python3-psycopg python3-venv python3-pytest python3-pip python3-deprecated \
  qgis python3-qgis \
  postgresql-15 postgresql-15-postgis-3 postgresql-plpython3-15 postgresql-server-dev-15 \
  postgresql-15-pgrouting

.PHONY: help setup apt venv pg install vendor test test-core test-sql test-qgis installcheck \
        plugin bench demo sample clean

help:
	@echo "make demo   - install everything, load the sample city, run the analyses, write outputs"
	@echo "make test   - install everything and run every test (core, SQL, pg_regress, QGIS)"
	@echo "make setup | install | installcheck | plugin | sample | bench | clean"

# --- setup: system packages, test venv, PostgreSQL running with our role ------
setup: apt venv pg

apt:
	@dpkg -s $(APT_PACKAGES) >/dev/null 2>&1 || { \
	  echo "installing Debian packages (about 2 minutes)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; }

venv: $(VENV)/.ok
$(VENV)/.ok: tests/requirements.txt
	$(PY) -m venv --system-site-packages $(VENV)
	$(VENV)/bin/pip install -q -r tests/requirements.txt
	touch $@

pg:
	@pg_lsclusters -h | grep -q '^15 *main .*online' || pg_ctlcluster 15 main start
	@su postgres -c "psql -tAc \"select 1 from pg_roles where rolname='$(PGUSER)'\"" | grep -q 1 \
	  || su postgres -c "createuser -s $(PGUSER)"

# --- install: the core where PL/Python finds it, the extension via PGXS -------
install: apt
	rm -rf $(CORE_DIR)/welfare_core && mkdir -p $(CORE_DIR)
	cp -r core/welfare_core $(CORE_DIR)/
	find $(CORE_DIR)/welfare_core -name __pycache__ -prune -exec rm -rf {} +
	$(PY) -m compileall -q $(CORE_DIR)/welfare_core  # the server cannot write bytecode there itself
	@$(MAKE) -s vendor
	$(MAKE) -C db_extension install

# OpenDP for the SQL door's differential privacy (welfare.dp_zone_demand): the pinned
# wheel in $(CORE_DIR)/vendor, which the bootstrap (010-bootstrap.sql) puts on sys.path
# after the core. --no-deps: its one dependency, `deprecated`, comes from Debian, and
# Debian's numpy is never touched. Kept across installs (265 MB); without a network the
# install goes on and the DP functions say OpenDP is missing.
OPENDP_VERSION := 0.16.0
VENDOR_DIR := $(CORE_DIR)/vendor
vendor:
	@if [ -f $(VENDOR_DIR)/opendp-$(OPENDP_VERSION).dist-info/METADATA ]; then :; \
	elif tmp=$$(mktemp -d $(CORE_DIR)/vendor.XXXXXX) && \
	     $(PY) -m pip install -q --no-deps --disable-pip-version-check \
	       --root-user-action=ignore --target $$tmp opendp==$(OPENDP_VERSION); then \
	  chmod 755 $$tmp && rm -rf $(VENDOR_DIR) && mv $$tmp $(VENDOR_DIR) && \
	  echo "OpenDP $(OPENDP_VERSION) installed in $(VENDOR_DIR)"; \
	else rm -rf $$tmp; echo "OpenDP not installed: DP functions unavailable"; fi

# --- tests ---------------------------------------------------------------------
test: setup install plugin
	@rm -rf build/test-reports && mkdir -p build/test-reports
	$(MAKE) test-core test-sql installcheck test-qgis
	@$(PY) .ci/count_tests.py build/test-reports

REPORTS := $(CURDIR)/build/test-reports
test-core:
	$(PYTEST) -p no:pytest_qgis --junitxml=$(REPORTS)/core.xml tests/core

test-sql:
	$(PYTEST) -p no:pytest_qgis --junitxml=$(REPORTS)/sql.xml tests/sql

installcheck:
	@mkdir -p $(REPORTS)
	set -o pipefail; $(MAKE) -C db_extension installcheck 2>&1 | tee $(REPORTS)/regress.log

test-qgis:
	$(PYTEST) --junitxml=$(REPORTS)/qgis.xml tests/qgis

# --- the demo: sample city -> SQL indicators -> summary, GeoPackage, PNG map -------
DEMO_DB ?= welfare_demo
demo: setup install
	$(PY) db_extension/demo.py --db $(DEMO_DB) --out $(CURDIR)/out/demo

bench:
	@$(MAKE) -s -C bench

clean:
	rm -rf build dist out .pytest_cache db_extension/results db_extension/regression.*

-include data/sample/sample.mk
-include qgis_plugin/plugin.mk
