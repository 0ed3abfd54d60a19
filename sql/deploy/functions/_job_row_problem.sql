-- Deploy pgjobs:functions/_job_row_problem to pg
-- requires: schema
-- The shape rules of a job's input columns (task, key, queue, correlation id, progress,
-- max_attempts, timeout) as one expression: the name of the first rule a row breaks, else
-- NULL. Until 0.6.0 they were CHECK constraints of app_jobs.jobs, and PostgreSQL reads a
-- table's CHECK constraints from their stored text and compiles them again for every
-- statement that writes the table: 9 of them cost a single add_job or get_job's claim about a
-- sixth of its time, and the claim never changes these columns. They are now checked by
-- triggers/jobs_check, through this expression, only when a statement writes them; the rules
-- the claim itself must keep (state, lock, attempts, dependencies) stay CHECK constraints.
-- LANGUAGE sql, IMMUTABLE and without SET search_path (every operator and function schema-
-- qualified), so PostgreSQL inlines it into the triggers' statements. A rule's name is the
-- name of the constraint it replaced, and NULL input passes, as a CHECK's does.

BEGIN;

CREATE FUNCTION app_jobs._job_row_problem(p_task_identifier text, p_key text, p_queue_name text,
                                          p_correlation_id text, p_progress numeric,
                                          p_max_attempts integer, p_timeout interval)
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
  SELECT CASE
           WHEN p_task_identifier OPERATOR(pg_catalog.=) ''
                OR pg_catalog.length(p_task_identifier) OPERATOR(pg_catalog.>) 255
             THEN 'jobs_task_identifier_check'
           WHEN p_key OPERATOR(pg_catalog.=) '' OR pg_catalog.length(p_key) OPERATOR(pg_catalog.>) 512
             THEN 'jobs_key_check'
           WHEN p_queue_name OPERATOR(pg_catalog.=) ''
                OR pg_catalog.length(p_queue_name) OPERATOR(pg_catalog.>) 255
             THEN 'jobs_queue_name_check'
           WHEN p_correlation_id OPERATOR(pg_catalog.=) ''
                OR pg_catalog.length(p_correlation_id) OPERATOR(pg_catalog.>) 255
             THEN 'jobs_correlation_id_check'
           WHEN p_progress OPERATOR(pg_catalog.<) 0 OR p_progress OPERATOR(pg_catalog.>) 100
             THEN 'jobs_progress_check'
           WHEN p_max_attempts OPERATOR(pg_catalog.<) 1
             THEN 'jobs_max_attempts_check'
           WHEN p_timeout OPERATOR(pg_catalog.<=) '0'::pg_catalog.interval
                OR p_timeout OPERATOR(pg_catalog.>) '7 days'::pg_catalog.interval
             THEN 'jobs_timeout_check'
         END
$$;

REVOKE ALL ON FUNCTION app_jobs._job_row_problem(text, text, text, text, numeric, integer, interval) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._job_row_problem(text, text, text, text, numeric, integer, interval) IS
  'Internal: the first shape rule of a job''s input columns a row breaks (the name of the CHECK constraint it replaced in 0.6.0), else NULL; inlined into the jobs_check triggers.';

COMMIT;
