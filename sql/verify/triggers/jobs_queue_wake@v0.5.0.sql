-- Verify pgjobs:triggers/jobs_queue_wake on pg
-- The 0.3.0 definition: it works on app_jobs.job_queue_wakes.

BEGIN;

SELECT 1 / (pg_catalog.count(*) = 2)::integer
  FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass
   AND tgname IN ('jobs_queue_wake_delete', 'jobs_queue_wake_update');

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs._tg_jobs_queue_wake()'::pg_catalog.regprocedure),
                               'app_jobs.job_queue_wakes') > 0)::integer;

ROLLBACK;
