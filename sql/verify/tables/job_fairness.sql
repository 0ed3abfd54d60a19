-- Verify pgjobs:tables/job_fairness on pg

BEGIN;

SELECT id, last_served, enabled_at, enabled_by
  FROM app_jobs.job_fairness
 WHERE false;

ROLLBACK;
