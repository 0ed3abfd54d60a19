-- Verify pgjobs:functions/permanently_fail_jobs on pg

BEGIN;

SELECT 'app_jobs.permanently_fail_jobs(bigint[], text)'::pg_catalog.regprocedure;

ROLLBACK;
