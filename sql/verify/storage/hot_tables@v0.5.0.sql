-- Verify pgjobs:storage/hot_tables on pg

BEGIN;

SELECT 1 / ('autovacuum_vacuum_scale_factor=0' = ANY (c.reloptions))::integer
  FROM pg_catalog.pg_class AS c WHERE c.oid = 'app_jobs.jobs'::pg_catalog.regclass;

ROLLBACK;
