-- Deploy pgjobs:tables/sweep_clock to pg
-- requires: schema
-- The sweep's clock (0.6.0): a sequence whose value is the time, in milliseconds since the
-- epoch, at which a claim last ran the sweep's probe in this database. The claim runs that
-- probe (5 index probes, a tenth of a one-job claim and finish) at most once per 10 ms per
-- database: a claim that finds the clock older elects itself with a try-advisory lock,
-- advances the clock and probes; the claims in between skip it. A sequence, not a table row:
-- reading it (pg_sequence_last_value) and advancing it (setval) are function calls without a
-- statement, a row version or a row lock, and setval is not rolled back with its transaction.
-- Setting it to 0 makes the next claim probe (unregister_worker does).

BEGIN;

CREATE SEQUENCE app_jobs.sweep_clock AS bigint MINVALUE 0 START WITH 0;

REVOKE ALL ON SEQUENCE app_jobs.sweep_clock FROM PUBLIC;

COMMENT ON SEQUENCE app_jobs.sweep_clock IS
  'The sweep''s clock: when (ms since the epoch) a claim last ran the sweep''s probe in this database; get_jobs runs it at most once per 10 ms. Internal; 0 makes the next claim probe.';

COMMIT;
