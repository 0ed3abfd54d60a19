-- Revert pgjobs:triggers/jobs_notify from pg
-- Back to the row-level insert trigger of 0.3.0.

BEGIN;

DROP TRIGGER jobs_notify_insert ON app_jobs.jobs;
DROP FUNCTION app_jobs._tg_jobs_notify_inserted();

CREATE TRIGGER jobs_notify_insert
  AFTER INSERT ON app_jobs.jobs
  FOR EACH ROW
  WHEN (NEW.state = 'ready')
  EXECUTE FUNCTION app_jobs._tg_jobs_notify();

COMMIT;
