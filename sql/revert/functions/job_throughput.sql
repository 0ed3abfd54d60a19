-- Revert pgjobs:functions/job_throughput from pg

BEGIN;

DROP FUNCTION app_jobs.job_throughput(interval);

COMMIT;
