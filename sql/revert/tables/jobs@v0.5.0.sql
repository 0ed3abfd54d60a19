-- Revert pgjobs:tables/jobs from pg
-- Back to the 0.4.0 table: jobs waiting for dependencies become claimable (their
-- dependencies are forgotten with app_jobs.job_dependencies).

BEGIN;

UPDATE app_jobs.jobs AS j
   SET state = CASE WHEN j.run_at > pg_catalog.now() THEN 'scheduled' ELSE 'ready' END
 WHERE j.state = 'waiting';
ALTER TABLE app_jobs.jobs DROP CONSTRAINT jobs_waiting_check;
ALTER TABLE app_jobs.jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE app_jobs.jobs ADD CONSTRAINT jobs_state_check
  CHECK (state IN ('ready', 'scheduled', 'blocked', 'running', 'paused'));
COMMENT ON COLUMN app_jobs.jobs.state IS
  'Claim state (internal): ready = claimable now; scheduled = run_at in the future (promoted by get_job''s sweep when due); blocked = its serial queue is busy; paused = held back by a pause (app_jobs.job_pauses) until resume_jobs; running = locked by a worker.';
ALTER TABLE app_jobs.jobs DROP COLUMN pending_dependencies;
ALTER TABLE app_jobs.jobs DROP COLUMN has_dependants;

COMMIT;
