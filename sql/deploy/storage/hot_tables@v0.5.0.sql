-- Deploy pgjobs:storage/hot_tables to pg
-- requires: tables/jobs
-- requires: tables/workers
-- requires: tables/job_queue_locks
-- Autovacuum settings of the hot tables (docs/operations.md, "Bloat and idle transactions").
-- app_jobs.jobs is a queue: every job is inserted, updated (claimed, started) and deleted
-- (finished), so it makes about three dead row versions per job while few rows are live.
-- PostgreSQL's default trigger is 50 + 20% of the live rows: with 10,000 jobs waiting, one
-- vacuum per 2,050 dead versions, but with a backlog of 1,000,000 one per 200,050, and the
-- claim walks its index over every dead version in between. So:
--   autovacuum_vacuum_scale_factor 0 and autovacuum_vacuum_threshold 1000: a fixed trigger,
--     whatever the backlog; the table is vacuumed on each autovacuum round (autovacuum_naptime,
--     1 min by default) that finds 1,000 dead versions, which under load is every round;
--   autovacuum_vacuum_cost_delay 0: that vacuum is not throttled (the table is small once
--     vacuumed; a throttled vacuum of it only lets dead versions pile up meanwhile);
--   autovacuum_analyze_scale_factor 0.02 and autovacuum_analyze_threshold 1000: the planner's
--     row count follows the backlog as it grows and drains;
--   autovacuum_vacuum_insert_scale_factor 0 and autovacuum_vacuum_insert_threshold 10000
--     (PostgreSQL 13+): a burst of enqueues alone also gets its pages marked all-visible.
-- workers (a heartbeat per worker every quarter lease) and job_queue_locks (a row per running
-- serial queue) are tiny tables updated all the time: the same fixed trigger keeps them a few
-- pages long.

BEGIN;

ALTER TABLE app_jobs.jobs SET (
  autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_cost_delay = 0,
  autovacuum_analyze_scale_factor = 0.02,
  autovacuum_analyze_threshold = 1000,
  autovacuum_vacuum_insert_scale_factor = 0,
  autovacuum_vacuum_insert_threshold = 10000
);

ALTER TABLE app_jobs.workers SET (
  autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_cost_delay = 0
);

ALTER TABLE app_jobs.job_queue_locks SET (
  autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_cost_delay = 0
);

COMMIT;
