"""Constants shared by the QGIS tests (a module, so tests need not import conftest)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "welfare_intelligence"
# Table name -> parameter key of welfare:validate_data (and of every algorithm).
KEYS = {"source": "SOURCES", "zone": "ZONES", "household_type": "HOUSEHOLD_TYPES",
        "household": "HOUSEHOLDS", "target": "TARGETS", "target_prevalence": "TARGET_PREVALENCE",
        "target_household": "TARGET_HOUSEHOLDS", "demand": "DEMAND", "population": "POPULATION",
        "service_type": "SERVICE_TYPES", "service_target": "SERVICE_TARGETS",
        "facility": "FACILITIES", "candidate_site": "CANDIDATE_SITES",
        "travel_cost": "TRAVEL_COSTS"}


def core_version() -> str:
    text = (ROOT / "core" / "welfare_core" / "__init__.py").read_text()
    return re.search(r'^__version__ = "(.+)"', text, re.M).group(1)
