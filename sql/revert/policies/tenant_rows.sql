-- Revert pgjobs:policies/tenant_rows from pg

BEGIN;

ALTER VIEW app_jobs.job_queues RESET (security_invoker);

DO $$
DECLARE
  v_table regclass;
BEGIN
  FOR v_table IN
    SELECT p.polrelid::regclass FROM pg_catalog.pg_policy AS p
     WHERE p.polname IN ('pgjobs_owner', 'pgjobs_tenant')
       AND p.polrelid IN (SELECT c.oid FROM pg_catalog.pg_class AS c
                           WHERE c.relnamespace = 'app_jobs'::regnamespace)
     GROUP BY p.polrelid
  LOOP
    EXECUTE pg_catalog.format('DROP POLICY pgjobs_owner ON %s', v_table);
    EXECUTE pg_catalog.format('DROP POLICY pgjobs_tenant ON %s', v_table);
    EXECUTE pg_catalog.format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', v_table);
    EXECUTE pg_catalog.format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', v_table);
  END LOOP;
END;
$$;

COMMIT;
