-- Revert pgjobs:triggers/tenant_roles_used from pg
-- The guard's constant goes back to its install body (true: the full check runs).

BEGIN;

DROP TRIGGER tenant_roles_used ON app_jobs.tenant_roles;
DROP FUNCTION app_jobs.tg_tenant_roles_used();
CREATE OR REPLACE FUNCTION app_jobs._tenant_roles_used() RETURNS boolean LANGUAGE sql STABLE
  AS $$ SELECT true $$;

COMMIT;
