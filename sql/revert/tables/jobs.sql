-- Revert pgjobs:tables/jobs from pg
-- Back to the 0.3.0 index of a named queue's jobs.

BEGIN;

DROP INDEX app_jobs.jobs_queue_idx;
CREATE INDEX jobs_queue_idx ON app_jobs.jobs (database_id, queue_name, state)
  WHERE queue_name IS NOT NULL;

COMMIT;
