-- Deploy pgjobs:tables/job_queue_deltas to pg
-- requires: tables/job_queue_deltas@v0.2.0
-- requires: tables/job_queue_wakes
-- requires: functions/_count_queue
-- requires: functions/_wake_queue
-- requires: triggers/jobs_queue_wake
-- 0.3.0 retires the table of parked job_count changes: there is no count to park, and wake
-- requests have their own table, app_jobs.job_queue_wakes. Requests recorded since that
-- table took over the pending ones (a sqitch deploy runs change by change) move there.

BEGIN;

INSERT INTO app_jobs.job_queue_wakes (database_id, queue_name, created_at)
SELECT d.database_id, d.queue_name, pg_catalog.min(d.created_at)
  FROM app_jobs.job_queue_deltas AS d
 WHERE d.delta = 0
 GROUP BY d.database_id, d.queue_name;

-- In ALTER EXTENSION UPDATE, take the table out of the extension first: that also removes
-- it from the tables pg_dump keeps (pg_extension.extconfig), which a plain DROP TABLE would
-- leave behind as a dangling entry.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgjobs') THEN
    ALTER EXTENSION pgjobs DROP TABLE app_jobs.job_queue_deltas;
  END IF;
END
$$;

DROP TABLE app_jobs.job_queue_deltas;

COMMIT;
