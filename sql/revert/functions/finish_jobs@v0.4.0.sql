-- Revert pgjobs:functions/finish_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.finish_jobs(text, bigint[], json[], text[], json[], boolean[], json[]);

COMMIT;
