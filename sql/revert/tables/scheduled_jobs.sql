-- Revert pgjobs:tables/scheduled_jobs from pg
-- Back to the 0.3.0 columns: a left-out max_attempts or priority is stored as 25 or 0.

BEGIN;

UPDATE app_jobs.scheduled_jobs
   SET max_attempts = coalesce(max_attempts, 25), priority = coalesce(priority, 0)
 WHERE max_attempts IS NULL OR priority IS NULL;

ALTER TABLE app_jobs.scheduled_jobs
  DROP COLUMN correlation_id,
  DROP COLUMN backoff,
  DROP COLUMN timeout,
  ALTER COLUMN max_attempts SET DEFAULT 25,
  ALTER COLUMN max_attempts SET NOT NULL,
  ALTER COLUMN priority SET DEFAULT 0,
  ALTER COLUMN priority SET NOT NULL;

COMMENT ON COLUMN app_jobs.scheduled_jobs.max_attempts IS NULL;
COMMENT ON COLUMN app_jobs.scheduled_jobs.priority IS NULL;

COMMIT;
