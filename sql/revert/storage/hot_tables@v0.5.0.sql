-- Revert pgjobs:storage/hot_tables from pg

BEGIN;

ALTER TABLE app_jobs.jobs RESET (
  autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_vacuum_cost_delay,
  autovacuum_analyze_scale_factor, autovacuum_analyze_threshold,
  autovacuum_vacuum_insert_scale_factor, autovacuum_vacuum_insert_threshold
);
ALTER TABLE app_jobs.workers RESET (
  autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_vacuum_cost_delay
);
ALTER TABLE app_jobs.job_queue_locks RESET (
  autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_vacuum_cost_delay
);

COMMIT;
