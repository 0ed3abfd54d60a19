-- Revert pgjobs:triggers/jobs_check from pg

BEGIN;

DROP TRIGGER jobs_check_update ON app_jobs.jobs;
DROP TRIGGER jobs_check_insert ON app_jobs.jobs;
DROP FUNCTION app_jobs._tg_jobs_check_updated();
DROP FUNCTION app_jobs._tg_jobs_check_inserted();

COMMIT;
