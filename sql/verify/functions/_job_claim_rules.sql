-- Verify pgjobs:functions/_job_claim_rules on pg

BEGIN;

SELECT 1 / app_jobs._job_claim_rules(1, 'running', 'w', pg_catalog.now(), 1, NULL)::integer;
SELECT 1 / app_jobs._job_claim_rules(1, 'waiting', NULL, NULL, 0, NULL)::integer;

ROLLBACK;
