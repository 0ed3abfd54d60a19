-- Verify pgjobs:tables/jobs on pg

BEGIN;

SELECT 1 / (pg_catalog.count(*) = 1)::integer FROM pg_catalog.pg_constraint
 WHERE conrelid = 'app_jobs.jobs'::pg_catalog.regclass AND contype = 'c'
   AND conname = 'jobs_rules_check';
SELECT id, state, pending_dependencies, has_dependants FROM app_jobs.jobs WHERE false;

ROLLBACK;
