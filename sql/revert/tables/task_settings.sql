-- Revert pgjobs:tables/task_settings from pg

BEGIN;

DROP TABLE app_jobs.task_settings;

COMMIT;
