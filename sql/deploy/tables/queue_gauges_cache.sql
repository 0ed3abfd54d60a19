-- Deploy pgjobs:tables/queue_gauges_cache to pg
-- requires: schema
-- The latest queue-depth figures, shared by every process that exports metrics, so that the
-- hot table is counted at most once per refresh interval however many dashboards and workers
-- scrape (app_jobs.queue_gauges() refreshes it). A cache: rebuilt from app_jobs.jobs, never
-- dumped (an extension install does not register it with pg_extension_config_dump).

BEGIN;

CREATE TABLE app_jobs.queue_gauges_cache (
  task_identifier text,
  queue_name text,
  ready bigint NOT NULL,
  oldest_ready_at timestamptz,
  exact boolean NOT NULL,
  computed_at timestamptz NOT NULL
);

REVOKE ALL ON TABLE app_jobs.queue_gauges_cache FROM PUBLIC;

COMMENT ON TABLE app_jobs.queue_gauges_cache IS
  'Cache of app_jobs.queue_gauges(): ready jobs per (task, queue) as of computed_at, plus one total row (task_identifier NULL) that exists even when nothing is ready. Rebuilt by the one caller that wins an advisory lock once the figures are older than asked.';
COMMENT ON COLUMN app_jobs.queue_gauges_cache.task_identifier IS 'The task; NULL in the total row.';
COMMENT ON COLUMN app_jobs.queue_gauges_cache.ready IS 'Jobs in state ready (due, claimable now).';
COMMENT ON COLUMN app_jobs.queue_gauges_cache.oldest_ready_at IS 'The earliest run_at among them: the oldest ready job has waited since then.';
COMMENT ON COLUMN app_jobs.queue_gauges_cache.exact IS 'false when the refresh stopped at its row cap: ready is then a lower bound.';
COMMENT ON COLUMN app_jobs.queue_gauges_cache.computed_at IS 'When the refresh that wrote the row ran.';

COMMIT;
