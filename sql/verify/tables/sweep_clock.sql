-- Verify pgjobs:tables/sweep_clock on pg

BEGIN;

SELECT pg_catalog.pg_sequence_last_value('app_jobs.sweep_clock');

ROLLBACK;
