-- Verify pgjobs:triggers/sweep_due on pg

BEGIN;

SELECT 1 / pg_catalog.count(*)::integer FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.job_queue_wakes'::pg_catalog.regclass
   AND tgname = 'job_queue_wakes_sweep_due';

ROLLBACK;
