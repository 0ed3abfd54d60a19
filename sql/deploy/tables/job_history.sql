-- Deploy pgjobs:tables/job_history to pg
-- requires: tables/job_history@v0.5.0
-- 0.6.0: job_history_status_check tests the status through a domain, app_jobs.job_status
-- (text, one of completed, failed, cancelled), instead of spelling the list out. PostgreSQL
-- reads a table's CHECK constraints from their stored node text and compiles them again for
-- every statement that inserts a row, and that text (an array of three text constants, each
-- written out byte by byte) was a thirtieth of a get_job and complete_job; a domain's checks
-- it compiles once per session and keeps. The column stays text (a domain-typed column
-- would change what queries over job_history return, and rebuild an index to get there), and
-- a wrong status is refused as before: check_violation (23514) naming
-- job_history_status_check, the name the domain's constraint takes too. `make bench-cpu`
-- (steady): a get_job and complete_job 859,000 to 837,000 instructions per job.
-- Adding the constraint reads the history once (every partition), under the ACCESS EXCLUSIVE
-- lock this change takes: 0.13 s per million rows in the page cache (docs/operations.md).

BEGIN;

CREATE DOMAIN app_jobs.job_status AS text
  CONSTRAINT job_history_status_check CHECK (VALUE IN ('completed', 'failed', 'cancelled'));

COMMENT ON DOMAIN app_jobs.job_status IS
  'The status of a finished job: completed, failed or cancelled (app_jobs.job_history.status is text checked against it).';

ALTER TABLE app_jobs.job_history
  DROP CONSTRAINT job_history_status_check,
  ADD CONSTRAINT job_history_status_check CHECK (status::app_jobs.job_status IS NOT NULL);

COMMIT;
