-- Deploy pgjobs:triggers/tenant_roles_used to pg
-- requires: functions/_tenant_roles_refresh
-- Every statement that changes app_jobs.tenant_roles (TRUNCATE included) refreshes
-- app_jobs._tenant_roles_used in its own transaction. ENABLE ALWAYS: it fires under
-- session_replication_role = replica too (a logical replication subscriber, a restore).
-- Then the body is set to what the table holds now (empty on a fresh install: false).

BEGIN;

CREATE FUNCTION app_jobs.tg_tenant_roles_used()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM app_jobs._tenant_roles_refresh();
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.tg_tenant_roles_used() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.tg_tenant_roles_used() IS
  'Internal: the statement trigger of app_jobs.tenant_roles: runs app_jobs._tenant_roles_refresh.';

CREATE TRIGGER tenant_roles_used
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON app_jobs.tenant_roles
  FOR EACH STATEMENT EXECUTE FUNCTION app_jobs.tg_tenant_roles_used();

ALTER TABLE app_jobs.tenant_roles ENABLE ALWAYS TRIGGER tenant_roles_used;

COMMENT ON TRIGGER tenant_roles_used ON app_jobs.tenant_roles IS
  'Keeps app_jobs._tenant_roles_used in step with the table, in the changing transaction.';

SELECT app_jobs._tenant_roles_refresh();

COMMIT;
