-- Deploy pgjobs:tables/job_dependencies to pg
-- requires: tables/jobs
-- requires: functions/_police_table
-- Job dependencies (0.5.0, issue 19): one row per edge "job_id waits for depends_on_id",
-- written by the dependant's enqueue (add_job's depends_on, add_jobs' depends_on). Read by
-- the dependency's finish (dependants by depends_on_id: the primary key) and by find_job /
-- `pgjobs jobs show` (a job's dependencies: jobs_dependencies_job_idx). No foreign keys:
-- jobs move from app_jobs.jobs to job_history and an edge outlives both ends' moves; rows go
-- with the dependant's history (cleanup_jobs), or with the dependant when it never ran.
-- Tenant data: forced row level security like the other tenant tables
-- (app_jobs._police_table); both ends are always of the row's tenant (database_id).

BEGIN;

CREATE TABLE app_jobs.job_dependencies (
  depends_on_id bigint NOT NULL,
  job_id bigint NOT NULL,
  database_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT job_dependencies_pkey PRIMARY KEY (depends_on_id, job_id),
  CONSTRAINT job_dependencies_not_self_check CHECK (depends_on_id <> job_id)
);

CREATE INDEX job_dependencies_job_idx ON app_jobs.job_dependencies (job_id);

REVOKE ALL ON TABLE app_jobs.job_dependencies FROM PUBLIC;

COMMENT ON TABLE app_jobs.job_dependencies IS
  'Job dependencies: job job_id runs only once job depends_on_id has completed (and is cancelled if it fails or is cancelled). Written by add_job / add_jobs (depends_on); read when a job with dependants finishes, and by find_job''s callers to show the edges.';
COMMENT ON COLUMN app_jobs.job_dependencies.depends_on_id IS 'The dependency: the job that must complete first.';
COMMENT ON COLUMN app_jobs.job_dependencies.job_id IS 'The dependant: the job that waits.';
COMMENT ON COLUMN app_jobs.job_dependencies.database_id IS 'Tenant of both jobs (a dependency of another tenant is refused, PJ212).';
COMMENT ON INDEX app_jobs.job_dependencies_job_idx IS 'A job''s dependencies (find_job, pgjobs jobs show, the dashboard).';

SELECT app_jobs._police_table('app_jobs.job_dependencies'::pg_catalog.regclass);

COMMIT;
