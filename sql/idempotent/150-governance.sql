-- Governance: role membership, the tamper-proof run log, row-level security of
-- providers on facilities, and the records-of-processing report.
--
-- The SECURITY DEFINER functions of the extension are here (and the providers'
-- entry point welfare.run_published, 152-provider-runs.sql), and they are
-- kept tiny: the run log (no role holds INSERT/UPDATE on welfare.run, so no role
-- can forge or edit it) and role membership (welfare_admin holds no CREATEROLE).
-- They pin search_path = pg_catalog, pg_temp and qualify every name.

-- Who is acting: the role chosen with SET ROLE, else the login (session) user.
-- Inside a SECURITY DEFINER function current_user is the owner, but the `role`
-- setting still names the caller's SET ROLE.
CREATE OR REPLACE FUNCTION welfare._caller() RETURNS text
LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT COALESCE(NULLIF(pg_catalog.current_setting('role'), 'none'), session_user::text) $$;
COMMENT ON FUNCTION welfare._caller() IS
    'role accountable for the current statement: SET ROLE role, else the login user (internal)';

CREATE OR REPLACE FUNCTION welfare.log_run_start(kind text, parameters jsonb DEFAULT '{}'::jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id bigint;
    audience text := 'everyone';
BEGIN
    IF kind IS NULL OR kind !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'run kind % is not a lowercase name', COALESCE(pg_catalog.quote_literal(kind), 'NULL')
          USING ERRCODE = 'invalid_parameter_value', HINT = 'e.g. accessibility';
    END IF;
    IF parameters IS NULL OR pg_catalog.jsonb_typeof(parameters) <> 'object'
       OR pg_catalog.octet_length(parameters::text) > 100000 THEN
        RAISE EXCEPTION 'run parameters must be a JSON object of at most 100 kB'
          USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- a run through welfare.run_published (152-provider-runs.sql) counted published
    -- facilities only, and welfare_bi shows it to its author only (it pins
    -- welfare.run_audience = caller): a provider cannot replace everyone's figures.
    -- A session that counts unpublished facilities too (welfare.count_unpublished_facilities,
    -- wi.published_only in 010-bootstrap.sql) publishes to its author only as well.
    IF pg_catalog.lower(pg_catalog.btrim(pg_catalog.current_setting(
           'welfare.published_facilities_only', true))) IN ('on', 'true', 'yes', '1') THEN
        parameters := parameters || '{"published_facilities_only": true}'::jsonb;
    ELSIF pg_catalog.lower(pg_catalog.btrim(pg_catalog.current_setting(
           'welfare.count_unpublished_facilities', true))) IN ('on', 'true', 'yes', '1') THEN
        parameters := parameters || '{"unpublished_facilities_counted": true}'::jsonb;
        audience := 'caller';
    END IF;
    IF pg_catalog.lower(pg_catalog.btrim(pg_catalog.current_setting(
           'welfare.run_audience', true))) = 'caller' THEN
        audience := 'caller';
    END IF;
    INSERT INTO welfare.run (kind, parameters, run_by, audience)
    VALUES (kind, parameters, welfare._caller(), audience)
    RETURNING run_id INTO id;
    PERFORM welfare._pending_run(id, kind, parameters, welfare._caller());
    RETURN id;
END
$$;
COMMENT ON FUNCTION welfare.log_run_start(text, jsonb) IS
    'appends a run to welfare.run as the calling role (status running) and returns its id; '
    'the only way to add a run';

CREATE OR REPLACE FUNCTION welfare.log_run_finish(
    run_id bigint, status text DEFAULT 'ok', message text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF status IS NULL OR status NOT IN ('ok', 'failed', 'cancelled') THEN
        RAISE EXCEPTION 'run status % is not ok, failed or cancelled',
            COALESCE(pg_catalog.quote_literal(status), 'NULL')
          USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE welfare.run r
       SET status = log_run_finish.status,
           finished_at = pg_catalog.clock_timestamp(),
           duration_ms = GREATEST(0, 1000 * EXTRACT(epoch FROM pg_catalog.clock_timestamp() - r.started_at)),
           message = pg_catalog.left(log_run_finish.message, 10000)
     WHERE r.run_id = log_run_finish.run_id AND r.status = 'running'
       AND r.run_by = welfare._caller();
    IF FOUND THEN
        PERFORM welfare._pending_run(log_run_finish.run_id, NULL, NULL, NULL);
    ELSE
        RAISE EXCEPTION 'run % is not a running run started by %', run_id, welfare._caller()
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'a run is finished once, by the role that started it (welfare.log_run_start)';
    END IF;
END
$$;
COMMENT ON FUNCTION welfare.log_run_finish(bigint, text, text) IS
    'finishes a running run of the calling role once: status, end time, server-measured '
    'duration, message; the only way to change a run';

-- Failed runs. A run that fails rolls back with its statement, 'running' row
-- included. So log_run_start also remembers the run in the session (PL/Python GD,
-- which a rollback does not undo), log_run_finish forgets it, and the error
-- handler of every public wrapper (RERAISE_ERRORS in db_extension/build.py) calls
-- welfare._log_run_failure, which writes the run as 'failed' (who, what,
-- parameters, when, the error) in an autonomous transaction: a dblink connection
-- back to this database over the local socket, as the server's OS user (peer
-- authentication in Debian's default pg_hba.conf). If that connection cannot be
-- made, the failure goes to the server log (RAISE LOG) instead.
-- Only the SECURITY DEFINER log functions can call _pending_run and
-- _take_pending_runs (900-privileges.sql), so nobody can plant a run to fail.
CREATE OR REPLACE FUNCTION welfare._pending_run(run_id bigint, kind text, parameters jsonb, caller text)
RETURNS void
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
pending = GD.setdefault("welfare pending runs", {})
if kind is None:
    pending.pop(run_id, None)
else:
    row = plpy.execute("SELECT pg_catalog.statement_timestamp()::text AS stmt, "
                       "pg_catalog.clock_timestamp()::text AS started")[0]
    pending[run_id] = dict(run_id=run_id, kind=kind, parameters=parameters, caller=caller,
                           stmt=row["stmt"], started=row["started"])
$python$;
COMMENT ON FUNCTION welfare._pending_run(bigint, text, jsonb, text) IS
    'remembers a started run in the session until it finishes (internal, log functions only)';

CREATE OR REPLACE FUNCTION welfare._take_pending_runs()
RETURNS TABLE (pending_run_id bigint, pending_kind text, pending_parameters text,
               pending_caller text, pending_started text)
LANGUAGE plpython3u VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $python$
pending = GD.setdefault("welfare pending runs", {})
stmt = plpy.execute("SELECT pg_catalog.statement_timestamp()::text AS stmt")[0]["stmt"]
now = [p for p in pending.values() if p["stmt"] == stmt]  # older ones: not this failure
pending.clear()
return [(p["run_id"], p["kind"], p["parameters"], p["caller"], p["started"]) for p in now]
$python$;
COMMENT ON FUNCTION welfare._take_pending_runs() IS
    'runs started in this statement and not finished, forgotten once read (internal)';

-- Where an autonomous transaction goes: the schema of dblink (a required extension)
-- and a connection string back to this database over the local socket, as the
-- server's OS user (peer authentication in Debian's default pg_hba.conf), with short
-- lock and statement timeouts so a wait on the caller's own locks ends in an error.
CREATE OR REPLACE FUNCTION welfare._autonomous_target(application_name text,
                                                      OUT dblink_schema name, OUT conninfo text)
LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
SELECT (SELECT n.nspname FROM pg_catalog.pg_extension e
          JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'dblink'),
       pg_catalog.format(
           'dbname=%s host=%s port=%s application_name=%s '
           'options=''-c lock_timeout=5s -c statement_timeout=10s''',
           '''' || pg_catalog.replace(pg_catalog.replace(pg_catalog.current_database(), '\', '\\'),
                                      '''', '\''') || '''',
           pg_catalog.btrim(pg_catalog.split_part(
               pg_catalog.current_setting('unix_socket_directories'), ',', 1)),
           pg_catalog.current_setting('port'), application_name)
$$;
COMMENT ON FUNCTION welfare._autonomous_target(text) IS
    'dblink schema and connection string of an autonomous transaction on this database (internal)';

CREATE OR REPLACE FUNCTION welfare._log_run_failure(message text)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    target record := welfare._autonomous_target('welfare_run_log');
    stmt text;
    logged integer := 0;
    msg text := pg_catalog.left(pg_catalog.regexp_replace(COALESCE(message, 'error'),
        '^((plpy\.Error|WelfareSqlError|spiexceptions\.\w+|\w+Error): )+', ''), 10000);
BEGIN
    FOR p IN SELECT * FROM welfare._take_pending_runs() LOOP
        -- still visible: its transaction is alive (the caller went on), not a failure
        CONTINUE WHEN EXISTS (SELECT 1 FROM welfare.run r WHERE r.run_id = p.pending_run_id);
        stmt := pg_catalog.format(
            'INSERT INTO welfare.run (run_id, kind, parameters, run_by, started_at, finished_at, '
            'status, duration_ms, message) OVERRIDING SYSTEM VALUE VALUES (%s, %L, %L::jsonb, %L, '
            '%L::timestamptz, pg_catalog.clock_timestamp(), ''failed'', GREATEST(0, 1000 * '
            'EXTRACT(epoch FROM pg_catalog.clock_timestamp() - %L::timestamptz)), %L)',
            p.pending_run_id, p.pending_kind, p.pending_parameters, p.pending_caller,
            p.pending_started, p.pending_started, msg);
        BEGIN
            IF target.dblink_schema IS NULL THEN
                RAISE EXCEPTION 'extension dblink is not installed';
            END IF;
            EXECUTE pg_catalog.format('SELECT %I.dblink_exec($1, $2)', target.dblink_schema)
              USING target.conninfo, stmt;
            logged := logged + 1;
        EXCEPTION WHEN OTHERS THEN
            RAISE LOG 'welfare_intelligence: run % (%) by % failed: % [not recorded in welfare.run: %]',
                p.pending_run_id, p.pending_kind, p.pending_caller, msg, SQLERRM;
        END;
    END LOOP;
    RETURN logged;
END
$$;
COMMENT ON FUNCTION welfare._log_run_failure(text) IS
    'records the runs of the failing statement as failed in welfare.run, in an autonomous '
    'transaction (dblink), else in the server log; called by every wrapper''s error handler (internal)';

-- Differential privacy budget: a release (welfare.dp_release) is refused when the
-- epsilon of all releases would exceed setting dp_epsilon_budget. Releases are
-- serialised by an advisory lock so two cannot both take the last of the budget
-- (a READ COMMITTED insert sees the releases committed before it got the lock; a
-- REPEATABLE READ or SERIALIZABLE one would sum with its older snapshot, so it is refused).
-- Who and when are set here, not by the caller.
CREATE OR REPLACE FUNCTION welfare._dp_release_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    budget double precision := welfare.setting_value('dp_epsilon_budget')::double precision;
    spent double precision;
BEGIN
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'differentially private releases are recorded in READ COMMITTED transactions only, not %',
            pg_catalog.upper(pg_catalog.current_setting('transaction_isolation'))
          USING ERRCODE = 'object_not_in_prerequisite_state',
                HINT = 'a transaction snapshot taken before the budget lock could miss releases '
                       'committed meanwhile and overspend the epsilon budget; use the default '
                       'isolation level';
    END IF;
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('welfare.dp_release'));
    SELECT COALESCE(sum(r.epsilon), 0) INTO spent FROM welfare.dp_release r;
    IF spent + NEW.epsilon > budget + 1e-12 THEN
        RAISE EXCEPTION 'epsilon % would exceed the differential privacy budget: % of % already spent',
            NEW.epsilon, spent, budget
          USING ERRCODE = 'check_violation',
                HINT = 'release with a smaller epsilon, or an admin raises setting dp_epsilon_budget';
    END IF;
    NEW.released_by := welfare._caller();
    NEW.released_at := pg_catalog.clock_timestamp();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION welfare._dp_release_guard() IS
    'trigger: keeps differentially private releases within the epsilon budget (internal)';
DROP TRIGGER IF EXISTS dp_release_guard ON welfare.dp_release;
CREATE TRIGGER dp_release_guard BEFORE INSERT ON welfare.dp_release
    FOR EACH ROW EXECUTE FUNCTION welfare._dp_release_guard();

-- A release is recorded before its noise is drawn, in an autonomous transaction
-- (dblink, as the caller: SET ROLE to welfare._caller(), so its privileges and
-- released_by are the caller's), so a caller who reads the noisy counts and then
-- rolls back has still spent the epsilon. The budget is checked there by the
-- trigger above, against the committed releases and the committed budget setting.
-- Where the connection cannot be made (a pg_hba.conf without local peer access for
-- the server's OS user), nothing is released.
CREATE OR REPLACE FUNCTION welfare._record_dp_release(description text, epsilon double precision,
                                                      cells integer)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target record := welfare._autonomous_target('welfare_dp_release');
    release bigint;
    stmt text := pg_catalog.format(
        'SET ROLE %I; INSERT INTO welfare.dp_release (description, epsilon, cells) '
        'VALUES (%L, %L::double precision, %s) RETURNING release_id',
        welfare._caller(), description, epsilon::text, cells);
BEGIN
    BEGIN
        EXECUTE pg_catalog.format('SELECT r.id FROM %I.dblink($1, $2) AS r(id bigint)',
                                  target.dblink_schema)
           INTO release USING target.conninfo, stmt;
    EXCEPTION WHEN sqlclient_unable_to_establish_sqlconnection THEN
        RAISE EXCEPTION 'cannot record the release in its own transaction: %', SQLERRM
          USING ERRCODE = 'sqlclient_unable_to_establish_sqlconnection',
                HINT = 'a release recorded in the caller''s transaction could be rolled back '
                       'after its output was read; allow local peer connections for the '
                       'server''s OS user in pg_hba.conf (Debian''s default)';
    END;
    RETURN release;
END
$$;
COMMENT ON FUNCTION welfare._record_dp_release(text, double precision, integer) IS
    'records a differentially private release in an autonomous transaction, as the caller, '
    'so a rollback cannot give its epsilon back (internal)';

-- Role membership without CREATEROLE: validated, identifiers quoted, logged.
CREATE OR REPLACE FUNCTION welfare._set_role_membership(grant_it boolean, role text, member text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF role IS NULL OR role NOT IN ('welfare_admin', 'welfare_analyst', 'welfare_provider',
                                    'welfare_bi_reader') THEN
        RAISE EXCEPTION 'role % is not a Welfare Intelligence role', COALESCE(pg_catalog.quote_literal(role), 'NULL')
          USING ERRCODE = 'invalid_parameter_value',
                HINT = 'use welfare_admin, welfare_analyst, welfare_provider or welfare_bi_reader';
    END IF;
    IF member IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = member) THEN
        RAISE EXCEPTION 'no database role named %', COALESCE(pg_catalog.quote_literal(member), 'NULL')
          USING ERRCODE = 'undefined_object', HINT = 'CREATE ROLE ... LOGIN first (a superuser does it)';
    END IF;
    IF member LIKE 'welfare\_%' AND member IN ('welfare_admin', 'welfare_analyst',
                                                'welfare_provider', 'welfare_bi_reader')
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = member AND r.rolsuper)
       OR member LIKE 'pg\_%' THEN
        RAISE EXCEPTION 'role % cannot be given Welfare Intelligence roles', pg_catalog.quote_ident(member)
          USING ERRCODE = 'invalid_parameter_value',
                HINT = 'members are users or groups of people, not the platform''s own or system roles';
    END IF;
    IF grant_it THEN
        EXECUTE pg_catalog.format('GRANT %I TO %I', role, member);
    ELSE
        EXECUTE pg_catalog.format('REVOKE %I FROM %I', role, member);
    END IF;
    INSERT INTO welfare.run (kind, parameters, run_by, status, finished_at, duration_ms)
    VALUES (CASE WHEN grant_it THEN 'grant_role' ELSE 'revoke_role' END,
            pg_catalog.jsonb_build_object('role', role, 'member', member),
            welfare._caller(), 'ok', pg_catalog.clock_timestamp(), 0);
END
$$;
COMMENT ON FUNCTION welfare._set_role_membership(boolean, text, text) IS
    'body of welfare.grant_role / welfare.revoke_role (internal)';

CREATE OR REPLACE FUNCTION welfare.grant_role(role text, member text) RETURNS void
LANGUAGE sql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT welfare._set_role_membership(true, role, member) $$;
COMMENT ON FUNCTION welfare.grant_role(text, text) IS
    'makes an existing database role a member of one of the four Welfare Intelligence roles '
    '(admin only; logged in welfare.run)';

CREATE OR REPLACE FUNCTION welfare.revoke_role(role text, member text) RETURNS void
LANGUAGE sql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT welfare._set_role_membership(false, role, member) $$;
COMMENT ON FUNCTION welfare.revoke_role(text, text) IS
    'removes a database role from one of the four Welfare Intelligence roles (admin only; logged)';

-- Row-level security. Table owners (the installing superuser, hence the
-- welfare_bi views and imports run by a superuser) bypass it.
ALTER TABLE welfare.provider_member ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS provider_member_staff ON welfare.provider_member;
CREATE POLICY provider_member_staff ON welfare.provider_member FOR ALL TO welfare_admin
    USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS provider_member_analyst ON welfare.provider_member;
CREATE POLICY provider_member_analyst ON welfare.provider_member FOR SELECT TO welfare_analyst
    USING (true);
DROP POLICY IF EXISTS provider_member_own ON welfare.provider_member;
CREATE POLICY provider_member_own ON welfare.provider_member FOR SELECT TO welfare_provider
    USING (pg_catalog.pg_has_role(current_user,
               (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = role_name), 'MEMBER'));

ALTER TABLE welfare.facility ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS facility_staff ON welfare.facility;
CREATE POLICY facility_staff ON welfare.facility FOR ALL TO welfare_admin
    USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS facility_analyst ON welfare.facility;
CREATE POLICY facility_analyst ON welfare.facility FOR SELECT TO welfare_analyst USING (true);
-- provider: sees the published list and its own facilities; writes only its own.
-- provider_member rows it can see are already only its own (policy above).
DROP POLICY IF EXISTS facility_provider_read ON welfare.facility;
CREATE POLICY facility_provider_read ON welfare.facility FOR SELECT TO welfare_provider
    USING (published OR provider_org IN (SELECT m.provider_org FROM welfare.provider_member m));
DROP POLICY IF EXISTS facility_provider_insert ON welfare.facility;
CREATE POLICY facility_provider_insert ON welfare.facility FOR INSERT TO welfare_provider
    WITH CHECK (provider_org IN (SELECT m.provider_org FROM welfare.provider_member m));
DROP POLICY IF EXISTS facility_provider_update ON welfare.facility;
CREATE POLICY facility_provider_update ON welfare.facility FOR UPDATE TO welfare_provider
    USING (provider_org IN (SELECT m.provider_org FROM welfare.provider_member m))
    WITH CHECK (provider_org IN (SELECT m.provider_org FROM welfare.provider_member m));

-- Records of processing (GDPR Art. 30), generated from welfare.source and the
-- catalog: what is held, why, on which legal basis, for how long, where it is
-- stored and which roles can read it.
CREATE OR REPLACE FUNCTION welfare.processing_records()
RETURNS TABLE (source_id text, dataset text, controller text, purpose text, legal_basis text,
               personal_data boolean, licence text, retention text, retrieved date,
               stored_in text, recipients text, safeguards text)
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    tab record;
    counts jsonb := '{}'::jsonb;
    part jsonb;
    sup text := COALESCE(welfare.setting_value('suppress_below'), '8');
    rnd text := COALESCE(welfare.setting_value('round_to'), '5');
BEGIN
    -- rows per source in every welfare table that has a source_id column
    FOR tab IN
        SELECT c.relname FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
         WHERE n.nspname = 'welfare' AND c.relkind = 'r' AND a.attname = 'source_id'
           AND NOT a.attisdropped AND c.relname <> 'source'
         ORDER BY c.relname
    LOOP
        EXECUTE pg_catalog.format(
            'SELECT COALESCE(pg_catalog.jsonb_object_agg(s.source_id, %L || '' ('' || s.n || '' rows)''), ''{}'') '
            'FROM (SELECT t.source_id, count(*) AS n FROM welfare.%I t GROUP BY t.source_id) s',
            tab.relname, tab.relname) INTO part;
        SELECT COALESCE(pg_catalog.jsonb_object_agg(k, CASE WHEN counts ? k
                   THEN pg_catalog.to_jsonb((counts ->> k) || ', ' || (part ->> k))
                   ELSE part -> k END), '{}')
          INTO part FROM pg_catalog.jsonb_object_keys(part) k;
        counts := counts || part;
    END LOOP;
    RETURN QUERY
    SELECT s.source_id, s.name, s.owner_org, s.purpose, s.legal_basis, s.personal_data,
           s.licence, s.retention, s.retrieved,
           COALESCE(counts ->> s.source_id, 'not used by any table'),
           'welfare_admin and welfare_analyst (raw); welfare_provider and welfare_bi_reader '
           'see only published aggregates (schema welfare_bi) and the published facility list',
           pg_catalog.format('counts 1-%s suppressed and others rounded to %s in every published '
                  'output; rates hidden for small denominators; sensitive targets only at fixed '
                  'geographies; role-based access with row-level security for providers; every '
                  'analysis run logged (welfare.run)',
                  (sup::integer - 1)::text, rnd)
      FROM welfare.source s
     ORDER BY s.source_id;
END
$$;
COMMENT ON FUNCTION welfare.processing_records() IS
    'records of processing (GDPR Art. 30) per dataset: controller, purpose, legal basis, '
    'personal data, retention, where it is stored, recipients, safeguards';
