"""Every algorithm of the provider.  Adding one: write a module with a
``WelfareAlgorithm`` subclass, its ``help/<id>.en.md`` and ``help/<id>.it.md``,
and list the class here."""
from .accessibility import Accessibility
from .compare_scenarios import CompareScenarios
from .forecast_demand import ForecastDemand
from .privacy_safe_export import PrivacySafeExport
from .simulate_scenario import SimulateScenario
from .validate_data import ValidateData
from .zone_indicators import ZoneIndicators

ALGORITHMS = (ValidateData, ZoneIndicators, Accessibility, ForecastDemand,
              PrivacySafeExport)
ALGORITHMS += (SimulateScenario, CompareScenarios)
