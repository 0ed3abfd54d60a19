-- Revert pgjobs:tables/sweep_clock from pg

BEGIN;

DROP SEQUENCE app_jobs.sweep_clock;

COMMIT;
