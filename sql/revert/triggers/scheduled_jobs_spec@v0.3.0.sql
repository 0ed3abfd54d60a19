-- Revert pgjobs:triggers/scheduled_jobs_spec from pg

BEGIN;

DROP TRIGGER scheduled_jobs_spec ON app_jobs.scheduled_jobs;
DROP FUNCTION app_jobs._tg_scheduled_jobs_spec();

COMMIT;
