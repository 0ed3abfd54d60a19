-- Revert pgjobs:functions/rerun_job from pg

BEGIN;

DROP FUNCTION app_jobs.rerun_job(bigint);

COMMIT;
