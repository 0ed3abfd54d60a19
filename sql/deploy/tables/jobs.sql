-- Deploy pgjobs:tables/jobs to pg
-- requires: tables/jobs@v0.5.0
-- requires: triggers/jobs_check
-- 0.6.0: the shape rules of a job's input columns (task, key, queue and correlation id lengths,
-- progress, max_attempts, timeout) leave the table's CHECK constraints: triggers/jobs_check
-- checks them (app_jobs._job_row_problem), and only for statements that write those columns.
-- PostgreSQL compiles a table's CHECK constraints from their stored text again for every
-- statement that inserts or updates a row, and these 7 were two thirds of that text: a
-- sixth of a single add_job's time, and of get_job's claim, which never changes them.
-- The rules the claim and the finish must keep stay CHECK constraints: state, the lock's
-- consistency, attempts, pending dependencies. Dropping a constraint rewrites nothing.

BEGIN;

ALTER TABLE app_jobs.jobs
  DROP CONSTRAINT jobs_task_identifier_check,
  DROP CONSTRAINT jobs_key_check,
  DROP CONSTRAINT jobs_queue_name_check,
  DROP CONSTRAINT jobs_correlation_id_check,
  DROP CONSTRAINT jobs_progress_check,
  DROP CONSTRAINT jobs_max_attempts_check,
  DROP CONSTRAINT jobs_timeout_check;

COMMIT;
