-- Revert pgjobs:functions/claim_job from pg

BEGIN;

DROP FUNCTION app_jobs.claim_job(text, bigint);

COMMIT;
