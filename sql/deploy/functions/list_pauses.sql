-- Deploy pgjobs:functions/list_pauses to pg
-- requires: tables/job_pauses
-- requires: functions/_tenant
-- The pauses in force (pause and resume, 0.4.0), oldest first: all of them, or those that
-- hold back jobs of tenant db_id (its own pauses and the all-tenants ones). Under tenant
-- isolation, those of the session's tenant.

BEGIN;

CREATE FUNCTION app_jobs.list_pauses(db_id uuid DEFAULT NULL)
RETURNS SETOF app_jobs.job_pauses
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  db_id := app_jobs._tenant(db_id, 'list_pauses');  -- tenant isolation (issue 15)
  RETURN QUERY
    SELECT p.*
      FROM app_jobs.job_pauses AS p
     WHERE list_pauses.db_id IS NULL OR p.database_id IS NULL OR p.database_id = list_pauses.db_id
     ORDER BY p.paused_at, p.database_id, p.queue_name, p.task_identifier;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.list_pauses(uuid) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.list_pauses(uuid) IS
  'The pauses in force (pause_jobs), oldest first: every one, or those that hold back jobs of tenant db_id (its own and the all-tenants ones; under tenant isolation, the session''s tenant).';

COMMIT;
