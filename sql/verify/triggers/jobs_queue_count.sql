-- Verify pgjobs:triggers/jobs_queue_count on pg
-- Retired in 0.3.0: no job_count trigger and no trigger function is left.

BEGIN;

SELECT 1 / (pg_catalog.count(*) = 0)::integer
  FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass
   AND tgname LIKE 'jobs\_queue\_count\_%';

SELECT 1 / (pg_catalog.to_regprocedure('app_jobs._tg_jobs_queue_count()') IS NULL)::integer;

ROLLBACK;
