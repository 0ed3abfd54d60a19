-- Verify pgjobs:types/schedule_spec on pg

BEGIN;

SELECT (NULL::app_jobs.schedule_spec).minutes, (NULL::app_jobs.schedule_spec).day_or;

ROLLBACK;
