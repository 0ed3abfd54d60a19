-- Deploy pgjobs:functions/_park_paused to pg
-- requires: tables/jobs
-- requires: tables/job_pauses
-- Lazy, bounded parking of paused jobs (pause and resume, 0.4.0). A pause writes only its row
-- in app_jobs.job_pauses; the claim that meets a claimable job a pause matches calls this,
-- which parks that job and the other matched jobs among the next 1,000 claimable jobs in claim
-- order (from the given one on) as 'paused', out of the claim index. So a paused backlog of
-- N jobs leaves the claim index after about N / 1,000 such calls, each reading at most 1,000
-- entries of jobs_claim_idx and updating at most 1,000 rows; rows another transaction holds
-- are skipped (never waited for) and parked by a later call.

BEGIN;

CREATE FUNCTION app_jobs._park_paused(p_priority integer, p_run_at timestamptz, p_id bigint)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_parked integer;
BEGIN
  UPDATE app_jobs.jobs AS j
     SET state = 'paused'
   WHERE j.id IN (
     SELECT w.id
       FROM app_jobs.jobs AS w
      WHERE w.id = ANY (ARRAY(
              SELECT r.id
                FROM app_jobs.jobs AS r
               WHERE r.state = 'ready'
                 AND (r.priority, r.run_at, r.id) >= (p_priority, p_run_at, p_id)
               ORDER BY r.priority, r.run_at, r.id
               LIMIT 1000))
        AND w.state = 'ready'
        AND EXISTS (SELECT 1 FROM app_jobs.job_pauses AS p
                     WHERE (p.database_id IS NULL OR p.database_id = w.database_id)
                       AND (p.queue_name IS NULL OR p.queue_name = w.queue_name)
                       AND (p.task_identifier IS NULL OR p.task_identifier = w.task_identifier))
        FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS v_parked = ROW_COUNT;
  RETURN v_parked;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._park_paused(integer, timestamptz, bigint) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._park_paused(integer, timestamptz, bigint) IS
  'Internal: parks as paused the claimable jobs a pause matches among the next 1,000 claimable jobs in claim order from (p_priority, p_run_at, p_id); returns how many.';

COMMIT;
