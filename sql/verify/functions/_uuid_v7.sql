-- Verify pgjobs:functions/_uuid_v7 on pg

BEGIN;

SELECT 1 / (pg_catalog.substr(app_jobs._uuid_v7()::text, 15, 1) = '7')::integer;

ROLLBACK;
