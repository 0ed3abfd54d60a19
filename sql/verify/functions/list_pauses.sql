-- Verify pgjobs:functions/list_pauses on pg

BEGIN;

SELECT 'app_jobs.list_pauses(uuid)'::pg_catalog.regprocedure;

ROLLBACK;
