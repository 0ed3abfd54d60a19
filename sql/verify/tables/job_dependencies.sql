-- Verify pgjobs:tables/job_dependencies on pg

BEGIN;

SELECT depends_on_id, job_id, database_id, created_at FROM app_jobs.job_dependencies WHERE false;
SELECT 1 / (c.relrowsecurity AND c.relforcerowsecurity)::integer
  FROM pg_catalog.pg_class AS c WHERE c.oid = 'app_jobs.job_dependencies'::pg_catalog.regclass;

ROLLBACK;
