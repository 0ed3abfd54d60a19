-- Takes away the history indexes a completion writes besides the primary key (by finish time,
-- by task, by uid): what maintaining them costs.
DROP INDEX app_jobs.job_history_default_finished_idx, app_jobs.job_history_default_task_idx,
           app_jobs.job_history_default_uid_idx
