-- Tables of the data model: exactly the columns of core/welfare_core/model.py
-- (its `geometry` column is `geom` here). Generated once from model.TABLES, then
-- frozen like every incremental file; tests/sql/test_schema.py compares the two.
-- The working SRID (setting `srid`, 32632 at install) is a CHECK constraint
-- rather than a typmod, so that it can follow the setting while the tables are
-- empty even when views depend on geom; geometry_columns reads it from there.
-- welfare._check_srid() (trigger) refuses another SRID first, with a clearer message.

CREATE TABLE welfare.source (
    source_id text NOT NULL,
    name text NOT NULL,
    owner_org text NOT NULL,
    legal_basis text NOT NULL,
    purpose text NOT NULL,
    licence text NOT NULL,
    personal_data boolean NOT NULL,
    retrieved date NOT NULL,
    retention text NOT NULL,
    url text,
    notes text,
    PRIMARY KEY (source_id)
);
COMMENT ON TABLE welfare.source IS 'provenance of every dataset';
COMMENT ON COLUMN welfare.source.source_id IS 'short code of the dataset';
COMMENT ON COLUMN welfare.source.name IS 'title of the dataset';
COMMENT ON COLUMN welfare.source.owner_org IS 'organisation that owns the data';
COMMENT ON COLUMN welfare.source.legal_basis IS 'GDPR Art. 6 basis, or ''open data''';
COMMENT ON COLUMN welfare.source.purpose IS 'why it is processed (GDPR Art. 30)';
COMMENT ON COLUMN welfare.source.licence IS 'licence, e.g. CC BY 4.0';
COMMENT ON COLUMN welfare.source.personal_data IS 'true if derived from personal data';
COMMENT ON COLUMN welfare.source.retrieved IS 'date the data was obtained';
COMMENT ON COLUMN welfare.source.retention IS 'how long it is kept';
COMMENT ON COLUMN welfare.source.url IS 'where it comes from';
COMMENT ON COLUMN welfare.source.notes IS 'what is real, what is generated';
SELECT pg_catalog.pg_extension_config_dump('welfare.source', '');

CREATE TABLE welfare.zone (
    zone_id text NOT NULL,
    municipality_code text NOT NULL,
    level text NOT NULL,
    name text NOT NULL,
    parent_id text,
    source_id text NOT NULL,
    geom public.geometry(MultiPolygon) NOT NULL,
    PRIMARY KEY (zone_id),
    FOREIGN KEY (parent_id) REFERENCES welfare.zone (zone_id),
    FOREIGN KEY (source_id) REFERENCES welfare.source (source_id),
    CONSTRAINT zone_level_check CHECK (level IN ('section', 'neighbourhood', 'district', 'city')),
    CONSTRAINT zone_geom_srid CHECK (public.ST_SRID(geom) = 32632)
);
COMMENT ON TABLE welfare.zone IS 'territorial units at several levels';
COMMENT ON COLUMN welfare.zone.zone_id IS 'globally unique code embedding the municipality';
COMMENT ON COLUMN welfare.zone.municipality_code IS 'ISTAT municipality code, 6 digits (Milan: 015146)';
COMMENT ON COLUMN welfare.zone.level IS 'section < neighbourhood < district < city';
COMMENT ON COLUMN welfare.zone.name IS 'display name';
COMMENT ON COLUMN welfare.zone.parent_id IS 'zone of the next coarser level containing it';
COMMENT ON COLUMN welfare.zone.source_id IS 'dataset this row comes from (source table)';
COMMENT ON COLUMN welfare.zone.geom IS 'MultiPolygon in the working CRS';
CREATE INDEX zone_geom_idx ON welfare.zone USING gist (geom);
SELECT pg_catalog.pg_extension_config_dump('welfare.zone', '');

CREATE TABLE welfare.household_type (
    household_type_id text NOT NULL,
    name text NOT NULL,
    definition text NOT NULL,
    min_members integer NOT NULL,
    max_members integer,
    PRIMARY KEY (household_type_id),
    CONSTRAINT household_type_min_members_check CHECK (min_members >= 1),
    CONSTRAINT household_type_max_members_check CHECK (max_members >= 1)
);
COMMENT ON TABLE welfare.household_type IS 'catalogue of household types';
COMMENT ON COLUMN welfare.household_type.household_type_id IS 'code';
COMMENT ON COLUMN welfare.household_type.name IS 'display name';
COMMENT ON COLUMN welfare.household_type.definition IS 'who is in it';
COMMENT ON COLUMN welfare.household_type.min_members IS 'smallest size';
COMMENT ON COLUMN welfare.household_type.max_members IS 'largest size; NULL = open';
SELECT pg_catalog.pg_extension_config_dump('welfare.household_type', '');

CREATE TABLE welfare.target (
    target_id text NOT NULL,
    name text NOT NULL,
    unit text NOT NULL,
    basis text NOT NULL,
    definition text NOT NULL,
    sensitive boolean NOT NULL,
    polarity text NOT NULL,
    source_id text NOT NULL,
    PRIMARY KEY (target_id),
    FOREIGN KEY (source_id) REFERENCES welfare.source (source_id),
    CONSTRAINT target_unit_check CHECK (unit IN ('persons', 'households')),
    CONSTRAINT target_basis_check CHECK (basis IN ('prevalence', 'household_type', 'direct')),
    CONSTRAINT target_polarity_check CHECK (polarity IN ('high_is_bad', 'high_is_good'))
);
COMMENT ON TABLE welfare.target IS 'groups of persons or households whose demand is measured';
COMMENT ON COLUMN welfare.target.target_id IS 'code';
COMMENT ON COLUMN welfare.target.name IS 'display name';
COMMENT ON COLUMN welfare.target.unit IS 'persons or households';
COMMENT ON COLUMN welfare.target.basis IS 'prevalence (age x sex rates), household_type (shares of types) or direct';
COMMENT ON COLUMN welfare.target.definition IS 'who is counted';
COMMENT ON COLUMN welfare.target.sensitive IS 'published only at fixed geographies';
COMMENT ON COLUMN welfare.target.polarity IS 'high_is_bad or high_is_good';
COMMENT ON COLUMN welfare.target.source_id IS 'dataset this row comes from (source table)';
SELECT pg_catalog.pg_extension_config_dump('welfare.target', '');

CREATE TABLE welfare.target_prevalence (
    target_id text NOT NULL,
    sex text NOT NULL,
    age_from integer NOT NULL,
    age_to integer NOT NULL,
    prevalence double precision NOT NULL,
    PRIMARY KEY (target_id, sex, age_from),
    FOREIGN KEY (target_id) REFERENCES welfare.target (target_id),
    CONSTRAINT target_prevalence_sex_check CHECK (sex IN ('F', 'M')),
    CONSTRAINT target_prevalence_age_from_check CHECK (age_from >= 0 AND age_from <= 100),
    CONSTRAINT target_prevalence_age_to_check CHECK (age_to >= 0 AND age_to <= 100),
    CONSTRAINT target_prevalence_prevalence_check CHECK (prevalence > '-Infinity' AND prevalence < 'Infinity' AND prevalence >= 0 AND prevalence <= 1),
    CONSTRAINT target_prevalence_band_check CHECK (age_to >= age_from)
);
COMMENT ON TABLE welfare.target_prevalence IS 'prevalence by age band and sex of person targets';
COMMENT ON COLUMN welfare.target_prevalence.target_id IS 'person target';
COMMENT ON COLUMN welfare.target_prevalence.sex IS 'F or M';
COMMENT ON COLUMN welfare.target_prevalence.age_from IS 'first age, inclusive';
COMMENT ON COLUMN welfare.target_prevalence.age_to IS 'last age, inclusive';
COMMENT ON COLUMN welfare.target_prevalence.prevalence IS 'share of residents in the target';
SELECT pg_catalog.pg_extension_config_dump('welfare.target_prevalence', '');

CREATE TABLE welfare.target_household (
    target_id text NOT NULL,
    household_type_id text NOT NULL,
    share double precision NOT NULL,
    PRIMARY KEY (target_id, household_type_id),
    FOREIGN KEY (target_id) REFERENCES welfare.target (target_id),
    FOREIGN KEY (household_type_id) REFERENCES welfare.household_type (household_type_id),
    CONSTRAINT target_household_share_check CHECK (share > '-Infinity' AND share < 'Infinity' AND share >= 0 AND share <= 1)
);
COMMENT ON TABLE welfare.target_household IS 'household targets as shares of household types';
COMMENT ON COLUMN welfare.target_household.target_id IS 'household target';
COMMENT ON COLUMN welfare.target_household.household_type_id IS 'household type';
COMMENT ON COLUMN welfare.target_household.share IS 'share of those households in the target';
SELECT pg_catalog.pg_extension_config_dump('welfare.target_household', '');

CREATE TABLE welfare.service_type (
    service_type_id text NOT NULL,
    name text NOT NULL,
    capacity_unit text NOT NULL,
    reference_target_id text NOT NULL,
    standard_per_100 double precision,
    max_cost double precision NOT NULL,
    cost_unit text NOT NULL,
    travel_mode text NOT NULL,
    decay text NOT NULL,
    decay_param double precision,
    source_id text NOT NULL,
    PRIMARY KEY (service_type_id),
    FOREIGN KEY (reference_target_id) REFERENCES welfare.target (target_id),
    FOREIGN KEY (source_id) REFERENCES welfare.source (source_id),
    CONSTRAINT service_type_standard_per_100_check CHECK (standard_per_100 > '-Infinity' AND standard_per_100 < 'Infinity' AND standard_per_100 >= 0),
    CONSTRAINT service_type_max_cost_check CHECK (max_cost > '-Infinity' AND max_cost < 'Infinity' AND max_cost >= 0),
    CONSTRAINT service_type_cost_unit_check CHECK (cost_unit IN ('m', 'min')),
    CONSTRAINT service_type_travel_mode_check CHECK (travel_mode IN ('walk', 'bike', 'car', 'transit')),
    CONSTRAINT service_type_decay_check CHECK (decay IN ('none', 'linear', 'gaussian', 'exponential', 'gravity')),
    CONSTRAINT service_type_decay_param_check CHECK (decay_param > '-Infinity' AND decay_param < 'Infinity')
);
COMMENT ON TABLE welfare.service_type IS 'kinds of service, their catchments and coverage standards';
COMMENT ON COLUMN welfare.service_type.service_type_id IS 'code';
COMMENT ON COLUMN welfare.service_type.name IS 'display name';
COMMENT ON COLUMN welfare.service_type.capacity_unit IS 'places, beds, hours per week, staff ...';
COMMENT ON COLUMN welfare.service_type.reference_target_id IS 'target whose count is the coverage reference population';
COMMENT ON COLUMN welfare.service_type.standard_per_100 IS 'coverage standard: capacity per 100 of the reference population';
COMMENT ON COLUMN welfare.service_type.max_cost IS 'default catchment, inclusive';
COMMENT ON COLUMN welfare.service_type.cost_unit IS 'm (metres) or min (minutes)';
COMMENT ON COLUMN welfare.service_type.travel_mode IS 'walk, bike, car or transit';
COMMENT ON COLUMN welfare.service_type.decay IS 'distance decay inside the catchment';
COMMENT ON COLUMN welfare.service_type.decay_param IS 'parameter of the decay (sigma, beta, alpha)';
COMMENT ON COLUMN welfare.service_type.source_id IS 'dataset this row comes from (source table)';
SELECT pg_catalog.pg_extension_config_dump('welfare.service_type', '');

CREATE TABLE welfare.service_target (
    service_type_id text NOT NULL,
    target_id text NOT NULL,
    share double precision NOT NULL,
    PRIMARY KEY (service_type_id, target_id),
    FOREIGN KEY (service_type_id) REFERENCES welfare.service_type (service_type_id),
    FOREIGN KEY (target_id) REFERENCES welfare.target (target_id),
    CONSTRAINT service_target_share_check CHECK (share > '-Infinity' AND share < 'Infinity' AND share >= 0 AND share <= 1)
);
COMMENT ON TABLE welfare.service_target IS 'which targets each service type serves';
COMMENT ON COLUMN welfare.service_target.service_type_id IS 'service type';
COMMENT ON COLUMN welfare.service_target.target_id IS 'target served';
COMMENT ON COLUMN welfare.service_target.share IS 'share of capacity for this target; sums to 1 per type';
SELECT pg_catalog.pg_extension_config_dump('welfare.service_target', '');

CREATE TABLE welfare.population (
    zone_id text NOT NULL,
    period integer NOT NULL,
    sex text NOT NULL,
    age integer NOT NULL,
    persons double precision NOT NULL,
    source_id text NOT NULL,
    PRIMARY KEY (zone_id, period, sex, age),
    FOREIGN KEY (zone_id) REFERENCES welfare.zone (zone_id),
    FOREIGN KEY (source_id) REFERENCES welfare.source (source_id),
    CONSTRAINT population_sex_check CHECK (sex IN ('F', 'M')),
    CONSTRAINT population_age_check CHECK (age >= 0 AND age <= 100),
    CONSTRAINT population_persons_check CHECK (persons > '-Infinity' AND persons < 'Infinity' AND persons >= 0)
);
COMMENT ON TABLE welfare.population IS 'residents by zone, year, sex and single year of age';
COMMENT ON COLUMN welfare.population.zone_id IS 'zone';
COMMENT ON COLUMN welfare.population.period IS 'year of the count (1 January)';
COMMENT ON COLUMN welfare.population.sex IS 'F or M';
COMMENT ON COLUMN welfare.population.age IS 'single year of age; 100 = 100 and over';
COMMENT ON COLUMN welfare.population.persons IS 'residents';
COMMENT ON COLUMN welfare.population.source_id IS 'dataset this row comes from (source table)';
SELECT pg_catalog.pg_extension_config_dump('welfare.population', '');

CREATE TABLE welfare.household (
    zone_id text NOT NULL,
    period integer NOT NULL,
    household_type_id text NOT NULL,
    households double precision NOT NULL,
    members double precision NOT NULL,
    source_id text NOT NULL,
    PRIMARY KEY (zone_id, period, household_type_id),
    FOREIGN KEY (zone_id) REFERENCES welfare.zone (zone_id),
    FOREIGN KEY (household_type_id) REFERENCES welfare.household_type (household_type_id),
    FOREIGN KEY (source_id) REFERENCES welfare.source (source_id),
    CONSTRAINT household_households_check CHECK (households > '-Infinity' AND households < 'Infinity' AND households >= 0),
    CONSTRAINT household_members_check CHECK (members > '-Infinity' AND members < 'Infinity' AND members >= 0)
);
COMMENT ON TABLE welfare.household IS 'households by zone, year and type';
COMMENT ON COLUMN welfare.household.zone_id IS 'zone';
COMMENT ON COLUMN welfare.household.period IS 'year';
COMMENT ON COLUMN welfare.household.household_type_id IS 'household type';
COMMENT ON COLUMN welfare.household.households IS 'number of households';
COMMENT ON COLUMN welfare.household.members IS 'persons living in them';
COMMENT ON COLUMN welfare.household.source_id IS 'dataset this row comes from (source table)';
SELECT pg_catalog.pg_extension_config_dump('welfare.household', '');

CREATE TABLE welfare.demand (
    zone_id text NOT NULL,
    target_id text NOT NULL,
    period integer NOT NULL,
    demand double precision NOT NULL,
    source_id text NOT NULL,
    PRIMARY KEY (zone_id, target_id, period),
    FOREIGN KEY (zone_id) REFERENCES welfare.zone (zone_id),
    FOREIGN KEY (target_id) REFERENCES welfare.target (target_id),
    FOREIGN KEY (source_id) REFERENCES welfare.source (source_id),
    CONSTRAINT demand_demand_check CHECK (demand > '-Infinity' AND demand < 'Infinity' AND demand >= 0)
);
COMMENT ON TABLE welfare.demand IS 'how many of each target live in each zone';
COMMENT ON COLUMN welfare.demand.zone_id IS 'zone';
COMMENT ON COLUMN welfare.demand.target_id IS 'target';
COMMENT ON COLUMN welfare.demand.period IS 'year';
COMMENT ON COLUMN welfare.demand.demand IS 'persons or households of the target';
COMMENT ON COLUMN welfare.demand.source_id IS 'dataset this row comes from (source table)';
SELECT pg_catalog.pg_extension_config_dump('welfare.demand', '');

CREATE TABLE welfare.facility (
    facility_id text NOT NULL,
    municipality_code text NOT NULL,
    service_type_id text NOT NULL,
    name text NOT NULL,
    provider_org text NOT NULL,
    capacity double precision NOT NULL,
    active_from integer,
    active_to integer,
    published boolean NOT NULL,
    source_id text NOT NULL,
    geom public.geometry(Point) NOT NULL,
    PRIMARY KEY (facility_id),
    FOREIGN KEY (service_type_id) REFERENCES welfare.service_type (service_type_id),
    FOREIGN KEY (source_id) REFERENCES welfare.source (source_id),
    CONSTRAINT facility_capacity_check CHECK (capacity > '-Infinity' AND capacity < 'Infinity' AND capacity >= 0),
    CONSTRAINT facility_geom_srid CHECK (public.ST_SRID(geom) = 32632)
);
COMMENT ON TABLE welfare.facility IS 'service points';
COMMENT ON COLUMN welfare.facility.facility_id IS 'globally unique code';
COMMENT ON COLUMN welfare.facility.municipality_code IS 'ISTAT municipality code, 6 digits (Milan: 015146)';
COMMENT ON COLUMN welfare.facility.service_type_id IS 'service type';
COMMENT ON COLUMN welfare.facility.name IS 'display name';
COMMENT ON COLUMN welfare.facility.provider_org IS 'organisation that runs it';
COMMENT ON COLUMN welfare.facility.capacity IS 'in the service type''s capacity unit';
COMMENT ON COLUMN welfare.facility.active_from IS 'first year open; NULL = always';
COMMENT ON COLUMN welfare.facility.active_to IS 'last year open; NULL = still open';
COMMENT ON COLUMN welfare.facility.published IS 'listed publicly';
COMMENT ON COLUMN welfare.facility.source_id IS 'dataset this row comes from (source table)';
COMMENT ON COLUMN welfare.facility.geom IS 'Point in the working CRS';
CREATE INDEX facility_geom_idx ON welfare.facility USING gist (geom);
SELECT pg_catalog.pg_extension_config_dump('welfare.facility', '');

CREATE TABLE welfare.candidate_site (
    site_id text NOT NULL,
    municipality_code text NOT NULL,
    service_type_id text,
    name text NOT NULL,
    opening_cost double precision NOT NULL,
    max_capacity double precision NOT NULL,
    source_id text NOT NULL,
    geom public.geometry(Point) NOT NULL,
    PRIMARY KEY (site_id),
    FOREIGN KEY (service_type_id) REFERENCES welfare.service_type (service_type_id),
    FOREIGN KEY (source_id) REFERENCES welfare.source (source_id),
    CONSTRAINT candidate_site_opening_cost_check CHECK (opening_cost > '-Infinity' AND opening_cost < 'Infinity' AND opening_cost >= 0),
    CONSTRAINT candidate_site_max_capacity_check CHECK (max_capacity > '-Infinity' AND max_capacity < 'Infinity' AND max_capacity >= 0),
    CONSTRAINT candidate_site_geom_srid CHECK (public.ST_SRID(geom) = 32632)
);
COMMENT ON TABLE welfare.candidate_site IS 'where a new service could open';
COMMENT ON COLUMN welfare.candidate_site.site_id IS 'globally unique code';
COMMENT ON COLUMN welfare.candidate_site.municipality_code IS 'ISTAT municipality code, 6 digits (Milan: 015146)';
COMMENT ON COLUMN welfare.candidate_site.service_type_id IS 'service type it suits; NULL = any';
COMMENT ON COLUMN welfare.candidate_site.name IS 'display name';
COMMENT ON COLUMN welfare.candidate_site.opening_cost IS 'one-off cost in euro';
COMMENT ON COLUMN welfare.candidate_site.max_capacity IS 'largest capacity it can host';
COMMENT ON COLUMN welfare.candidate_site.source_id IS 'dataset this row comes from (source table)';
COMMENT ON COLUMN welfare.candidate_site.geom IS 'Point in the working CRS';
CREATE INDEX candidate_site_geom_idx ON welfare.candidate_site USING gist (geom);
SELECT pg_catalog.pg_extension_config_dump('welfare.candidate_site', '');

CREATE TABLE welfare.travel_cost (
    origin_id text NOT NULL,
    destination_id text NOT NULL,
    mode text NOT NULL,
    cost double precision NOT NULL,
    cost_unit text NOT NULL,
    PRIMARY KEY (origin_id, destination_id, mode),
    FOREIGN KEY (origin_id) REFERENCES welfare.zone (zone_id),
    CONSTRAINT travel_cost_mode_check CHECK (mode IN ('walk', 'bike', 'car', 'transit')),
    CONSTRAINT travel_cost_cost_check CHECK (cost > '-Infinity' AND cost < 'Infinity' AND cost >= 0),
    CONSTRAINT travel_cost_cost_unit_check CHECK (cost_unit IN ('m', 'min'))
);
COMMENT ON TABLE welfare.travel_cost IS 'optional network costs between zones and service points';
COMMENT ON COLUMN welfare.travel_cost.origin_id IS 'zone';
COMMENT ON COLUMN welfare.travel_cost.destination_id IS 'facility or candidate site';
COMMENT ON COLUMN welfare.travel_cost.mode IS 'travel mode';
COMMENT ON COLUMN welfare.travel_cost.cost IS 'travel cost';
COMMENT ON COLUMN welfare.travel_cost.cost_unit IS 'm or min';
SELECT pg_catalog.pg_extension_config_dump('welfare.travel_cost', '');

