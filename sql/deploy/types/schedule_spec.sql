-- Deploy pgjobs:types/schedule_spec to pg
-- requires: schema
-- A schedule once parsed: the set of allowed values of each clock field, how day of month
-- and day of week combine, the time zone and the active window. app_jobs.scheduled_jobs
-- stores it next to schedule_info (filled by a trigger at insert), so computing the next fire
-- time never parses cron text again.

BEGIN;

CREATE TYPE app_jobs.schedule_spec AS (
  seconds smallint[],
  minutes smallint[],
  hours smallint[],
  days smallint[],
  months smallint[],
  weekdays smallint[],
  years smallint[],
  day_or boolean,
  tz text,
  starts_at timestamptz,
  ends_at timestamptz
);

REVOKE ALL ON TYPE app_jobs.schedule_spec FROM PUBLIC;

COMMENT ON TYPE app_jobs.schedule_spec IS
  'A parsed schedule: sorted allowed values of seconds (0-59), minutes, hours (0-23), days of month (1-31), months (1-12), weekdays (0-6, Sunday 0) and years (NULL: any); day_or: a day matches when its day of month OR its weekday is allowed (cron with both fields restricted), else both must be; tz: IANA zone of the wall clock (NULL: UTC); starts_at/ends_at: no fire time outside them.';

COMMIT;
