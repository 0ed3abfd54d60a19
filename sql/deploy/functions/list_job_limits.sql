-- Deploy pgjobs:functions/list_job_limits to pg
-- requires: tables/job_limits
-- requires: functions/_tenant
-- requires: tables/jobs
-- Limits (0.5.0): the limits in force with, for each, how many of its jobs run now and how
-- many starts its bucket holds now: all of them, or those that apply to tenant db_id (its own
-- and the all-tenants ones). Under tenant isolation, those of the session's tenant.

BEGIN;

CREATE FUNCTION app_jobs.list_job_limits(db_id uuid DEFAULT NULL)
RETURNS TABLE (
  database_id uuid,
  task_identifier text,
  max_running integer,
  running bigint,
  max_starts integer,
  per_period interval,
  starts_left double precision,
  updated_at timestamptz,
  set_by text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  db_id := app_jobs._tenant(db_id, 'list_job_limits');  -- tenant isolation
  RETURN QUERY
    SELECT l.database_id, l.task_identifier, l.max_running,
           -- One count per key shape, each an index scan of the running jobs (the others
           -- are skipped by their one-time filter).
           (SELECT pg_catalog.count(*) FROM app_jobs.jobs AS j
             WHERE l.task_identifier IS NULL AND j.state = 'running' AND j.database_id = l.database_id)
           + (SELECT pg_catalog.count(*) FROM app_jobs.jobs AS j
               WHERE l.database_id IS NULL AND j.state = 'running' AND j.task_identifier = l.task_identifier)
           + (SELECT pg_catalog.count(*) FROM app_jobs.jobs AS j
               WHERE l.database_id IS NOT NULL AND l.task_identifier IS NOT NULL AND j.state = 'running'
                 AND j.task_identifier = l.task_identifier AND j.database_id = l.database_id),
           l.max_starts, l.per_period,
           LEAST(l.max_starts::double precision,
                            l.tokens + GREATEST(0, pg_catalog.date_part('epoch', pg_catalog.now() - l.refilled_at))
                                       / pg_catalog.date_part('epoch', l.per_period) * l.max_starts),
           l.updated_at, l.set_by
      FROM app_jobs.job_limits AS l
     WHERE list_job_limits.db_id IS NULL OR l.database_id IS NULL OR l.database_id = list_job_limits.db_id
     ORDER BY l.task_identifier NULLS FIRST, l.database_id NULLS FIRST;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.list_job_limits(uuid) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.list_job_limits(uuid) IS
  'The limits in force (set_job_limit), by task then tenant: every one, or those that apply to tenant db_id (its own and the all-tenants ones; under tenant isolation, the session''s tenant). running: its jobs running now (buffered claims included); starts_left: the starts its rate bucket holds now (NULL without a rate).';

COMMIT;
