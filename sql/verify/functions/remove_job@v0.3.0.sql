-- Verify pgjobs:functions/remove_job on pg

BEGIN;

SELECT 'app_jobs.remove_job(text, uuid)'::pg_catalog.regprocedure;

-- The 0.2.0 behaviour: an over-long key is refused with PJ106.
DO $$
BEGIN
  PERFORM app_jobs.remove_job(pg_catalog.repeat('k', 513));
  RAISE EXCEPTION 'app_jobs.remove_job accepted a 513-character job_key: the 0.2.0 definition is not installed';
EXCEPTION WHEN SQLSTATE 'PJ106' THEN
  NULL;
END
$$;

ROLLBACK;
