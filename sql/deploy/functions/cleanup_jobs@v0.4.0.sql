-- Deploy pgjobs:functions/cleanup_jobs to pg
-- requires: functions/cleanup_jobs@v0.3.0
-- requires: tables/task_settings
-- Retention. History is partitioned by day of finished_at, so when every status goes, a day
-- partition that ended before the cut-off is dropped whole (no DELETE, no bloat); rows are
-- deleted only in the partition the cut-off falls in (and in the default partition, and in
-- old partitions when only some statuses go). Dropping a partition needs a brief exclusive
-- lock on job_history, which complete_job also uses: a short lock_timeout makes the drop give
-- way (that day is left for the next call) instead of stalling completions.
-- 0.4.0: per-task retention (app_jobs.task_settings.retention: the tenant's operator setting,
-- else the all-tenants one, else the code one). A task whose retention is shorter than
-- older_than loses its finished jobs older than that retention too (a row DELETE through the
-- partitions' (task_identifier, finished_at) index, before the partition drops, which stay as
-- they were). A retention longer than older_than keeps nothing longer: the partition drops
-- (and the row deletes) of older_than win, so whole days can still be dropped.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.cleanup_jobs(
  older_than interval,
  statuses text[] DEFAULT ARRAY['completed', 'failed', 'cancelled'])
RETURNS TABLE (dropped_partitions integer, deleted_jobs bigint, deleted_attempts bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_cutoff timestamptz;
  v_day_start timestamptz;
  v_lock_timeout text;
  v_all boolean;
  v_partition record;
  v_rows bigint;
  v_dropped integer := 0;
  v_deleted bigint := 0::bigint;
  v_attempts bigint := 0::bigint;
BEGIN
  IF older_than IS NULL OR older_than <= interval '0' OR older_than > interval '100 years' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ105',
      MESSAGE = pg_catalog.format('cleanup_jobs: older_than must be a positive interval of at most 100 years, got %s', coalesce(older_than::text, 'NULL')),
      HINT = 'Pass how long finished jobs are kept, e.g. interval ''7 days''.';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.unnest(statuses) AS s
              WHERE s IS NULL OR s NOT IN ('completed', 'failed', 'cancelled'))
     OR statuses IS NULL OR pg_catalog.cardinality(statuses) = 0 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ115',
      MESSAGE = pg_catalog.format('cleanup_jobs: statuses must list finished statuses (completed, failed, cancelled), got %s', coalesce(statuses::text, 'NULL')),
      HINT = 'Leave statuses out to remove every finished job older than older_than.';
  END IF;
  -- One history maintainer at a time (0.4.0): every worker runs cleanup_jobs and
  -- create_history_partitions on a timer, and two of them at once could deadlock on the
  -- history's partitions. Taken before any table lock and held until the transaction ends:
  -- a second caller waits for the first to commit, then finds its work done.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('pgjobs.history_maintenance', 0));
  v_cutoff := pg_catalog.now() - older_than;
  v_all := statuses @> ARRAY['completed', 'failed', 'cancelled'];
  v_day_start := pg_catalog.date_trunc('day', v_cutoff AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';

  -- Row by row first: with every status going, only the day the cut-off falls in (older days
  -- are dropped below) and the default partition; else every old partition. Pruning keeps
  -- newer partitions out of it.
  IF v_all THEN
    DELETE FROM app_jobs.job_history AS h
     WHERE h.finished_at >= v_day_start AND h.finished_at < v_cutoff;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    v_deleted := v_rows;
    DELETE FROM app_jobs.job_history_default AS h WHERE h.finished_at < v_day_start;
  ELSE
    DELETE FROM app_jobs.job_history AS h
     WHERE h.finished_at < v_cutoff AND h.status = ANY (statuses);
  END IF;
  GET DIAGNOSTICS v_rows = ROW_COUNT;
  v_deleted := v_deleted + v_rows;

  -- Tasks with a shorter retention than older_than: their older finished jobs go too.
  IF EXISTS (SELECT 1 FROM app_jobs.task_settings AS t
              WHERE t.retention IS NOT NULL AND t.retention < older_than) THEN
    DELETE FROM app_jobs.job_history AS h
     USING (SELECT DISTINCT t.task_identifier FROM app_jobs.task_settings AS t
             WHERE t.retention IS NOT NULL AND t.retention < older_than) AS k
     WHERE h.task_identifier = k.task_identifier
       AND h.status = ANY (statuses)
       AND h.finished_at < pg_catalog.now() - least(older_than, coalesce(
             (SELECT o.retention FROM app_jobs.task_settings AS o
               WHERE o.task_identifier = h.task_identifier AND o.source = 'operator'
                 AND o.database_id = h.database_id),
             (SELECT o.retention FROM app_jobs.task_settings AS o
               WHERE o.task_identifier = h.task_identifier AND o.source = 'operator'
                 AND o.database_id IS NULL),
             (SELECT o.retention FROM app_jobs.task_settings AS o
               WHERE o.task_identifier = h.task_identifier AND o.source = 'code'),
             older_than));
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    v_deleted := v_deleted + v_rows;
  END IF;

  -- Attempts end before their job does: an attempt older than the cut-off goes unless its
  -- job still waits or is kept.
  DELETE FROM app_jobs.job_attempts AS a
   WHERE a.finished_at < v_cutoff
     AND NOT EXISTS (SELECT 1 FROM app_jobs.jobs AS j WHERE j.id = a.job_id)
     AND NOT EXISTS (SELECT 1 FROM app_jobs.job_history AS h
                      WHERE h.id = a.job_id AND (NOT v_all OR h.finished_at >= v_cutoff));
  GET DIAGNOSTICS v_attempts = ROW_COUNT;

  -- Whole days last: a drop holds job_history exclusively until the end of this transaction,
  -- so nothing slow comes after it.
  IF v_all THEN
    v_lock_timeout := pg_catalog.current_setting('lock_timeout');
    PERFORM pg_catalog.set_config('lock_timeout', '200ms', true);
    FOR v_partition IN
      SELECT c.relname AS name
        FROM pg_catalog.pg_inherits AS i
        JOIN pg_catalog.pg_class AS c ON c.oid = i.inhrelid
        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
       WHERE i.inhparent = 'app_jobs.job_history'::pg_catalog.regclass
         AND n.nspname = 'app_jobs'
         AND c.relname ~ '^job_history_p[0-9]{8}$'
         AND (pg_catalog.to_date(pg_catalog.substr(c.relname, 14), 'YYYYMMDD') + 1)::timestamp
             AT TIME ZONE 'UTC' <= v_day_start
       ORDER BY c.relname
    LOOP
      -- A past day gets no new rows: count before taking the lock.
      EXECUTE pg_catalog.format('SELECT count(*) FROM app_jobs.%I', v_partition.name) INTO v_rows;
      BEGIN
        LOCK TABLE app_jobs.job_history IN ACCESS EXCLUSIVE MODE;
        EXECUTE pg_catalog.format('DROP TABLE app_jobs.%I', v_partition.name);
        v_dropped := v_dropped + 1;
        v_deleted := v_deleted + v_rows;
      EXCEPTION WHEN lock_not_available THEN
        RAISE WARNING USING
          MESSAGE = pg_catalog.format('cleanup_jobs: could not drop %s now (%s)', v_partition.name, SQLERRM),
          HINT = 'job_history was busy; the partition is dropped by the next call.';
      END;
    END LOOP;
    PERFORM pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
  END IF;

  dropped_partitions := v_dropped;
  deleted_jobs := v_deleted;
  deleted_attempts := v_attempts;
  RETURN NEXT;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.cleanup_jobs(interval, text[]) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.cleanup_jobs(interval, text[]) IS
  'Removes finished jobs (of the given statuses, default all three) that finished more than older_than ago, and attempt-log rows of jobs no longer kept. With all statuses, whole day partitions of job_history older than the cut-off are dropped (each under a 200 ms lock_timeout: a busy one is left for the next call, with a warning); rows are deleted only where the cut-off falls. Returns dropped_partitions, deleted_jobs (rows in dropped partitions included) and deleted_attempts. The worker calls it with its retention (default 14 days). Since 0.4.0 a task''s retention setting (app_jobs.task_settings) shorter than older_than removes its finished jobs older than that retention too; a longer one keeps nothing longer. One history maintainer at a time: a call made while another cleanup_jobs or create_history_partitions transaction is open waits for it to end.';

COMMIT;
