-- Revert pgjobs:tables/workers from pg

BEGIN;

DROP TABLE app_jobs.workers;

COMMIT;
