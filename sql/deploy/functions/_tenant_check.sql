-- Deploy pgjobs:functions/_tenant_check to pg
-- requires: tables/tenant_roles
-- The tenant guard's full check, which app_jobs._tenant (what the public functions call)
-- runs when tenant isolation is in use: tenant_roles has rows, or app_jobs.tenant is set.
-- Given the tenant a function was asked to act on, it answers the tenant to act on:
--   roles mode: the session's login role (session_user: SET ROLE cannot change it) is listed
--     in app_jobs.tenant_roles: that tenant, whatever app_jobs.tenant says;
--   application mode: the setting app_jobs.tenant (SET app_jobs.tenant = '<uuid>') is set;
--   neither: no isolation (db_id is returned as it is).
-- Under a tenant, NULL means "mine"; another tenant is refused (PJ167).

BEGIN;

CREATE FUNCTION app_jobs._tenant_check(p_db_id uuid, p_function text)
RETURNS uuid
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_tenant uuid;
  v_mode text := 'roles';
  v_setting text;
BEGIN
  SELECT t.db_id INTO v_tenant FROM app_jobs.tenant_roles AS t WHERE t.role_name = session_user;
  IF v_tenant IS NULL THEN
    v_mode := 'application';
    v_setting := NULLIF(pg_catalog.current_setting('app_jobs.tenant', true), '');
    IF v_setting IS NULL THEN
      RETURN p_db_id;
    END IF;
    IF v_setting !~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ168',
        MESSAGE = pg_catalog.format('%s: app_jobs.tenant is set to %L, which is not a tenant id (a uuid)',
                                    p_function, v_setting),
        HINT = 'SET app_jobs.tenant = ''<the tenant''''s uuid>'', or RESET app_jobs.tenant for no isolation.';
    END IF;
    v_tenant := v_setting::uuid;
  END IF;
  IF p_db_id IS NULL OR p_db_id = v_tenant THEN
    RETURN v_tenant;
  END IF;
  RAISE EXCEPTION USING
    ERRCODE = 'PJ167',
    MESSAGE = pg_catalog.format('%s: this session acts for tenant %s and may not act on tenant %s',
                                p_function, v_tenant, p_db_id),
    DETAIL = CASE v_mode
               WHEN 'roles' THEN pg_catalog.format('Login role %s is bound to tenant %s (app_jobs.tenant_roles).', session_user, v_tenant)
               ELSE 'The session set app_jobs.tenant (application mode).' END,
    HINT = 'Pass your own tenant as db_id, or NULL (meaning your own); a job of another tenant cannot be read or changed.';
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tenant_check(uuid, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tenant_check(uuid, text) IS
  'Internal: the full check of the tenant guard app_jobs._tenant. The tenant a public function may act on: the login role''s (app_jobs.tenant_roles, roles mode), else app_jobs.tenant''s (application mode), else p_db_id unchanged; NULL means the session''s own tenant; another tenant raises PJ167.';

COMMIT;
