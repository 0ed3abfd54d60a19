-- Deploy pgjobs:functions/_tenant_roles_used to pg
-- requires: tables/tenant_roles
-- Whether roles mode is in use (app_jobs.tenant_roles has rows), as a constant the planner
-- folds: the tenant guard app_jobs._tenant is inlined into its callers, and with this
-- answering false, a call costs one current_setting() instead of a lookup in tenant_roles.
-- The body is rewritten (SELECT true / SELECT false) by app_jobs._tenant_roles_refresh,
-- which the statement trigger of tenant_roles runs in the transaction that changes the table;
-- replacing it invalidates every cached plan that inlined it. This install body says true
-- (the full check runs), so a copy of it whose refresh was missed is slow, never open.

BEGIN;

CREATE FUNCTION app_jobs._tenant_roles_used()
RETURNS boolean
LANGUAGE sql
STABLE
AS $$ SELECT true $$;

REVOKE ALL ON FUNCTION app_jobs._tenant_roles_used() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tenant_roles_used() IS
  'Internal: whether app_jobs.tenant_roles has rows (roles mode in use), kept as a constant body by app_jobs._tenant_roles_refresh (the statement trigger of tenant_roles), so the inlined tenant guard costs nothing when isolation is unused. true: the full check runs.';

COMMIT;
