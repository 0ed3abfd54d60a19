-- Verify pgjobs:triggers/scheduled_jobs_spec on pg
-- The 0.4.0 definition: the trigger checks the payload and fires on payload updates.

BEGIN;

SELECT 1 / (pg_catalog.count(*) = 1)::integer
  FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.scheduled_jobs'::pg_catalog.regclass
   AND tgname = 'scheduled_jobs_spec';

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs._tg_scheduled_jobs_spec()'::pg_catalog.regprocedure),
                               'app_jobs._check_payload') > 0)::integer;

ROLLBACK;
