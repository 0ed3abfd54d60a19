-- Deploy pgjobs:functions/_check_task_settings to pg
-- requires: tables/task_settings
-- requires: functions/_check_backoff
-- The checks of one task's settings, shared by set_task_settings (operator) and
-- declare_task_settings (code): the same codes add_job raises for the same values (PJ101,
-- PJ104, PJ106, PJ117, PJ406 for the timeout), PJ105 for a retention that is not positive or
-- over 100 years.

BEGIN;

CREATE FUNCTION app_jobs._check_task_settings(p_identifier text, p_max_attempts integer,
                                              p_backoff jsonb, p_queue_name text,
                                              p_timeout interval, p_retention interval,
                                              p_caller text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_identifier IS NULL OR p_identifier = '' OR pg_catalog.length(p_identifier) > 255 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ101',
      MESSAGE = p_caller || ': identifier (the task name) must be a non-empty text of at most 255 characters',
      DETAIL = pg_catalog.format('identifier = %s', coalesce(pg_catalog.quote_literal(pg_catalog.left(p_identifier, 300)), 'NULL')),
      HINT = 'Pass the name of the task the settings are for, e.g. ''send_email''.';
  END IF;
  IF p_max_attempts < 1 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ104',
      MESSAGE = pg_catalog.format('%s: max_attempts must be at least 1, got %s', p_caller, p_max_attempts),
      HINT = 'Pass how many attempts the task''s jobs may take in all (1 = no retry).';
  END IF;
  IF p_queue_name = '' OR pg_catalog.length(p_queue_name) > 255 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ106',
      MESSAGE = p_caller || ': queue_name must be a non-empty text of at most 255 characters',
      HINT = 'Name the serial queue the task''s jobs run in, or leave it out.';
  END IF;
  PERFORM app_jobs._check_backoff(p_backoff, p_caller);
  IF p_timeout <= interval '0' OR p_timeout > interval '7 days' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ406',
      MESSAGE = pg_catalog.format('%s: timeout must be more than 0 and at most 7 days, got %s', p_caller, p_timeout),
      HINT = 'Pass how long one attempt may run, e.g. interval ''5 minutes''.';
  END IF;
  IF p_retention <= interval '0' OR p_retention > interval '100 years' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ105',
      MESSAGE = pg_catalog.format('%s: retention must be a positive interval of at most 100 years, got %s', p_caller, p_retention),
      HINT = 'Pass how long the task''s finished jobs are kept, e.g. interval ''7 days''.';
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._check_task_settings(text, integer, jsonb, text, interval, interval, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._check_task_settings(text, integer, jsonb, text, interval, interval, text) IS
  'Internal: raises PJ101, PJ104, PJ105, PJ106, PJ117 or PJ406 for a bad task name or setting (NULL settings pass); p_caller names the call in messages.';

COMMIT;
