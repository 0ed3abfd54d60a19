-- Revert pgjobs:functions/settle_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.settle_jobs(text, bigint[], boolean);

COMMIT;
