-- Deploy pgjobs:functions/_own_job to pg
-- requires: functions/_row_tenant
-- requires: tables/jobs
-- requires: tables/job_history
-- Row level security of app_jobs.job_attempts, whose rows name a job but no tenant: whether
-- job job_id (live or finished) belongs to the tenant of the session's login role. Executable
-- by PUBLIC for the same reason as _row_tenant; it answers "is this job mine" only.

BEGIN;

CREATE FUNCTION app_jobs._own_job(job_id bigint)
RETURNS boolean
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT EXISTS (SELECT FROM app_jobs.jobs AS j
                  WHERE j.id = _own_job.job_id AND j.database_id = app_jobs._row_tenant())
      OR EXISTS (SELECT FROM app_jobs.job_history AS h
                  WHERE h.id = _own_job.job_id AND h.database_id = app_jobs._row_tenant());
$$;

REVOKE ALL ON FUNCTION app_jobs._own_job(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_jobs._own_job(bigint) TO PUBLIC;

COMMENT ON FUNCTION app_jobs._own_job(bigint) IS
  'Internal (row level security of job_attempts): whether job job_id, live or finished, belongs to the tenant of the session''s login role. Executable by PUBLIC: it answers for the caller''s own tenant only.';

COMMIT;
