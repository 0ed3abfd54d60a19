-- Takes away job_history's CHECK on status, which PostgreSQL reads from its stored node text
-- and compiles again for every statement that inserts history.
ALTER TABLE app_jobs.job_history DROP CONSTRAINT job_history_status_check
