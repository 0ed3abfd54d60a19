-- Verify pgjobs:functions/_archive_job on pg
-- The PL/pgSQL definition.

BEGIN;

SELECT 1 / (SELECT (l.lanname = 'plpgsql')::integer
              FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
             WHERE p.oid = 'app_jobs._archive_job(app_jobs.jobs, text, jsonb)'::pg_catalog.regprocedure);

ROLLBACK;
