-- Revert pgjobs:tables/jobs from pg
-- Back to the 0.3.0 index of a named queue's jobs and random uids.

BEGIN;

ALTER TABLE app_jobs.jobs DROP COLUMN started_attempt;
ALTER TABLE app_jobs.jobs DROP COLUMN timeout;

ALTER TABLE app_jobs.jobs ALTER COLUMN uid SET DEFAULT pg_catalog.gen_random_uuid();
DROP INDEX app_jobs.jobs_queue_idx;
CREATE INDEX jobs_queue_idx ON app_jobs.jobs (database_id, queue_name, state)
  WHERE queue_name IS NOT NULL;

COMMIT;
