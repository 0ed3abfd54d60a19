-- Deploy pgjobs:policies/tenant_rows to pg
-- requires: functions/_police_table
-- requires: tables/jobs
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
-- for the days it makes later). The view job_queues reads with its reader's rights
-- (security_invoker), so the policies of jobs and job_queue_locks apply through it too.

BEGIN;

DO $$
DECLARE
  v_table regclass;
BEGIN
  FOR v_table IN
    SELECT t::regclass
      FROM pg_catalog.unnest(ARRAY['app_jobs.jobs', 'app_jobs.job_history', 'app_jobs.job_attempts',
                                   'app_jobs.scheduled_jobs', 'app_jobs.task_settings',
                                   'app_jobs.job_queue_locks', 'app_jobs.job_queue_wakes']) AS t
    UNION ALL
    SELECT i.inhrelid::regclass
      FROM pg_catalog.pg_inherits AS i
     WHERE i.inhparent = 'app_jobs.job_history'::regclass
  LOOP
    PERFORM app_jobs._police_table(v_table);
  END LOOP;
END;
$$;

ALTER VIEW app_jobs.job_queues SET (security_invoker = true);

COMMIT;
