-- Verify pgjobs:tables/jobs on pg

BEGIN;

SELECT 1 / (pg_catalog.count(*) = 5)::integer FROM pg_catalog.pg_constraint
 WHERE conrelid = 'app_jobs.jobs'::pg_catalog.regclass AND contype = 'c';
SELECT id, state, pending_dependencies, has_dependants FROM app_jobs.jobs WHERE false;

ROLLBACK;
