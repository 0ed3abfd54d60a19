-- Deploy pgjobs:functions/_tenant_roles_refresh to pg
-- requires: functions/_tenant_roles_used
-- requires: tables/tenant_roles
-- Rewrites the body of app_jobs._tenant_roles_used to what tenant_roles holds now: SELECT true
-- when it has rows, SELECT false when it is empty. Run by the statement trigger of
-- tenant_roles (triggers/tenant_roles_used), in the transaction that changed the table, so the
-- new body commits with the change, and replacing the function invalidates every cached plan
-- that inlined the old one. Never says false while a row may exist:
--   - writers of tenant_roles are serialised (SHARE ROW EXCLUSIVE, held to commit), and under
--     READ COMMITTED the count below sees every committed row;
--   - under REPEATABLE READ or SERIALIZABLE the transaction's snapshot may miss a row another
--     transaction committed meanwhile: then the body stays true (the full check runs).
-- Executable by the owner only; an operator who loaded tenant_roles with its triggers disabled
-- (pg_restore --disable-triggers) runs it by hand: SELECT app_jobs._tenant_roles_refresh();

BEGIN;

CREATE FUNCTION app_jobs._tenant_roles_refresh()
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_used boolean;
  v_word text;
BEGIN
  LOCK TABLE app_jobs.tenant_roles IN SHARE ROW EXCLUSIVE MODE;
  v_used := pg_catalog.current_setting('transaction_isolation') <> 'read committed'
            OR EXISTS (SELECT FROM app_jobs.tenant_roles);
  v_word := CASE WHEN v_used THEN 'true' ELSE 'false' END;
  IF pg_catalog.pg_get_functiondef('app_jobs._tenant_roles_used()'::pg_catalog.regprocedure)
     NOT LIKE pg_catalog.format('%%SELECT %s %%', v_word) THEN
    EXECUTE pg_catalog.format(
      'CREATE OR REPLACE FUNCTION app_jobs._tenant_roles_used() RETURNS boolean LANGUAGE sql STABLE AS $body$ SELECT %s $body$',
      v_word);
  END IF;
  RETURN v_used;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tenant_roles_refresh() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tenant_roles_refresh() IS
  'Internal: sets the body of app_jobs._tenant_roles_used to whether app_jobs.tenant_roles has rows (true under REPEATABLE READ or SERIALIZABLE, whose snapshot may miss one); returns it. Run by the statement trigger of tenant_roles; by hand after loading tenant_roles with triggers disabled.';

COMMIT;
