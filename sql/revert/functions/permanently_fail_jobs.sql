-- Revert pgjobs:functions/permanently_fail_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.permanently_fail_jobs(bigint[], text);

COMMIT;
