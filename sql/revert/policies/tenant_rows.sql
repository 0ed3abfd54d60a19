-- Revert pgjobs:policies/tenant_rows from pg

BEGIN;

-- The view as tables/job_queues made it.
CREATE OR REPLACE VIEW app_jobs.job_queues AS
SELECT c.database_id, c.queue_name, c.job_count, l.locked_by, l.locked_at, c.created_at
  FROM (SELECT j.database_id, j.queue_name,
               pg_catalog.count(*)::integer AS job_count,
               pg_catalog.min(j.created_at) AS created_at
          FROM app_jobs.jobs AS j
         WHERE j.queue_name IS NOT NULL
         GROUP BY j.database_id, j.queue_name) AS c
  LEFT JOIN app_jobs.job_queue_locks AS l
    ON l.database_id = c.database_id AND l.queue_name = c.queue_name
UNION ALL
SELECT l.database_id, l.queue_name, 0, l.locked_by, l.locked_at, l.locked_at
  FROM app_jobs.job_queue_locks AS l
 WHERE NOT EXISTS (SELECT 1 FROM app_jobs.jobs AS j
                    WHERE j.database_id = l.database_id AND j.queue_name = l.queue_name);

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
