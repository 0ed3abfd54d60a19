-- Revert pgjobs:triggers/jobs_queue_wake from pg
-- Back to the 0.5.0 definition (deploy/triggers/jobs_queue_wake@v0.5.0.sql): the whole
-- condition in the triggers' WHEN.

BEGIN;

DROP TRIGGER jobs_queue_wake_delete ON app_jobs.jobs;
CREATE TRIGGER jobs_queue_wake_delete
  AFTER DELETE ON app_jobs.jobs
  FOR EACH ROW
  WHEN (OLD.queue_name IS NOT NULL AND OLD.state IN ('ready', 'blocked'))
  EXECUTE FUNCTION app_jobs._tg_jobs_queue_wake();

DROP TRIGGER jobs_queue_wake_update ON app_jobs.jobs;
CREATE TRIGGER jobs_queue_wake_update
  AFTER UPDATE ON app_jobs.jobs
  FOR EACH ROW
  WHEN (OLD.queue_name IS NOT NULL AND OLD.state IN ('ready', 'blocked')
        AND (NEW.state = 'scheduled'
             OR NEW.queue_name IS DISTINCT FROM OLD.queue_name
             OR NEW.database_id IS DISTINCT FROM OLD.database_id))
  EXECUTE FUNCTION app_jobs._tg_jobs_queue_wake();

CREATE OR REPLACE FUNCTION app_jobs._tg_jobs_queue_wake()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO app_jobs.job_queue_wakes (database_id, queue_name)
  VALUES (OLD.database_id, OLD.queue_name);
  RETURN NULL;
END;
$$;

COMMIT;
