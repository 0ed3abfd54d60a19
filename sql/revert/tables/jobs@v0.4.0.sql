-- Revert pgjobs:tables/jobs from pg
-- Back to the 0.3.0 index of a named queue's jobs and random uids.

BEGIN;

-- Pause and resume: parked jobs wait as before 0.4.0 (claimable again).
UPDATE app_jobs.jobs AS j SET state = 'ready' WHERE j.state = 'paused';
DROP INDEX app_jobs.jobs_paused_idx;
ALTER TABLE app_jobs.jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE app_jobs.jobs ADD CONSTRAINT jobs_state_check
  CHECK (state IN ('ready', 'scheduled', 'blocked', 'running'));
COMMENT ON COLUMN app_jobs.jobs.state IS
  'Claim state (internal): ready = claimable now; scheduled = run_at in the future (promoted by get_job''s sweep when due); blocked = its serial queue is busy; running = locked by a worker.';

ALTER TABLE app_jobs.jobs DROP COLUMN timeout;

ALTER TABLE app_jobs.jobs DROP COLUMN started_attempt;
ALTER TABLE app_jobs.jobs ALTER COLUMN uid SET DEFAULT pg_catalog.gen_random_uuid();
DROP INDEX app_jobs.jobs_queue_idx;
CREATE INDEX jobs_queue_idx ON app_jobs.jobs (database_id, queue_name, state)
  WHERE queue_name IS NOT NULL;

COMMIT;
