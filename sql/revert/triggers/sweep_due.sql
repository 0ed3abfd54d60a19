-- Revert pgjobs:triggers/sweep_due from pg

BEGIN;

DROP TRIGGER job_queue_wakes_sweep_due ON app_jobs.job_queue_wakes;
DROP FUNCTION app_jobs._tg_sweep_due();

COMMIT;
