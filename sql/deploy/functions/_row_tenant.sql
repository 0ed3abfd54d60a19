-- Deploy pgjobs:functions/_row_tenant to pg
-- requires: tables/tenant_roles
-- Row level security, roles mode: the tenant the session's login role is bound to
-- (app_jobs.tenant_roles, keyed on session_user: neither SET ROLE nor SET app_jobs.tenant
-- changes it), NULL when the login is bound to none. The tenant policies of the tables call
-- it, as the role that reads the table, so it is executable by PUBLIC: it only tells a
-- session its own tenant. SECURITY DEFINER: the reader needs no right on tenant_roles.

BEGIN;

CREATE FUNCTION app_jobs._row_tenant()
RETURNS uuid
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT t.db_id FROM app_jobs.tenant_roles AS t WHERE t.role_name = pg_catalog."session_user"();
$$;

REVOKE ALL ON FUNCTION app_jobs._row_tenant() FROM PUBLIC;
-- Every role that may be granted a table of app_jobs evaluates the tenant policies, which
-- call this function: it answers the caller's own tenant only.
GRANT EXECUTE ON FUNCTION app_jobs._row_tenant() TO PUBLIC;

COMMENT ON FUNCTION app_jobs._row_tenant() IS
  'Internal (row level security): the tenant the session''s login role (session_user) is bound to in app_jobs.tenant_roles, NULL if none. Called by the pgjobs_tenant policies; executable by PUBLIC because any role reading a policed table evaluates them.';

COMMIT;
