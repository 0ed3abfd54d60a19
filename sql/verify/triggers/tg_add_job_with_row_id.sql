-- Verify pgjobs:triggers/tg_add_job_with_row_id on pg
-- The 0.4.0 definition: the row is read as json (to_json), not jsonb.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.tg_add_job_with_row_id()'::pg_catalog.regprocedure),
                               'pg_catalog.to_json(') > 0)::integer;

ROLLBACK;
