-- A tour of the app_jobs SQL API, run by `make run` with psql alone.
-- Uses its own tenant, so it can run again and again against the same database.
\set ON_ERROR_STOP on
\set tenant '''7a3f1e2c-0000-4000-8000-000000007041'''
\pset footer off

\echo '== enqueue: a plain job, a delayed urgent one, two jobs of a serial queue, a keyed job replaced in place'
SELECT id, task_identifier, state, priority FROM app_jobs.add_job(:tenant, 'send_email', '{"to": "user@example.com"}');
SELECT id, task_identifier, state, priority FROM app_jobs.add_job(:tenant, 'generate_report', '{"report_id": 123}', run_at := now() + interval '1 hour', priority := -10);
SELECT id, task_identifier, state, queue_name FROM app_jobs.add_job(:tenant, 'sync_account', '{"step": 1}', queue_name := 'account-42');
SELECT id, task_identifier, state, queue_name FROM app_jobs.add_job(:tenant, 'sync_account', '{"step": 2}', queue_name := 'account-42');
SELECT id, key, payload FROM app_jobs.add_job(:tenant, 'reindex', '{"v": 1}', job_key := 'reindex-users');
SELECT id, key, payload FROM app_jobs.add_job(:tenant, 'reindex', '{"v": 2}', job_key := 'reindex-users');

\echo '== three workers claim: the serial queue hands out one job at a time, the delayed job waits'
SELECT id, task_identifier, attempts, locked_by FROM app_jobs.get_job('tour-worker-1');
SELECT id, task_identifier, attempts, locked_by FROM app_jobs.get_job('tour-worker-2');
SELECT id, task_identifier, attempts, locked_by FROM app_jobs.get_job('tour-worker-3');
SELECT queue_name, job_count, locked_by FROM app_jobs.job_queues WHERE database_id = :tenant;

\echo '== complete and fail: completed jobs move to history, failed ones retry with backoff'
SELECT id, 'completed' AS outcome FROM app_jobs.complete_job('tour-worker-1', (SELECT id FROM app_jobs.jobs WHERE locked_by = 'tour-worker-1' AND database_id = :tenant));
SELECT id, 'retry at ' || to_char(run_at - now(), 'SS.MS') || ' s' AS outcome, last_error FROM app_jobs.fail_job('tour-worker-2', (SELECT id FROM app_jobs.jobs WHERE locked_by = 'tour-worker-2' AND database_id = :tenant), 'SMTP timeout');
SELECT id, 'completed' AS outcome FROM app_jobs.complete_job('tour-worker-3', (SELECT id FROM app_jobs.jobs WHERE locked_by = 'tour-worker-3' AND database_id = :tenant));

\echo '== what is left in the queue, and the history'
SELECT id, task_identifier, state, attempts, last_error FROM app_jobs.jobs WHERE database_id = :tenant ORDER BY id;
SELECT id, task_identifier, status, attempts, worker_id FROM app_jobs.job_history WHERE database_id = :tenant ORDER BY finished_at DESC, id DESC LIMIT 5;
