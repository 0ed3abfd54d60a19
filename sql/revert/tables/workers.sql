-- Revert pgjobs:tables/workers from pg
-- Back to the 0.3.0 table: no instance token.

BEGIN;

ALTER TABLE app_jobs.workers DROP COLUMN instance;

COMMIT;
