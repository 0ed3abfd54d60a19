-- Deploy pgjobs:functions/_tenant to pg
-- requires: functions/_tenant_check
-- requires: functions/_tenant_roles_used
-- The one tenant guard. Every public function that takes or reads a db_id calls it in one
-- line, with the tenant it was asked to act on (a db_id argument, or the tenant of the job it
-- was given) and gets back the tenant to act on:
--   roles mode: the session's login role (session_user: SET ROLE cannot change it) is listed
--     in app_jobs.tenant_roles: that tenant, whatever app_jobs.tenant says;
--   application mode: the setting app_jobs.tenant (SET app_jobs.tenant = '<uuid>') is set;
--   neither: no isolation (db_id is returned as it is).
-- Under a tenant, NULL means "mine"; another tenant is refused (PJ167).
-- When isolation is unused it must cost nothing: this is a plain SQL expression that the
-- planner inlines into the caller's statement, where _tenant_roles_used() (a constant body,
-- rewritten whenever tenant_roles changes) folds away; what is left is one current_setting().
-- Only when tenant_roles has rows or app_jobs.tenant is set does the full check run
-- (_tenant_check). Inlining needs a SQL function without SET clauses, so this one does not pin
-- search_path: every name in it is schema-qualified, operators included, it is executable by
-- its SECURITY DEFINER callers only (they pin search_path), and inlined it runs as their text.

BEGIN;

CREATE FUNCTION app_jobs._tenant(p_db_id uuid, p_function text)
RETURNS uuid
LANGUAGE sql
STABLE
AS $$
  SELECT CASE
           WHEN app_jobs._tenant_roles_used()
             OR pg_catalog.current_setting('app_jobs.tenant', true) OPERATOR(pg_catalog.<>) ''
           THEN app_jobs._tenant_check(p_db_id, p_function)
           ELSE p_db_id
         END
$$;

REVOKE ALL ON FUNCTION app_jobs._tenant(uuid, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tenant(uuid, text) IS
  'Internal: the tenant guard. The tenant a public function may act on: the login role''s (app_jobs.tenant_roles, roles mode), else app_jobs.tenant''s (application mode), else p_db_id unchanged; NULL means the session''s own tenant; another tenant raises PJ167. Inlined into its callers: with no tenant_roles rows and app_jobs.tenant unset it is one current_setting().';

COMMIT;
