-- Verify pgjobs:tables/job_pauses on pg

BEGIN;

SELECT database_id, queue_name, task_identifier, paused_at, paused_by, reason
  FROM app_jobs.job_pauses
 WHERE false;

ROLLBACK;
