-- Verify pgjobs:functions/add_scheduled_job on pg

BEGIN;

SELECT 'app_jobs.add_scheduled_job(uuid, text, json, json, text, text, integer, integer)'::pg_catalog.regprocedure;

ROLLBACK;
