-- Deploy pgjobs:functions/list_job_dependencies to pg
-- requires: tables/job_dependencies
-- requires: functions/_live_job_info
-- requires: functions/_finished_job_info
-- requires: functions/_tenant
-- Job dependencies (0.5.0): the edges of one job, both ways, with the other end's status, for
-- `pgjobs jobs show`, the dashboard's job page and any language. Each end is looked up live
-- first, then in the history (a job whose history was cleaned up shows status NULL).

BEGIN;

CREATE FUNCTION app_jobs.list_job_dependencies(job_id bigint)
RETURNS TABLE (relation text, id bigint, task_identifier text, status text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_tenant uuid;
BEGIN
  IF list_job_dependencies.job_id IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'list_job_dependencies: job_id must not be NULL',
      HINT = 'Pass the id of a job, e.g. app_jobs.list_job_dependencies(42).';
  END IF;
  SELECT t.database_id INTO v_tenant
    FROM (SELECT j.database_id FROM app_jobs.jobs AS j WHERE j.id = list_job_dependencies.job_id
          UNION ALL
          SELECT h.database_id FROM app_jobs.job_history AS h WHERE h.id = list_job_dependencies.job_id
          LIMIT 1) AS t;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  PERFORM app_jobs._tenant(v_tenant, 'list_job_dependencies');  -- tenant isolation (issue 15)
  RETURN QUERY
    SELECT e.relation, e.other, coalesce(l.task_identifier, h.task_identifier),
           CASE WHEN l.id IS NOT NULL THEN (app_jobs._live_job_info(l)).status ELSE h.status END
      FROM (SELECT 'dependency'::text AS relation, d.depends_on_id AS other
              FROM app_jobs.job_dependencies AS d WHERE d.job_id = list_job_dependencies.job_id
            UNION ALL
            SELECT 'dependant'::text, d.job_id
              FROM app_jobs.job_dependencies AS d WHERE d.depends_on_id = list_job_dependencies.job_id) AS e
      LEFT JOIN app_jobs.jobs AS l ON l.id = e.other
      LEFT JOIN LATERAL (SELECT y.task_identifier, y.status FROM app_jobs.job_history AS y
                          WHERE y.id = e.other AND l.id IS NULL LIMIT 1) AS h ON true
     ORDER BY e.relation DESC, e.other;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.list_job_dependencies(bigint) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.list_job_dependencies(bigint) IS
  'The dependency edges of job job_id (live or finished): relation dependency (a job it waits or waited for) or dependant (a job that waits or waited for it), the other job''s id, task and status (as find_job gives it; NULL when its history was cleaned up). Dependencies first, then dependants, by id. No row for an unknown job or one without edges. Under tenant isolation another tenant''s job is refused (PJ167).';

COMMIT;
