-- Verify pgjobs:functions/find_job on pg

BEGIN;

-- The 0.6.0 definition: a running job is looked for by uid apart (jobs_uid_idx leaves it out),
-- and the tenant guard is still called.
SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.find_job(bigint, uuid, boolean)'::pg_catalog.regprocedure),
                               'j.state = ''running'' AND j.uid = find_job.job_uid') > 0
            AND pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.find_job(bigint, uuid, boolean)'::pg_catalog.regprocedure),
                                  'app_jobs._tenant(') > 0)::integer;

ROLLBACK;
