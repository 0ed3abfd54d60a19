-- Deploy pgjobs:functions/_parse_cron to pg
-- requires: functions/_parse_cron_field
-- Cron text to a schedule_spec (without zone or window): 5 fields (minute hour day-of-month
-- month day-of-week) or 6 with seconds first (as cron-parser and pg-boss read them), or a
-- macro (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly). Day of month and
-- day of week combine as in Vixie cron: when both are restricted (neither field starts with
-- *), a day matching either runs; otherwise a day must match both.

BEGIN;

CREATE FUNCTION app_jobs._parse_cron(expression text)
RETURNS app_jobs.schedule_spec
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_text text := pg_catalog.btrim(coalesce(expression, ''), E' \t\r\n');
  v_fields text[];
  v_spec app_jobs.schedule_spec;
BEGIN
  IF v_text LIKE '@%' THEN
    v_text := CASE pg_catalog.lower(v_text)
                WHEN '@yearly' THEN '0 0 1 1 *'
                WHEN '@annually' THEN '0 0 1 1 *'
                WHEN '@monthly' THEN '0 0 1 * *'
                WHEN '@weekly' THEN '0 0 * * 0'
                WHEN '@daily' THEN '0 0 * * *'
                WHEN '@midnight' THEN '0 0 * * *'
                WHEN '@hourly' THEN '0 * * * *'
              END;
    IF v_text IS NULL THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ111',
        MESSAGE = pg_catalog.format('schedule: unknown cron macro %L', expression),
        HINT = 'Use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly (@reboot has no meaning here), or five cron fields.';
    END IF;
  END IF;
  v_fields := pg_catalog.regexp_split_to_array(v_text, '\s+');
  IF pg_catalog.cardinality(v_fields) = 5 THEN
    v_fields := ARRAY['0'] || v_fields;
  ELSIF pg_catalog.cardinality(v_fields) <> 6 OR v_text = '' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ111',
      MESSAGE = pg_catalog.format('schedule: the cron expression %L has %s fields, not 5 or 6',
                                  expression, CASE WHEN v_text = '' THEN 0 ELSE pg_catalog.cardinality(v_fields) END),
      HINT = 'Write minute hour day-of-month month day-of-week (e.g. 0 8 * * 1), with an optional seconds field first.';
  END IF;
  v_spec.seconds := app_jobs._parse_cron_field(v_fields[1], 'second', 0, 59);
  v_spec.minutes := app_jobs._parse_cron_field(v_fields[2], 'minute', 0, 59);
  v_spec.hours := app_jobs._parse_cron_field(v_fields[3], 'hour', 0, 23);
  v_spec.days := app_jobs._parse_cron_field(v_fields[4], 'day-of-month', 1, 31);
  v_spec.months := app_jobs._parse_cron_field(v_fields[5], 'month', 1, 12,
    '{JAN,FEB,MAR,APR,MAY,JUN,JUL,AUG,SEP,OCT,NOV,DEC}');
  v_spec.weekdays := app_jobs._parse_cron_field(v_fields[6], 'day-of-week', 0, 7,
    '{SUN,MON,TUE,WED,THU,FRI,SAT}');
  v_spec.day_or := NOT (v_fields[4] LIKE '*%' OR v_fields[4] LIKE '?%'
                        OR v_fields[6] LIKE '*%' OR v_fields[6] LIKE '?%');
  RETURN v_spec;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._parse_cron(text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._parse_cron(text) IS
  'Internal: cron text (5 fields, 6 with seconds first, or a macro) to a schedule_spec, day of month and day of week combined as Vixie cron does. Raises PJ111 on bad text.';

COMMIT;
