-- Verify pgjobs:functions/job_throughput on pg

BEGIN;

SELECT 'app_jobs.job_throughput(interval)'::pg_catalog.regprocedure;

ROLLBACK;
