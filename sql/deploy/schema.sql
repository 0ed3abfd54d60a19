-- Deploy pgjobs:schema to pg
-- The app_jobs schema holds every pgjobs object. PUBLIC gets nothing: access is granted
-- function by function (and, later, to roles), never by default.

BEGIN;

CREATE SCHEMA app_jobs;

REVOKE ALL ON SCHEMA app_jobs FROM PUBLIC;

COMMENT ON SCHEMA app_jobs IS
  'pgjobs: a job queue whose whole logic lives in SQL. Enqueue with app_jobs.add_job(...), claim with app_jobs.get_job(...), finish with app_jobs.complete_job(...) or app_jobs.fail_job(...).';

COMMIT;
