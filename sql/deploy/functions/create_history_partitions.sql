-- Deploy pgjobs:functions/create_history_partitions to pg
-- requires: functions/create_history_partitions@v0.3.0
-- requires: policies/tenant_rows
-- Day partitions of job_history are made ahead of time by maintenance (the worker calls this
-- at start and hourly; pg_cron can too), so complete_job never creates one. No install script
-- makes any: a partition an install made would be an extension member, which pg_dump would not
-- recreate on a restore made another day. Until the first call, history goes to the default
-- partition, and the call moves those rows into their day. Each partition gets its own primary
-- key (the parent has none: see tables/job_history). A short lock_timeout makes maintenance
-- give way to the hot path instead of stalling it.
-- 0.4.0: a new partition gets the row level security of its parent (_police_table): a direct
-- read that names the partition is subject to the same tenant policies as one through the
-- parent.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.create_history_partitions(days_ahead integer DEFAULT 7)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_today date := (pg_catalog.now() AT TIME ZONE 'UTC')::date;
  v_day date;
  v_from timestamptz;
  v_to timestamptz;
  v_name text;
  v_created integer := 0;
BEGIN
  IF days_ahead IS NULL OR days_ahead < 0 OR days_ahead > 366 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ110',
      MESSAGE = pg_catalog.format('create_history_partitions: days_ahead must be between 0 and 366, got %s', coalesce(days_ahead::text, 'NULL')),
      HINT = 'Pass how many days of partitions to create after today, e.g. 7.';
  END IF;

  -- One history maintainer at a time (0.4.0): every worker runs cleanup_jobs and
  -- create_history_partitions on a timer, and two of them at once could deadlock on the
  -- history's partitions. Taken before any table lock and held until the transaction ends:
  -- a second caller waits for the first to commit, then finds its work done.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('pgjobs.history_maintenance', 0));

  PERFORM pg_catalog.set_config('lock_timeout', '2s', true);

  -- Future days first: they cannot have rows yet, so they never fail; each day in its own
  -- subtransaction, so a day that cannot be made now (lock timeout) does not undo the rest.
  FOR v_day IN
    SELECT d::date FROM pg_catalog.generate_series(v_today + days_ahead, v_today, interval '-1 day') AS d
  LOOP
    v_name := 'job_history_p' || pg_catalog.to_char(v_day, 'YYYYMMDD');
    CONTINUE WHEN pg_catalog.to_regclass(pg_catalog.format('app_jobs.%I', v_name)) IS NOT NULL;
    v_from := v_day::timestamp AT TIME ZONE 'UTC';
    v_to := (v_day + 1)::timestamp AT TIME ZONE 'UTC';
    BEGIN
      EXECUTE pg_catalog.format(
        'CREATE TABLE app_jobs.%I (LIKE app_jobs.job_history_default INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)',
        v_name);
      IF v_day <= v_today THEN
        -- Jobs finishing today go to the default partition until today's partition is
        -- attached: hold them off (briefly) while this day's rows move over.
        LOCK TABLE app_jobs.job_history_default IN ACCESS EXCLUSIVE MODE;
      END IF;
      EXECUTE pg_catalog.format(
        'WITH moved AS (DELETE FROM app_jobs.job_history_default WHERE finished_at >= $1 AND finished_at < $2 RETURNING *)
         INSERT INTO app_jobs.%I SELECT * FROM moved', v_name)
        USING v_from, v_to;
      EXECUTE pg_catalog.format(
        'ALTER TABLE app_jobs.job_history ATTACH PARTITION app_jobs.%I FOR VALUES FROM (%L) TO (%L)',
        v_name, v_from, v_to);
      EXECUTE pg_catalog.format('REVOKE ALL ON TABLE app_jobs.%I FROM PUBLIC', v_name);
      PERFORM app_jobs._police_table(pg_catalog.format('app_jobs.%I', v_name)::pg_catalog.regclass);
      EXECUTE pg_catalog.format('COMMENT ON TABLE app_jobs.%I IS %L', v_name,
                                pg_catalog.format('Jobs of app_jobs.job_history that finished on %s (UTC).', v_day));
      v_created := v_created + 1;
    EXCEPTION WHEN lock_not_available THEN
      RAISE WARNING USING
        MESSAGE = pg_catalog.format('create_history_partitions: could not create the partition for %s now (%s)', v_day, SQLERRM),
        HINT = 'It is retried on the next call; until then that day''s jobs go to job_history_default.';
    END;
  END LOOP;
  RETURN v_created;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.create_history_partitions(integer) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.create_history_partitions(integer) IS
  'Creates the missing day partitions of app_jobs.job_history from today (UTC) to today + days_ahead, moving any rows of those days out of the default partition. Returns how many it created. Uses a 2 s lock_timeout so it never stalls complete_job; call it daily (the worker calls it at start and hourly). One history maintainer at a time: a call made while another cleanup_jobs or create_history_partitions transaction is open waits for it to end.';

COMMIT;
