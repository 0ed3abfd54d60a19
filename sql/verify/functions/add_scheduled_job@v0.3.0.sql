-- Verify pgjobs:functions/add_scheduled_job on pg

BEGIN;

SELECT 'app_jobs.add_scheduled_job(uuid, text, json, json, text, text, integer, integer, text, text, text, integer, interval)'::pg_catalog.regprocedure;

ROLLBACK;
