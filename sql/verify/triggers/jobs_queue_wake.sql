-- Verify pgjobs:triggers/jobs_queue_wake on pg
-- The 0.6.0 definition: the triggers' WHEN is the queue test alone, the function tests the
-- rest. Once triggers/jobs_updated is deployed, its triggers take over jobs_queue_wake_update.

BEGIN;

SELECT 1 / (pg_catalog.count(*) = 2)::integer
  FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass
   AND tgname IN ('jobs_queue_wake_delete', 'jobs_queue_wake_update', 'jobs_updated')
   AND pg_catalog.strpos(pg_catalog.pg_get_triggerdef(oid), 'state') = 0;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs._tg_jobs_queue_wake()'::pg_catalog.regprocedure),
                               'TG_OP') > 0)::integer;

ROLLBACK;
