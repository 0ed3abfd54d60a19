-- Takes away the three row triggers a claim or a finish fires only to test their WHEN clause
-- (compiled again for every statement): the serial queues' wake-ups and NOTIFY on ready.
DROP TRIGGER jobs_queue_wake_update ON app_jobs.jobs;
DROP TRIGGER jobs_queue_wake_delete ON app_jobs.jobs;
DROP TRIGGER jobs_notify_ready ON app_jobs.jobs
