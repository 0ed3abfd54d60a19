-- The cost of app_jobs.run_due_schedules() with 10,000 schedules (issue 6).
--   createdb pgjobs_bench_sched && pgjobs deploy --dsn postgresql:///pgjobs_bench_sched
--   psql -X -d pgjobs_bench_sched -f bench/run_due_schedules.sql
-- Four kinds of schedule (every minute; every 5 minutes in Paris time; Mondays 08:00 in New
-- York time; a rule object at 02:00), 2,500 each. Timed: (1) a tick with nothing due (the
-- index probe every worker makes every second), (2) a tick with all 10,000 due once,
-- (3) a tick after a one-day outage (run_once: the latest missed fire time of each),
-- (4) the same outage with backfill_limit 3 (30,000 jobs).
\timing off
SET client_min_messages = warning;
TRUNCATE app_jobs.scheduled_jobs;
DELETE FROM app_jobs.jobs;
INSERT INTO app_jobs.scheduled_jobs (task_identifier, schedule_info, key)
SELECT 'bench', CASE g % 4
                  WHEN 0 THEN '{"cron": "* * * * *"}'
                  WHEN 1 THEN '{"cron": "*/5 * * * *", "tz": "Europe/Paris"}'
                  WHEN 2 THEN '{"cron": "0 8 * * MON", "tz": "America/New_York"}'
                  ELSE '{"hour": [2], "minute": [0]}' END::jsonb,
       'bench-' || g
  FROM generate_series(1, 10000) AS g;
VACUUM ANALYZE app_jobs.scheduled_jobs;
\echo '(1) nothing due'
\timing on
SELECT count(*) AS enqueued FROM app_jobs.run_due_schedules();
\timing off
-- A one-day outage (eight days for the weekly ones): next_run_at moved back.
UPDATE app_jobs.scheduled_jobs
   SET next_run_at = app_jobs._next_run(spec, now() - interval '8 days')
 WHERE true;
\echo '(3) one-day outage, run_once: one job per schedule for its latest missed fire time'
\timing on
SELECT count(*) AS enqueued FROM app_jobs.run_due_schedules();
\timing off
DELETE FROM app_jobs.jobs;
\echo '(2) all 10,000 due once (each next_run_at moved onto its last fire time)'
UPDATE app_jobs.scheduled_jobs SET next_run_at = last_run_at WHERE true;
DELETE FROM app_jobs.jobs;
\timing on
SELECT count(*) AS enqueued FROM app_jobs.run_due_schedules();
\timing off
DELETE FROM app_jobs.jobs;
\echo '(4) one-day outage, backfill_limit 3'
UPDATE app_jobs.scheduled_jobs
   SET missed_runs = 'backfill', backfill_limit = 3 WHERE true;
UPDATE app_jobs.scheduled_jobs
   SET next_run_at = app_jobs._next_run(spec, now() - interval '8 days') WHERE true;
\timing on
SELECT count(*) AS enqueued FROM app_jobs.run_due_schedules();
\timing off
DELETE FROM app_jobs.jobs;
TRUNCATE app_jobs.scheduled_jobs;
