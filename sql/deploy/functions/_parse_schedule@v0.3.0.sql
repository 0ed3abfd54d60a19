-- Deploy pgjobs:functions/_parse_schedule to pg
-- requires: functions/_parse_cron
-- requires: functions/_parse_rule_field
-- A schedule_info object to a schedule_spec. Three shapes:
--   rule object (node-schedule): {"hour": [2], "minute": [0]}; fields second (default 0),
--     minute, hour, date (1-31), month (0-11, as JavaScript counts), year, dayOfWeek (0-6,
--     Sunday 0); an absent field allows every value; date and dayOfWeek must both match;
--   cron text: {"cron": "0 8 * * 1"}, or upstream's {"rule": "*/1 * * * *"};
-- each with optional "tz" (a zone name PostgreSQL knows, IANA names such as Europe/Paris;
-- default UTC), "start" and "end" (ISO 8601 times, or epoch milliseconds as JavaScript's
-- Date.getTime() gives). Raises PJ107 (not an object), PJ111 (bad field or key), PJ112 (bad
-- zone).

BEGIN;

CREATE FUNCTION app_jobs._parse_schedule(schedule jsonb)
RETURNS app_jobs.schedule_spec
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_spec app_jobs.schedule_spec;
  v_unknown text[];
  v_rule_keys text[];
  v_cron text;
  v_key text;
  v_bound timestamptz;
BEGIN
  IF schedule IS NULL OR pg_catalog.jsonb_typeof(schedule) <> 'object' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ107',
      MESSAGE = 'schedule: schedule_info must be a JSON object',
      DETAIL = pg_catalog.format('schedule_info = %s', coalesce(schedule::text, 'NULL')),
      HINT = 'Pass e.g. {"hour": [2], "minute": [0]} or {"cron": "0 8 * * 1", "tz": "Europe/Paris"}.';
  END IF;
  v_unknown := ARRAY(
    SELECT k FROM pg_catalog.jsonb_object_keys(schedule) AS k
     WHERE k NOT IN ('second', 'minute', 'hour', 'date', 'month', 'year', 'dayOfWeek',
                     'cron', 'rule', 'tz', 'start', 'end')
     ORDER BY 1);
  IF v_unknown <> '{}' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ111',
      MESSAGE = pg_catalog.format('schedule: unknown key(s) %s in schedule_info',
                                  pg_catalog.array_to_string(v_unknown, ', ')),
      DETAIL = pg_catalog.format('schedule_info = %s', schedule),
      HINT = 'Keys are second, minute, hour, date, month, year, dayOfWeek (a rule object), or cron (or rule) for cron text; plus tz, start and end.';
  END IF;
  v_rule_keys := ARRAY(
    SELECT k FROM pg_catalog.jsonb_object_keys(schedule) AS k
     WHERE k IN ('second', 'minute', 'hour', 'date', 'month', 'year', 'dayOfWeek') ORDER BY 1);

  IF schedule ? 'cron' OR schedule ? 'rule' THEN
    IF (schedule ? 'cron' AND schedule ? 'rule') OR v_rule_keys <> '{}' THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ111',
        MESSAGE = 'schedule: give either cron text ("cron" or "rule") or the fields of a rule object, not both',
        DETAIL = pg_catalog.format('schedule_info = %s', schedule),
        HINT = 'Use {"cron": "0 2 * * *"} or {"hour": [2], "minute": [0]}.';
    END IF;
    v_key := CASE WHEN schedule ? 'cron' THEN 'cron' ELSE 'rule' END;
    IF pg_catalog.jsonb_typeof(schedule -> v_key) <> 'string' THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ111',
        MESSAGE = pg_catalog.format('schedule: "%s" must be cron text, got %s', v_key, schedule -> v_key),
        HINT = 'Pass e.g. {"cron": "*/5 * * * *"}.';
    END IF;
    v_cron := schedule ->> v_key;
    v_spec := app_jobs._parse_cron(v_cron);
  ELSE
    v_spec.seconds := CASE WHEN schedule ? 'second' THEN app_jobs._parse_rule_field(schedule -> 'second', 'second', 0, 59)
                           ELSE '{0}' END;
    v_spec.minutes := app_jobs._parse_rule_field(schedule -> 'minute', 'minute', 0, 59);
    v_spec.hours := app_jobs._parse_rule_field(schedule -> 'hour', 'hour', 0, 23);
    v_spec.days := app_jobs._parse_rule_field(schedule -> 'date', 'date', 1, 31);
    v_spec.months := ARRAY(SELECT (m + 1)::smallint
                             FROM pg_catalog.unnest(app_jobs._parse_rule_field(schedule -> 'month', 'month', 0, 11)) AS m
                            ORDER BY 1);
    v_spec.weekdays := ARRAY(SELECT DISTINCT (d % 7)::smallint
                               FROM pg_catalog.unnest(app_jobs._parse_rule_field(schedule -> 'dayOfWeek', 'dayOfWeek', 0, 7)) AS d
                              ORDER BY 1);
    IF schedule ? 'year' AND pg_catalog.jsonb_typeof(schedule -> 'year') <> 'null' THEN
      v_spec.years := app_jobs._parse_rule_field(schedule -> 'year', 'year', 1970, 9999);
    END IF;
    v_spec.day_or := false;
  END IF;

  IF schedule ? 'tz' AND pg_catalog.jsonb_typeof(schedule -> 'tz') <> 'null' THEN
    v_spec.tz := schedule ->> 'tz';
    BEGIN
      IF pg_catalog.jsonb_typeof(schedule -> 'tz') <> 'string' OR v_spec.tz = '' THEN
        RAISE invalid_parameter_value;
      END IF;
      PERFORM pg_catalog.now() AT TIME ZONE v_spec.tz;
    EXCEPTION WHEN invalid_parameter_value OR feature_not_supported THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ112',
        MESSAGE = pg_catalog.format('schedule: unknown time zone %s', schedule -> 'tz'),
        HINT = 'Use an IANA zone name such as Europe/Paris or America/New_York (SELECT name FROM pg_timezone_names lists them).';
    END;
  END IF;

  FOREACH v_key IN ARRAY ARRAY['start', 'end'] LOOP
    v_bound := NULL;
    IF schedule ? v_key AND pg_catalog.jsonb_typeof(schedule -> v_key) <> 'null' THEN
      BEGIN
        v_bound := CASE pg_catalog.jsonb_typeof(schedule -> v_key)
                     WHEN 'string' THEN (schedule ->> v_key)::timestamptz
                     WHEN 'number' THEN pg_catalog.to_timestamp((schedule ->> v_key)::double precision / 1000)
                   END;
      EXCEPTION WHEN data_exception THEN
        v_bound := NULL;
      END;
      IF v_bound IS NULL OR NOT pg_catalog.isfinite(v_bound) THEN
        RAISE EXCEPTION USING
          ERRCODE = 'PJ111',
          MESSAGE = pg_catalog.format('schedule: "%s" must be a time, got %s', v_key, schedule -> v_key),
          HINT = 'Give an ISO 8601 time with its offset, e.g. "2030-01-31T09:00:00+01:00", or epoch milliseconds.';
      END IF;
    END IF;
    IF v_key = 'start' THEN v_spec.starts_at := v_bound; ELSE v_spec.ends_at := v_bound; END IF;
  END LOOP;
  RETURN v_spec;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._parse_schedule(jsonb) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._parse_schedule(jsonb) IS
  'Internal: a schedule_info object (rule object, {"cron": ...} or {"rule": ...}, with optional tz, start, end) to a schedule_spec. Raises PJ107, PJ111 or PJ112.';

COMMIT;
