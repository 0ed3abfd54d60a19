-- Verify pgjobs:tables/jobs on pg

BEGIN;

SELECT 1 / (pg_catalog.count(*) = 1)::integer FROM pg_catalog.pg_constraint
 WHERE conrelid = 'app_jobs.jobs'::pg_catalog.regclass AND contype = 'c'
   AND conname = 'jobs_rules_check';
SELECT 1 / (pg_catalog.pg_get_expr(i.indpred, i.indrelid) = '(state <> ''running''::text)')::integer
  FROM pg_catalog.pg_index AS i
 WHERE i.indexrelid = 'app_jobs.jobs_uid_idx'::pg_catalog.regclass AND i.indisunique;
SELECT id, state, pending_dependencies, has_dependants FROM app_jobs.jobs WHERE false;

ROLLBACK;
