-- Verify pgjobs:tables/jobs on pg
-- The dependency columns and the waiting state.

BEGIN;

SELECT has_dependants, pending_dependencies FROM app_jobs.jobs WHERE false;
SELECT 1 / pg_catalog.count(*)::integer
  FROM pg_catalog.pg_constraint
 WHERE conrelid = 'app_jobs.jobs'::pg_catalog.regclass AND conname = 'jobs_state_check'
   AND pg_catalog.pg_get_constraintdef(oid) LIKE '%waiting%';

ROLLBACK;
