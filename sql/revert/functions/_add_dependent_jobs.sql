-- Revert pgjobs:functions/_add_dependent_jobs from pg

BEGIN;

DROP FUNCTION app_jobs._add_dependent_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text, text, jsonb[]);

COMMIT;
