-- Deploy pgjobs:tables/jobs to pg
-- requires: tables/jobs@v0.5.0
-- requires: triggers/jobs_check
-- requires: functions/_job_claim_rules
-- 0.6.0: the shape rules of a job's input columns (task, key, queue and correlation id lengths,
-- progress, max_attempts, timeout) leave the table's CHECK constraints: triggers/jobs_check
-- checks them (app_jobs._job_row_problem), and only for statements that write those columns.
-- PostgreSQL compiles a table's CHECK constraints from their stored text again for every
-- statement that inserts or updates a row, and these 7 were two thirds of that text: a
-- sixth of a single add_job's time, and of get_job's claim, which never changes them.
-- The rules the claim and the finish must keep (state, the lock's consistency, attempts,
-- pending dependencies) stay a CHECK constraint, but one that calls a PL/pgSQL function
-- (app_jobs._job_claim_rules), compiled once per session, instead of five constraints of
-- 4,300 characters of node text compiled for every claim: a tenth of a job's claim and
-- finish. A row that breaks a rule still fails with check_violation naming the rule (the old
-- constraint's name). Dropping a constraint rewrites nothing; adding the new one reads the
-- table once, under the lock this change holds anyway (about a second per million jobs).
-- jobs_uid_idx leaves out running jobs: a claim is not a HOT update (it changes state, which
-- the claim index's predicate reads), so each claim wrote an entry for the new row version in
-- every index that holds it, this unique one included (a uniqueness check that visits the
-- old version, and about 100 bytes of WAL). Running jobs are few (the workers' slots), and
-- find_job looks for a running one by uid through jobs_running_idx. A uid is unique by how it
-- is made (a millisecond timestamp and 62 random bits, app_jobs._uuid_v7 and _add_jobs),
-- and the index keeps refusing a duplicate among the jobs not running. `make bench-cpu`
-- (steady): a busy worker's round 199,000 to 186,000 instructions per job, a get_job and
-- complete_job 868,000 to 860,000. Rebuilding the index reads the table once, under this
-- change's lock (0.4 s per million jobs, docs/operations.md).

BEGIN;

ALTER TABLE app_jobs.jobs
  DROP CONSTRAINT jobs_task_identifier_check,
  DROP CONSTRAINT jobs_key_check,
  DROP CONSTRAINT jobs_queue_name_check,
  DROP CONSTRAINT jobs_correlation_id_check,
  DROP CONSTRAINT jobs_progress_check,
  DROP CONSTRAINT jobs_max_attempts_check,
  DROP CONSTRAINT jobs_timeout_check,
  DROP CONSTRAINT jobs_state_check,
  DROP CONSTRAINT jobs_lock_check,
  DROP CONSTRAINT jobs_attempts_check,
  DROP CONSTRAINT jobs_pending_dependencies_check,
  DROP CONSTRAINT jobs_waiting_check,
  ADD CONSTRAINT jobs_rules_check
    CHECK (app_jobs._job_claim_rules(id, state, locked_by, locked_at, attempts, pending_dependencies));

DROP INDEX app_jobs.jobs_uid_idx;
CREATE UNIQUE INDEX jobs_uid_idx ON app_jobs.jobs (uid) WHERE state <> 'running';

COMMIT;
