-- The claim as almost every claim runs under load: the sweep's probe skipped. Under valgrind a
-- claim takes more than the probe's 10 ms period, so each one would probe; the clock is set a
-- year ahead, so none does (nothing here needs the sweep: no job is delayed, retried or stale).
SELECT pg_catalog.setval('app_jobs.sweep_clock',
                         (pg_catalog.date_part('epoch', pg_catalog.now()) * 1000)::bigint + 31536000000);
