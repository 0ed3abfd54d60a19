-- Takes away the row triggers a claim or a finish fires only to test their WHEN clause
-- (compiled again for every statement): the serial queues' wake-ups and NOTIFY on ready
-- (jobs_updated, jobs_queue_wake_delete; jobs_queue_moved is never tested by either, as
-- neither sets its columns).
DROP TRIGGER jobs_updated ON app_jobs.jobs;
DROP TRIGGER jobs_queue_wake_delete ON app_jobs.jobs
