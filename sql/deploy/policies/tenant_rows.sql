-- Deploy pgjobs:policies/tenant_rows to pg
-- requires: functions/_police_table
-- requires: tables/jobs
-- requires: tables/job_pauses
-- requires: tables/job_history
-- requires: tables/job_attempts
-- requires: tables/scheduled_jobs
-- requires: tables/task_settings
-- requires: tables/job_queue_locks
-- requires: tables/job_queue_wakes
-- requires: tables/job_queues
-- Tenant isolation, roles mode, for direct reads: row level security, forced, on every table
-- that holds tenant data (see functions/_police_table for the two policies and why the
-- SECURITY DEFINER functions pass). job_history is partitioned: the parent's policies apply
-- to reads through the parent, a partition read by name has its own, so every partition gets
-- them too (the default one and the day partitions made so far here; create_history_partitions
-- for the days it makes later). The view job_queues reads its tables with its owner's rights
-- (a role granted the view alone keeps reading it, as before), so it filters by the same rule
-- itself: a tenant's login sees its own queues only.

BEGIN;

DO $$
DECLARE
  v_table regclass;
BEGIN
  FOR v_table IN
    SELECT t::regclass
      FROM pg_catalog.unnest(ARRAY['app_jobs.jobs', 'app_jobs.job_history', 'app_jobs.job_attempts',
                                   'app_jobs.scheduled_jobs', 'app_jobs.task_settings',
                                   'app_jobs.job_queue_locks', 'app_jobs.job_queue_wakes',
                                   'app_jobs.job_pauses']) AS t
    UNION ALL
    SELECT i.inhrelid::regclass
      FROM pg_catalog.pg_inherits AS i
     WHERE i.inhparent = 'app_jobs.job_history'::regclass
  LOOP
    PERFORM app_jobs._police_table(v_table);
  END LOOP;
END;
$$;

CREATE OR REPLACE VIEW app_jobs.job_queues AS
SELECT c.database_id, c.queue_name, c.job_count, l.locked_by, l.locked_at, c.created_at
  FROM (SELECT j.database_id, j.queue_name,
               pg_catalog.count(*)::integer AS job_count,
               pg_catalog.min(j.created_at) AS created_at
          FROM app_jobs.jobs AS j
         WHERE j.queue_name IS NOT NULL
           AND ((SELECT app_jobs._row_tenant()) IS NULL
                OR j.database_id = (SELECT app_jobs._row_tenant()))
         GROUP BY j.database_id, j.queue_name) AS c
  LEFT JOIN app_jobs.job_queue_locks AS l
    ON l.database_id = c.database_id AND l.queue_name = c.queue_name
UNION ALL
SELECT l.database_id, l.queue_name, 0, l.locked_by, l.locked_at, l.locked_at
  FROM app_jobs.job_queue_locks AS l
 WHERE NOT EXISTS (SELECT 1 FROM app_jobs.jobs AS j
                    WHERE j.database_id = l.database_id AND j.queue_name = l.queue_name)
   AND ((SELECT app_jobs._row_tenant()) IS NULL
        OR l.database_id = (SELECT app_jobs._row_tenant()));

COMMIT;
