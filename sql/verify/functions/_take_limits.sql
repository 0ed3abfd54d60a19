-- Verify pgjobs:functions/_take_limits on pg

BEGIN;

SELECT 'app_jobs._take_limits(uuid, text, bigint[], integer[], double precision[], uuid[], text[])'::pg_catalog.regprocedure;

ROLLBACK;
