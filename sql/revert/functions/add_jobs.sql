-- Revert pgjobs:functions/add_jobs from pg
-- Back to the 0.4.0 signature (without depends_on), its grants moved back.

BEGIN;

SELECT pg_catalog.set_config('pgjobs.add_jobs_acl',
         coalesce((SELECT p.proacl::text FROM pg_catalog.pg_proc AS p
                    WHERE p.oid = 'app_jobs.add_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text, jsonb[])'::pg_catalog.regprocedure), '{}'), true);

DROP FUNCTION app_jobs.add_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text, jsonb[]);

CREATE FUNCTION app_jobs.add_jobs(
  specs app_jobs.job_spec[],
  correlation_ids text[] DEFAULT NULL,
  backoffs jsonb[] DEFAULT NULL,
  timeouts interval[] DEFAULT NULL,
  job_key_mode text DEFAULT NULL)
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF specs IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'add_jobs: specs must not be NULL',
      HINT = 'Pass an array of app_jobs.job_spec (it may be empty).';
  END IF;
  IF app_jobs._tenant(NULL, 'add_jobs') IS NOT NULL THEN specs := ARRAY(SELECT pg_catalog.jsonb_populate_record(s, pg_catalog.jsonb_build_object('db_id', app_jobs._tenant(s.db_id, 'add_jobs'))) FROM pg_catalog.unnest(specs) AS s); END IF;  -- tenant isolation (issue 15)
  RETURN QUERY SELECT * FROM app_jobs._add_jobs(specs, correlation_ids, backoffs, timeouts, 'add_jobs',
                                                job_key_mode);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.add_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text) FROM PUBLIC;

DO $$
DECLARE
  v_grant record;
BEGIN
  FOR v_grant IN
    SELECT a.grantee, a.is_grantable, r.rolname
      FROM pg_catalog.aclexplode(pg_catalog.current_setting('pgjobs.add_jobs_acl')::pg_catalog.aclitem[]) AS a
      LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
     WHERE a.privilege_type = 'EXECUTE'
       AND a.grantee <> (SELECT p.proowner FROM pg_catalog.pg_proc AS p WHERE p.oid = 'app_jobs.add_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text)'::pg_catalog.regprocedure)
  LOOP
    IF v_grant.grantee = 0 THEN
      EXECUTE 'GRANT EXECUTE ON FUNCTION app_jobs.add_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text) TO PUBLIC';
    ELSE
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION app_jobs.add_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text) TO %I%s', v_grant.rolname,
                                CASE WHEN v_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END IF;
  END LOOP;
END
$$;

COMMENT ON FUNCTION app_jobs.add_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text) IS
  'Enqueues many jobs in one call and returns them in the order given: each element (an app_jobs.job_spec: the first eight arguments of add_job; element i of correlation_ids, backoffs and timeouts gives its correlation_id, backoff and timeout) behaves as add_job would, keys included (a key repeated in the batch replaces the earlier element''s job, as two add_job calls would); job_key_mode (replace, preserve_run_at, unsafe_dedupe) applies to every element, as add_job''s; what an element leaves out takes the task''s settings. All or nothing: a bad element raises the add_job error code, naming its position, and nothing is enqueued.';

COMMIT;
