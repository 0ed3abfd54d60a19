-- Deploy pgjobs:tables/job_queues to pg
-- requires: tables/job_queues@v0.2.0
-- requires: tables/job_queue_locks
-- requires: triggers/jobs_queue_count
-- requires: functions/_lock_queue
-- requires: functions/_unlock_queue
-- requires: functions/_wake_queue
-- requires: functions/_reclaim_job
-- requires: functions/release_jobs
-- requires: functions/_sweep
-- 0.3.0: app_jobs.job_queues becomes a view with the same columns. job_count is counted
-- from app_jobs.jobs when the view is read, so it is exact in every transaction's own
-- snapshot (the stored count of 0.1.0 and 0.2.0 lagged until commit, and a plain
-- pg_restore counted every restored job twice); the lock comes from
-- app_jobs.job_queue_locks. A queue shows while it has jobs or is locked. Filtering by
-- database_id and queue_name reaches the jobs_queue_idx index.

BEGIN;

-- Reconcile the locks with the running jobs, for a sqitch deploy that committed the earlier
-- changes one by one while 0.2.0 workers took and released queues in between (in one
-- transaction, jobs is held exclusively since tables/job_queue_locks and nothing changed).
-- A queue is held exactly when one of its jobs runs, by that job's worker: a lock without
-- such a job goes, a queue running a job gets its lock, and every free queue with parked
-- jobs gets a wake request, which the next get_job settles.
LOCK TABLE app_jobs.jobs IN ACCESS EXCLUSIVE MODE;

DELETE FROM app_jobs.job_queue_locks AS l
 WHERE NOT EXISTS (SELECT 1 FROM app_jobs.jobs AS j
                    WHERE j.state = 'running' AND j.locked_by = l.locked_by
                      AND j.database_id = l.database_id AND j.queue_name = l.queue_name);

INSERT INTO app_jobs.job_queue_locks (database_id, queue_name, locked_by, locked_at)
SELECT DISTINCT ON (j.database_id, j.queue_name) j.database_id, j.queue_name, j.locked_by, j.locked_at
  FROM app_jobs.jobs AS j
 WHERE j.state = 'running' AND j.queue_name IS NOT NULL
 ORDER BY j.database_id, j.queue_name, j.locked_at
ON CONFLICT (database_id, queue_name) DO NOTHING;

INSERT INTO app_jobs.job_queue_wakes (database_id, queue_name)
SELECT DISTINCT j.database_id, j.queue_name
  FROM app_jobs.jobs AS j
 WHERE j.state = 'blocked'
   AND NOT EXISTS (SELECT 1 FROM app_jobs.job_queue_locks AS l
                    WHERE l.database_id = j.database_id AND l.queue_name = j.queue_name);

-- Privileges granted on the 0.2.0 table (say SELECT to a monitoring role) carry over to the
-- view: its ACL is kept for this transaction in a setting and granted again below.
SELECT pg_catalog.set_config('pgjobs.job_queues_acl', coalesce(c.relacl::text, '{}'), true)
  FROM pg_catalog.pg_class AS c
 WHERE c.oid = 'app_jobs.job_queues'::pg_catalog.regclass;

-- In ALTER EXTENSION UPDATE, take the table out of the extension first: that also removes
-- it from the tables pg_dump keeps (pg_extension.extconfig), which a plain DROP TABLE would
-- leave behind as a dangling entry.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgjobs') THEN
    ALTER EXTENSION pgjobs DROP TABLE app_jobs.job_queues;
  END IF;
END
$$;

DROP TABLE app_jobs.job_queues;

CREATE VIEW app_jobs.job_queues AS
SELECT c.database_id, c.queue_name, c.job_count, l.locked_by, l.locked_at, c.created_at
  FROM (SELECT j.database_id, j.queue_name,
               pg_catalog.count(*)::integer AS job_count,
               pg_catalog.min(j.created_at) AS created_at
          FROM app_jobs.jobs AS j
         WHERE j.queue_name IS NOT NULL
         GROUP BY j.database_id, j.queue_name) AS c
  LEFT JOIN app_jobs.job_queue_locks AS l
    ON l.database_id = c.database_id AND l.queue_name = c.queue_name
UNION ALL
SELECT l.database_id, l.queue_name, 0, l.locked_by, l.locked_at, l.locked_at
  FROM app_jobs.job_queue_locks AS l
 WHERE NOT EXISTS (SELECT 1 FROM app_jobs.jobs AS j
                    WHERE j.database_id = l.database_id AND j.queue_name = l.queue_name);

REVOKE ALL ON TABLE app_jobs.job_queues FROM PUBLIC;

-- The grants of the 0.2.0 table, again (role names quoted with %I, privilege names from the
-- catalog and checked against the table privileges).
DO $$
DECLARE
  v_grant record;
BEGIN
  FOR v_grant IN
    SELECT a.privilege_type, a.is_grantable, a.grantee, r.rolname
      FROM pg_catalog.aclexplode(
             pg_catalog.current_setting('pgjobs.job_queues_acl')::pg_catalog.aclitem[]) AS a
      LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
     WHERE a.grantee <> (SELECT c.relowner FROM pg_catalog.pg_class AS c
                          WHERE c.oid = 'app_jobs.job_queues'::pg_catalog.regclass)
       AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE',
                                'REFERENCES', 'TRIGGER')
  LOOP
    IF v_grant.grantee = 0 THEN
      EXECUTE pg_catalog.format('GRANT %s ON TABLE app_jobs.job_queues TO PUBLIC',
                                v_grant.privilege_type);
    ELSE
      EXECUTE pg_catalog.format('GRANT %s ON TABLE app_jobs.job_queues TO %I%s',
                                v_grant.privilege_type, v_grant.rolname,
                                CASE WHEN v_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END IF;
  END LOOP;
END
$$;

COMMENT ON VIEW app_jobs.job_queues IS
  'Named serial queues, one row per (tenant, queue) that has jobs or is locked: while a job of the queue runs, locked_by/locked_at hold the queue and no other job of it is handed out.';
COMMENT ON COLUMN app_jobs.job_queues.database_id IS
  'Tenant owning the queue: queue names are scoped by tenant.';
COMMENT ON COLUMN app_jobs.job_queues.queue_name IS 'Queue name, as passed to add_job(queue_name := ...).';
COMMENT ON COLUMN app_jobs.job_queues.job_count IS
  'Jobs of this queue in app_jobs.jobs (waiting or running), counted when read: exact in the reader''s snapshot.';
COMMENT ON COLUMN app_jobs.job_queues.locked_by IS 'Worker running a job of this queue, or NULL.';
COMMENT ON COLUMN app_jobs.job_queues.locked_at IS 'When that worker took the queue.';
COMMENT ON COLUMN app_jobs.job_queues.created_at IS
  'When the queue''s oldest job was created (the lock time for a locked queue without jobs).';

COMMIT;
