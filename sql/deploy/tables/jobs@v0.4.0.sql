-- Deploy pgjobs:tables/jobs to pg
-- requires: tables/jobs@v0.3.0
-- requires: functions/_uuid_v7
-- The claim takes a named queue's jobs strictly in order: the claimer that holds a serial queue
-- starts the queue's head, the first due waiting job by (priority, run_at, id), never a later
-- one it happened to find first. This index finds that head (and the queue's jobs to park or
-- wake) in claim order, instead of by state: it is also one column fewer that a claim changes.
-- New jobs get a time-ordered uid (app_jobs._uuid_v7): a random one wrote a random page of
-- the uid indexes per job (and per claim). Existing uids are kept.
-- (The table itself is as created in 0.1.0: deploy/tables/jobs@v0.3.0.sql.)

BEGIN;

DROP INDEX app_jobs.jobs_queue_idx;
CREATE INDEX jobs_queue_idx ON app_jobs.jobs (database_id, queue_name, priority, run_at, id)
  WHERE queue_name IS NOT NULL;

ALTER TABLE app_jobs.jobs ALTER COLUMN uid SET DEFAULT app_jobs._uuid_v7();

COMMENT ON INDEX app_jobs.jobs_queue_idx IS
  'A named queue''s jobs in claim order: the claim finds the queue''s head through it, and parks and wakes the queue''s jobs.';

-- Per-job timeout (0.4.0): how long one attempt of this job may run before its worker stops
-- it and fails the attempt (retried as any failure). Stored with the job so that any worker
-- honours it; NULL: no limit. Bounded: more than zero, at most 7 days (add_job refuses
-- others with PJ406; the CHECK keeps every other writer to the same bounds).
ALTER TABLE app_jobs.jobs ADD COLUMN timeout interval;
ALTER TABLE app_jobs.jobs ADD CONSTRAINT jobs_timeout_check
  CHECK (timeout > interval '0' AND timeout <= interval '7 days');

COMMENT ON COLUMN app_jobs.jobs.timeout IS
  'Longest run of one attempt (more than 0, at most 7 days); past it the worker stops the handler and fails the attempt, which is retried as any failure. NULL: no limit.';
-- Buffered is not started (worker buffers, 0.4.0): started_attempt is the attempt a worker
-- recorded as started (app_jobs.start_jobs, or a claim with started := true, as get_job's).
-- A job whose attempts equal its started_attempt is running a handler: if its worker dies,
-- that attempt is used (logged lost). Any other running job was only claimed into a buffer:
-- given back, its attempt is refunded. No index holds the column, so recording a start can
-- be a HOT update. Jobs running at the upgrade count as started (as before 0.4.0).

ALTER TABLE app_jobs.jobs ADD COLUMN started_attempt integer;

UPDATE app_jobs.jobs AS j SET started_attempt = j.attempts WHERE j.state = 'running';

COMMENT ON COLUMN app_jobs.jobs.started_attempt IS
  'The attempt a worker recorded as started (start_jobs, or get_job''s claim). A running job whose attempts differ was only claimed into a worker''s buffer: given back, its attempt is refunded; a started one has used its attempt. Not indexed.';

-- Pause and resume (0.4.0, app_jobs.job_pauses): a waiting job that a pause matches is parked
-- as 'paused' by the claim (lazily, in bounded batches) and by start_jobs, out of the claim
-- index like 'blocked'; resume_jobs finds the parked jobs through jobs_paused_idx (no cost to
-- a job in any other state) and makes them claimable again.
ALTER TABLE app_jobs.jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE app_jobs.jobs ADD CONSTRAINT jobs_state_check
  CHECK (state IN ('ready', 'scheduled', 'blocked', 'running', 'paused'));
CREATE INDEX jobs_paused_idx ON app_jobs.jobs (priority, run_at, id)
  WHERE state = 'paused';

COMMENT ON INDEX app_jobs.jobs_paused_idx IS
  'Jobs parked by a pause, in claim order: resume_jobs makes them claimable again through it.';
COMMENT ON COLUMN app_jobs.jobs.state IS
  'Claim state (internal): ready = claimable now; scheduled = run_at in the future (promoted by get_job''s sweep when due); blocked = its serial queue is busy; paused = held back by a pause (app_jobs.job_pauses) until resume_jobs; running = locked by a worker.';

COMMIT;
