-- Deploy pgjobs:tables/jobs to pg
-- requires: tables/jobs@v0.4.0
-- Job dependencies (0.5.0, issue 19): a job may wait for other jobs (add_job's depends_on,
-- edges in app_jobs.job_dependencies). Such a job waits in the state 'waiting', which no claim
-- index holds (jobs_claim_idx is on state = 'ready'): it is not due. pending_dependencies
-- counts its dependencies not completed yet; each completion decrements it by an UPDATE of the
-- dependant's row, so two last dependencies completing at once are serialised on that row and
-- the one that brings it to 0 makes the job due, exactly once. has_dependants is set on a job
-- when a dependant is enqueued (that UPDATE also locks the dependency's row against its
-- completion): only a job with dependants pays for looking them up when it finishes; the
-- others pay one boolean test.
-- (The table itself is as created in 0.1.0: deploy/tables/jobs@v0.3.0.sql.)

BEGIN;

ALTER TABLE app_jobs.jobs ADD COLUMN has_dependants boolean NOT NULL DEFAULT false;
ALTER TABLE app_jobs.jobs ADD COLUMN pending_dependencies integer;
ALTER TABLE app_jobs.jobs ADD CONSTRAINT jobs_pending_dependencies_check
  CHECK (pending_dependencies >= 0);

ALTER TABLE app_jobs.jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE app_jobs.jobs ADD CONSTRAINT jobs_state_check
  CHECK (state IN ('ready', 'scheduled', 'blocked', 'running', 'paused', 'waiting'));
ALTER TABLE app_jobs.jobs ADD CONSTRAINT jobs_waiting_check
  CHECK (state <> 'waiting' OR pending_dependencies > 0);

COMMENT ON COLUMN app_jobs.jobs.state IS
  'Claim state (internal): ready = claimable now; scheduled = run_at in the future (promoted by get_job''s sweep when due); blocked = its serial queue is busy; paused = held back by a pause (app_jobs.job_pauses) until resume_jobs; waiting = some of its dependencies (app_jobs.job_dependencies) have not completed; running = locked by a worker.';
COMMENT ON COLUMN app_jobs.jobs.has_dependants IS
  'Whether some job was enqueued depending on this one (app_jobs.job_dependencies): when it leaves app_jobs.jobs its dependants are made due (completed) or cancelled (failed, cancelled). Set by the dependant''s enqueue; false costs a finish nothing.';
COMMENT ON COLUMN app_jobs.jobs.pending_dependencies IS
  'How many of this job''s dependencies have not completed yet (state waiting while above 0); NULL: enqueued without dependencies.';

COMMIT;
