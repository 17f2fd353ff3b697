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
from .compare_zones import CompareZones  # noqa: E402  (comparisons)
from .composite_index import CompositeIndex  # noqa: E402
from .equity_measures import EquityMeasures  # noqa: E402
from .hot_spots import HotSpots  # noqa: E402
ALGORITHMS += (CompositeIndex, HotSpots, CompareZones, EquityMeasures)
from .allocate_capacity import AllocateCapacity  # noqa: E402  (optimisation)
from .optimise_locations import OptimiseLocations  # noqa: E402
ALGORITHMS += (OptimiseLocations, AllocateCapacity)
from .cost_matrix import CostMatrix  # noqa: E402  (accessibility: OD tables)
ALGORITHMS += (CostMatrix,)
from .close_facilities import CloseFacilities, SweepLocations  # noqa: E402  (closure and sweep)
ALGORITHMS += (CloseFacilities, SweepLocations)
from .dp_export import DpExport  # noqa: E402  (privacy: differentially private counts)
ALGORITHMS += (DpExport,)
