-- Deploy pgjobs:triggers/jobs_queue_count to pg
-- requires: tables/jobs
-- requires: functions/_count_queue
-- job_queues.job_count follows the jobs of each (tenant, queue). The triggers are
-- deferred to commit: an enqueuing transaction (say a user's long transaction firing an
-- enqueue trigger) touches the queue row only while it commits, so it never holds the row
-- that claimers lock, and even then it never waits for it (app_jobs._count_queue).
-- SECURITY DEFINER because deferred triggers run as whoever commits.

BEGIN;

CREATE FUNCTION app_jobs._tg_jobs_queue_count()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.queue_name IS NOT NULL THEN
    PERFORM app_jobs._count_queue(OLD.database_id, OLD.queue_name, -1);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.queue_name IS NOT NULL THEN
    PERFORM app_jobs._count_queue(NEW.database_id, NEW.queue_name, 1);
  END IF;
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_jobs_queue_count() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_jobs_queue_count() IS
  'Internal (deferred constraint trigger on app_jobs.jobs): keeps app_jobs.job_queues.job_count at commit time.';

CREATE CONSTRAINT TRIGGER jobs_queue_count_insert
  AFTER INSERT ON app_jobs.jobs
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW
  WHEN (NEW.queue_name IS NOT NULL)
  EXECUTE FUNCTION app_jobs._tg_jobs_queue_count();

CREATE CONSTRAINT TRIGGER jobs_queue_count_update
  AFTER UPDATE OF queue_name, database_id ON app_jobs.jobs
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW
  WHEN (OLD.queue_name IS DISTINCT FROM NEW.queue_name
        OR (OLD.database_id IS DISTINCT FROM NEW.database_id AND NEW.queue_name IS NOT NULL))
  EXECUTE FUNCTION app_jobs._tg_jobs_queue_count();

CREATE CONSTRAINT TRIGGER jobs_queue_count_delete
  AFTER DELETE ON app_jobs.jobs
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW
  WHEN (OLD.queue_name IS NOT NULL)
  EXECUTE FUNCTION app_jobs._tg_jobs_queue_count();

COMMIT;
