-- Deploy pgjobs:functions/_count_queue to pg
-- requires: functions/_count_queue@v0.2.0
-- requires: triggers/jobs_queue_count
-- requires: functions/_lock_queue
-- requires: functions/_sweep
-- 0.3.0 retires _count_queue with the job_count it kept: app_jobs.job_queues counts the
-- jobs of each queue when it is read. Its callers (the count triggers, _lock_queue, the
-- sweep) are gone or reworked before this runs.

BEGIN;

DROP FUNCTION app_jobs._count_queue(uuid, text, integer);

COMMIT;
