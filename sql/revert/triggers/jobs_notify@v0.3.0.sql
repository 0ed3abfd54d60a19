-- Revert pgjobs:triggers/jobs_notify from pg

BEGIN;

DROP TRIGGER jobs_notify_ready ON app_jobs.jobs;
DROP TRIGGER jobs_notify_insert ON app_jobs.jobs;
DROP FUNCTION app_jobs._tg_jobs_notify();

COMMIT;
