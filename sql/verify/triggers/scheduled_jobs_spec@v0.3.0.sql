-- Verify pgjobs:triggers/scheduled_jobs_spec on pg

BEGIN;

SELECT 1 / (pg_catalog.count(*) = 1)::integer
  FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.scheduled_jobs'::pg_catalog.regclass
   AND tgname = 'scheduled_jobs_spec';

ROLLBACK;
