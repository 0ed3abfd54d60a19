-- Revert pgjobs:storage/hot_tables from pg
-- Back to the 0.5.0 settings (deploy/storage/hot_tables@v0.5.0.sql): the autovacuum settings
-- stay, the fillfactor goes back to the default (rows written later pack pages full again).

BEGIN;

ALTER TABLE app_jobs.jobs RESET (fillfactor);

COMMIT;
