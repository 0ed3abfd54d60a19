-- Revert pgjobs:functions/unregister_worker from pg

BEGIN;

DROP FUNCTION app_jobs.unregister_worker(text, uuid);

COMMIT;
