-- Revert pgjobs:tables/job_history from pg
-- Back to the 0.5.0 table (deploy/tables/job_history@v0.5.0.sql): the CHECK lists the statuses
-- itself, and the domain goes.

BEGIN;

ALTER TABLE app_jobs.job_history
  DROP CONSTRAINT job_history_status_check,
  ADD CONSTRAINT job_history_status_check CHECK (status IN ('completed', 'failed', 'cancelled'));

DROP DOMAIN app_jobs.job_status;

COMMIT;
