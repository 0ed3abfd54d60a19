-- Verify pgjobs:functions/add_scheduled_job on pg
-- The 0.4.0 definition: the payload is checked by app_jobs._check_payload; correlation_id and backoff taken.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.add_scheduled_job(uuid, text, json, json, text, text, integer, integer, text, text, text, integer, interval, text, jsonb, interval)'::pg_catalog.regprocedure),
                               'app_jobs._check_payload') > 0)::integer;

ROLLBACK;
