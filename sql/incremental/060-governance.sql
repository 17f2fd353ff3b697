-- Governance: which database roles act for which provider organisation (row-level
-- security on welfare.facility reads it), and the privacy settings beyond the
-- three of 001 (welfare_core.privacy.Rules.from_settings reads them all).

CREATE TABLE welfare.provider_member (
    role_name text NOT NULL,
    provider_org text NOT NULL,
    PRIMARY KEY (role_name, provider_org),
    CONSTRAINT provider_member_role_name_check CHECK (length(role_name) BETWEEN 1 AND 63),
    CONSTRAINT provider_member_provider_org_check CHECK (length(provider_org) >= 1)
);
COMMENT ON TABLE welfare.provider_member IS
    'database roles (login users or group roles) acting for a provider organisation: '
    'a member of welfare_provider inserts and updates only facilities whose provider_org '
    'is mapped to a role it belongs to';
COMMENT ON COLUMN welfare.provider_member.role_name IS
    'database role; its members (and itself) act for the organisation';
COMMENT ON COLUMN welfare.provider_member.provider_org IS
    'organisation, as spelled in welfare.facility.provider_org';
SELECT pg_catalog.pg_extension_config_dump('welfare.provider_member', '');

INSERT INTO welfare.setting (name, value, description) VALUES
    ('sensitive_suppress_below', '8',
     'suppression threshold for targets marked sensitive (never below suppress_below)'),
    ('sensitive_round_to', '5',
     'rounding base for targets marked sensitive (never below round_to)'),
    ('min_rate_denominator', '20', 'rates over fewer units than this are hidden'),
    ('dominance_n', '2', 'dominance rule: the n largest contributors ...'),
    ('dominance_k', '0.85', '... may not exceed this share of a published magnitude'),
    ('composite_min_population', '100',
     'composite indices are published only for zones with at least this many residents'),
    ('audit_min_width', '5',
     'differencing audit: a suppressed count must stay uncertain over at least this many units')
ON CONFLICT (name) DO NOTHING;
