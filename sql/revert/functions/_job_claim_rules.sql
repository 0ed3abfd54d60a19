-- Revert pgjobs:functions/_job_claim_rules from pg

BEGIN;

DROP FUNCTION app_jobs._job_claim_rules(bigint, text, text, timestamptz, integer, integer);

COMMIT;
