-- Verify pgjobs:functions/create_history_partitions on pg
-- The definition that polices its new partitions.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.create_history_partitions(integer)'::pg_catalog.regprocedure),
                               '_police_table') > 0)::integer;

ROLLBACK;
