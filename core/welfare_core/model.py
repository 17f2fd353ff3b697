"""Canonical tables of the data model: column names, kinds, units, keys.

This is the one description of the tables shared by the three doors: the SQL
schema (sql/), the importers and the QGIS algorithms follow it. Geometry is
carried in a column named ``geometry`` (shapely objects or WKB bytes) and the
coordinate system is passed separately; see :mod:`welfare_core.validation`.
"""
from __future__ import annotations

from dataclasses import dataclass

# Zone levels from finest to coarsest; a parent is always of a coarser level.
ZONE_LEVELS = ("section", "neighbourhood", "district", "city")
LEVEL_RANK = {name: rank for rank, name in enumerate(ZONE_LEVELS)}

SEXES = ("F", "M")
MAX_AGE = 100  # age 100 means "100 and over"
UNITS = ("persons", "households")
TARGET_BASES = ("prevalence", "household_type", "direct")
POLARITIES = ("high_is_bad", "high_is_good")
COST_UNITS = ("m", "min")
TRAVEL_MODES = ("walk", "bike", "car", "transit")
DECAYS = ("none", "linear", "gaussian", "exponential", "gravity")
SHARE_TOLERANCE = 1e-6  # service shares of a type must sum to 1 within this


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text | int | float | bool | date | geometry
    required: bool = True  # False: NULL allowed
    description: str = ""
    minimum: float | None = None  # inclusive lower bound for numbers
    maximum: float | None = None  # inclusive upper bound for numbers
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Reference:
    column: str
    table: str  # referenced table; its key is a single id column


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    geometry_type: str | None = None  # "MultiPolygon" | "Point"
    description: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _source(required: bool = True) -> Column:
    return Column("source_id", "text", required, "dataset this row comes from (source table)")


_MUNI = Column("municipality_code", "text", True,
               "ISTAT municipality code, 6 digits (Milan: 015146)")

TABLES: dict[str, Table] = {t.name: t for t in (
    Table("source", (
        Column("source_id", "text", True, "short code of the dataset"),
        Column("name", "text", True, "title of the dataset"),
        Column("owner_org", "text", True, "organisation that owns the data"),
        Column("legal_basis", "text", True, "GDPR Art. 6 basis, or 'open data'"),
        Column("purpose", "text", True, "why it is processed (GDPR Art. 30)"),
        Column("licence", "text", True, "licence, e.g. CC BY 4.0"),
        Column("personal_data", "bool", True, "true if derived from personal data"),
        Column("retrieved", "date", True, "date the data was obtained"),
        Column("retention", "text", True, "how long it is kept"),
        Column("url", "text", False, "where it comes from"),
        Column("notes", "text", False, "what is real, what is generated"),
    ), key=("source_id",), description="provenance of every dataset"),

    Table("zone", (
        Column("zone_id", "text", True, "globally unique code embedding the municipality"),
        _MUNI,
        Column("level", "text", True, "section < neighbourhood < district < city",
               choices=ZONE_LEVELS),
        Column("name", "text", True, "display name"),
        Column("parent_id", "text", False, "zone of the next coarser level containing it"),
        _source(),
        Column("geometry", "geometry", True, "MultiPolygon in the working CRS"),
    ), key=("zone_id",), references=(Reference("parent_id", "zone"),
                                     Reference("source_id", "source")),
        geometry_type="MultiPolygon", description="territorial units at several levels"),

    Table("population", (
        Column("zone_id", "text", True, "zone"),
        Column("period", "int", True, "year of the count (1 January)"),
        Column("sex", "text", True, "F or M", choices=SEXES),
        Column("age", "int", True, "single year of age; 100 = 100 and over",
               minimum=0, maximum=MAX_AGE),
        Column("persons", "float", True, "residents", minimum=0),
        _source(),
    ), key=("zone_id", "period", "sex", "age"),
        references=(Reference("zone_id", "zone"), Reference("source_id", "source")),
        description="residents by zone, year, sex and single year of age"),

    Table("household_type", (
        Column("household_type_id", "text", True, "code"),
        Column("name", "text", True, "display name"),
        Column("definition", "text", True, "who is in it"),
        Column("min_members", "int", True, "smallest size", minimum=1),
        Column("max_members", "int", False, "largest size; NULL = open", minimum=1),
    ), key=("household_type_id",), description="catalogue of household types"),

    Table("household", (
        Column("zone_id", "text", True, "zone"),
        Column("period", "int", True, "year"),
        Column("household_type_id", "text", True, "household type"),
        Column("households", "float", True, "number of households", minimum=0),
        Column("members", "float", True, "persons living in them", minimum=0),
        _source(),
    ), key=("zone_id", "period", "household_type_id"),
        references=(Reference("zone_id", "zone"),
                    Reference("household_type_id", "household_type"),
                    Reference("source_id", "source")),
        description="households by zone, year and type"),

    Table("target", (
        Column("target_id", "text", True, "code"),
        Column("name", "text", True, "display name"),
        Column("unit", "text", True, "persons or households", choices=UNITS),
        Column("basis", "text", True,
               "prevalence (age x sex rates), household_type (shares of types) or direct",
               choices=TARGET_BASES),
        Column("definition", "text", True, "who is counted"),
        Column("sensitive", "bool", True, "published only at fixed geographies"),
        Column("polarity", "text", True, "high_is_bad or high_is_good", choices=POLARITIES),
        _source(),
    ), key=("target_id",), references=(Reference("source_id", "source"),),
        description="groups of persons or households whose demand is measured"),

    Table("target_prevalence", (
        Column("target_id", "text", True, "person target"),
        Column("sex", "text", True, "F or M", choices=SEXES),
        Column("age_from", "int", True, "first age, inclusive", minimum=0, maximum=MAX_AGE),
        Column("age_to", "int", True, "last age, inclusive", minimum=0, maximum=MAX_AGE),
        Column("prevalence", "float", True, "share of residents in the target",
               minimum=0, maximum=1),
    ), key=("target_id", "sex", "age_from"), references=(Reference("target_id", "target"),),
        description="prevalence by age band and sex of person targets"),

    Table("target_household", (
        Column("target_id", "text", True, "household target"),
        Column("household_type_id", "text", True, "household type"),
        Column("share", "float", True, "share of those households in the target",
               minimum=0, maximum=1),
    ), key=("target_id", "household_type_id"),
        references=(Reference("target_id", "target"),
                    Reference("household_type_id", "household_type")),
        description="household targets as shares of household types"),

    Table("demand", (
        Column("zone_id", "text", True, "zone"),
        Column("target_id", "text", True, "target"),
        Column("period", "int", True, "year"),
        Column("demand", "float", True, "persons or households of the target", minimum=0),
        _source(),
    ), key=("zone_id", "target_id", "period"),
        references=(Reference("zone_id", "zone"), Reference("target_id", "target"),
                    Reference("source_id", "source")),
        description="how many of each target live in each zone"),

    Table("service_type", (
        Column("service_type_id", "text", True, "code"),
        Column("name", "text", True, "display name"),
        Column("capacity_unit", "text", True, "places, beds, hours per week, staff ..."),
        Column("reference_target_id", "text", True,
               "target whose count is the coverage reference population"),
        Column("standard_per_100", "float", False,
               "coverage standard: capacity per 100 of the reference population", minimum=0),
        Column("max_cost", "float", True, "default catchment, inclusive", minimum=0),
        Column("cost_unit", "text", True, "m (metres) or min (minutes)", choices=COST_UNITS),
        Column("travel_mode", "text", True, "walk, bike, car or transit", choices=TRAVEL_MODES),
        Column("decay", "text", True, "distance decay inside the catchment", choices=DECAYS),
        Column("decay_param", "float", False, "parameter of the decay (sigma, beta, alpha)"),
        _source(),
    ), key=("service_type_id",),
        references=(Reference("reference_target_id", "target"),
                    Reference("source_id", "source")),
        description="kinds of service, their catchments and coverage standards"),

    Table("service_target", (
        Column("service_type_id", "text", True, "service type"),
        Column("target_id", "text", True, "target served"),
        Column("share", "float", True, "share of capacity for this target; sums to 1 per type",
               minimum=0, maximum=1),
    ), key=("service_type_id", "target_id"),
        references=(Reference("service_type_id", "service_type"),
                    Reference("target_id", "target")),
        description="which targets each service type serves"),

    Table("facility", (
        Column("facility_id", "text", True, "globally unique code"),
        _MUNI,
        Column("service_type_id", "text", True, "service type"),
        Column("name", "text", True, "display name"),
        Column("provider_org", "text", True, "organisation that runs it"),
        Column("capacity", "float", True, "in the service type's capacity unit", minimum=0),
        Column("active_from", "int", False, "first year open; NULL = always"),
        Column("active_to", "int", False, "last year open; NULL = still open"),
        Column("published", "bool", True, "listed publicly"),
        _source(),
        Column("geometry", "geometry", True, "Point in the working CRS"),
    ), key=("facility_id",),
        references=(Reference("service_type_id", "service_type"),
                    Reference("source_id", "source")),
        geometry_type="Point", description="service points"),

    Table("candidate_site", (
        Column("site_id", "text", True, "globally unique code"),
        _MUNI,
        Column("service_type_id", "text", False, "service type it suits; NULL = any"),
        Column("name", "text", True, "display name"),
        Column("opening_cost", "float", True, "one-off cost in euro", minimum=0),
        Column("max_capacity", "float", True, "largest capacity it can host", minimum=0),
        _source(),
        Column("geometry", "geometry", True, "Point in the working CRS"),
    ), key=("site_id",),
        references=(Reference("service_type_id", "service_type"),
                    Reference("source_id", "source")),
        geometry_type="Point", description="where a new service could open"),

    Table("travel_cost", (
        Column("origin_id", "text", True, "zone"),
        Column("destination_id", "text", True, "facility or candidate site"),
        Column("mode", "text", True, "travel mode", choices=TRAVEL_MODES),
        Column("cost", "float", True, "travel cost", minimum=0),
        Column("cost_unit", "text", True, "m or min", choices=COST_UNITS),
    ), key=("origin_id", "destination_id", "mode"),
        references=(Reference("origin_id", "zone"),),
        description="optional network costs between zones and service points"),
)}

# Order in which datasets are loaded so that references resolve.
LOAD_ORDER = ("source", "zone", "household_type", "target", "target_prevalence",
              "target_household", "service_type", "service_target", "population",
              "household", "demand", "facility", "candidate_site", "travel_cost")
assert set(LOAD_ORDER) == set(TABLES)
