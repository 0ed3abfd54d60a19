-- Takes away job_history's CHECK on status (since 0.6.0 a cast to the domain
-- app_jobs.job_status, whose own check PostgreSQL keeps compiled per session; the table's
-- constraint is still read from its stored node text by every statement that inserts history).
ALTER TABLE app_jobs.job_history DROP CONSTRAINT job_history_status_check
