-- The SQL side of `make run`: a table whose inserts enqueue jobs through a trigger, and jobs
-- enqueued with one SELECT, as any language would. Safe to run again: each run adds rows.

CREATE TABLE IF NOT EXISTS signups (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Every new signup enqueues send_email with {"email": ...} (the all-zero tenant).
CREATE OR REPLACE TRIGGER signups_welcome
AFTER INSERT ON signups
FOR EACH ROW
EXECUTE FUNCTION app_jobs.tg_add_job_with_fields(
  '00000000-0000-0000-0000-000000000000', 'send_email', 'email');

INSERT INTO signups (email) VALUES ('ann@example.com'), ('bob@example.com');

-- Enqueued straight from SQL. The lower priority number runs first.
SELECT app_jobs.add_job(NULL, 'checksum', '{"text": "hello"}');
SELECT app_jobs.add_job(NULL, 'send_email', '{"email": "vip@example.com"}', priority := -10);
-- The card network times out on the first attempt: the job is retried after a backoff.
SELECT app_jobs.add_job(NULL, 'charge_card', '{"amount": 42, "card": "flaky"}',
                        job_key := 'order-7', max_attempts := 3);
-- An expired card can never be charged: one attempt, then it fails for good.
SELECT app_jobs.add_job(NULL, 'charge_card', '{"amount": 13, "card": "expired"}',
                        max_attempts := 1);
