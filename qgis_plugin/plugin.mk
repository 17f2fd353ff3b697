# QGIS plugin packaging; included by the top Makefile (uses its VERSION and PY).
# `make plugin` builds dist/welfare_intelligence-<version>.zip: the plugin
# directory with the core copied in as welfare_intelligence/ext/welfare_core.
PLUGIN_NAME := welfare_intelligence
PLUGIN_SRC := qgis_plugin/$(PLUGIN_NAME)
PLUGIN_BUILD := build/plugin
PLUGIN_ZIP := dist/$(PLUGIN_NAME)-$(VERSION).zip
QGIS_PROFILE_DIR ?= $(HOME)/.local/share/QGIS/QGIS3/profiles/default
PLUGIN_SOURCES := $(shell find $(PLUGIN_SRC) core/welfare_core -type f \
                    -not -path '*/__pycache__/*' -not -name '*.pyc' 2>/dev/null)
# The bundled catalogue (target, service_type, service_target) comes from the sample city.
PLUGIN_CATALOGUE_SRC := data/sample/milan_sample.gpkg

.PHONY: plugin plugin-install
plugin: $(PLUGIN_ZIP)

$(PLUGIN_ZIP): $(PLUGIN_SOURCES) $(PLUGIN_CATALOGUE_SRC) qgis_plugin/plugin.mk
	rm -rf $(PLUGIN_BUILD) && mkdir -p $(PLUGIN_BUILD) dist
	cp -r $(PLUGIN_SRC) $(PLUGIN_BUILD)/
	rm -rf $(PLUGIN_BUILD)/$(PLUGIN_NAME)/ext && mkdir -p $(PLUGIN_BUILD)/$(PLUGIN_NAME)/ext
	cp -r core/welfare_core $(PLUGIN_BUILD)/$(PLUGIN_NAME)/ext/
	$(PY) $(PLUGIN_SRC)/catalogue/export.py $(PLUGIN_CATALOGUE_SRC) $(PLUGIN_BUILD)/$(PLUGIN_NAME)/catalogue
	rm -f $(PLUGIN_BUILD)/$(PLUGIN_NAME)/catalogue/export.py
	find $(PLUGIN_BUILD) \( -name __pycache__ -o -name '*.pyc' \) -prune -exec rm -rf {} +
	sed -i 's/^version=.*/version=$(VERSION)/' $(PLUGIN_BUILD)/$(PLUGIN_NAME)/metadata.txt
	rm -f dist/$(PLUGIN_NAME)-*.zip
	cd $(PLUGIN_BUILD) && $(PY) -m zipfile -c $(CURDIR)/$@ $(PLUGIN_NAME)
	@echo "built $@"

# Unpack the zip into a QGIS profile (default profile unless QGIS_PROFILE_DIR is set);
# then enable "Welfare Intelligence" in Plugins > Manage and Install Plugins.
plugin-install: plugin
	mkdir -p $(QGIS_PROFILE_DIR)/python/plugins
	rm -rf $(QGIS_PROFILE_DIR)/python/plugins/$(PLUGIN_NAME)
	cd $(QGIS_PROFILE_DIR)/python/plugins && $(PY) -m zipfile -e $(CURDIR)/$(PLUGIN_ZIP) .
	@echo "installed in $(QGIS_PROFILE_DIR)/python/plugins/$(PLUGIN_NAME)"
