-- Deploy pgjobs:functions/_uuid_v7 to pg
-- requires: schema
-- A time-ordered uuid (RFC 9562 version 7: 48 bits of Unix milliseconds, then random bits) for
-- the default of app_jobs.jobs.uid. A random (version 4) uid put every new job, and every
-- claim's new row version, at a random place of the uid indexes of jobs and job_history: with a
-- large queue that is a page written (and after a checkpoint a full-page image in the WAL)
-- per job. Time-ordered keys land at the end of the index, where the pages are hot.
-- (PostgreSQL 18 has uuidv7(); this works from 13 on.)

BEGIN;

CREATE FUNCTION app_jobs._uuid_v7()
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_bytes bytea := pg_catalog.uuid_send(pg_catalog.gen_random_uuid());
BEGIN
  v_bytes := pg_catalog.overlay(v_bytes,
               pg_catalog.substring(pg_catalog.int8send(
                 (pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) * 1000)::bigint), 3),
               1, 6);
  v_bytes := pg_catalog.set_byte(v_bytes, 6, (pg_catalog.get_byte(v_bytes, 6) & 15) | 112);
  RETURN pg_catalog.encode(v_bytes, 'hex')::uuid;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._uuid_v7() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._uuid_v7() IS
  'Internal: a version 7 uuid (Unix milliseconds, then random bits): the default of app_jobs.jobs.uid, so new uids land at the end of the uid indexes.';

COMMIT;
