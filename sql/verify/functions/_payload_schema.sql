-- Verify pgjobs:functions/_payload_schema on pg

BEGIN;

SELECT 'app_jobs._payload_schema(uuid, text)'::pg_catalog.regprocedure;

ROLLBACK;
