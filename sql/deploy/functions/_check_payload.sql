-- Deploy pgjobs:functions/_check_payload to pg
-- requires: schema
-- A payload (a job's arguments, a schedule's payload, the row an enqueue trigger sends) is
-- stored as jsonb and decoded by workers in any language. Refused, with the argument named:
--   PJ120  what jsonb cannot hold: a \u0000 escape (NUL) in any string or key, a lone
--          surrogate escape such as \ud800;
--   PJ121  over the limits: more than 1 MiB (1,048,576 bytes) of JSON text, as sent or
--          written out by jsonb; arrays and objects nested more than 100 deep (Python's json
--          decoder, for one, overflows its stack near 1,000); a number with more than 1,000
--          digits or an exponent beyond +-308 (outside every client's floats; 1e131071 would
--          be written out as 131,072 digits).
-- The cheap checks run first; the exact one (casting to jsonb in an exception block) only
-- runs when the text holds an escape, an exponent or a long number that could fail it, so a
-- plain payload costs no subtransaction (enqueue triggers run this once per row).
-- A bulk enqueue (app_jobs._add_jobs) calls this only for payloads of 200 bytes or more, or
-- with an escape or an exponent: every refusal here must need one of those.

BEGIN;

CREATE FUNCTION app_jobs._check_payload(payload json, argument text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_text text;
  v_bare text;      -- the JSON text with its strings taken out
  v_brackets text;
  v_depth integer := 0;
  v_stored jsonb;
  v_message text;
  v_detail text;
  v_problem text;
BEGIN
  IF payload IS NULL THEN
    RETURN;
  END IF;
  v_text := payload::text;
  IF pg_catalog.octet_length(v_text) > 1048576 THEN
    v_problem := pg_catalog.format('it is %s bytes of JSON, over the limit of 1048576 (1 MiB)',
                                   pg_catalog.octet_length(v_text));
  ELSIF pg_catalog.length(v_text) - pg_catalog.length(pg_catalog.translate(v_text, '[{', '')) > 100 THEN
    -- More than 100 opening brackets in all: measure the nesting, strings left out. Each
    -- round removes the innermost pairs, so the rounds needed are the depth.
    v_bare := pg_catalog.regexp_replace(v_text, '"(\\.|[^"\\])*"', '', 'g');
    v_brackets := pg_catalog.regexp_replace(v_bare, '[^][{}]', '', 'g');
    WHILE v_brackets <> '' AND v_depth <= 100 LOOP
      v_brackets := pg_catalog.regexp_replace(v_brackets, '\[\]|\{\}', '', 'g');
      v_depth := v_depth + 1;
    END LOOP;
    IF v_depth > 100 THEN
      v_problem := 'it nests arrays and objects more than 100 deep';
    END IF;
  END IF;
  IF v_problem IS NULL AND v_text ~ '\\u(0000|[dD][89a-fA-F])|[0-9][eE]|[0-9]{250}[0-9]{250}[0-9]{250}[0-9]{250}' THEN
    v_bare := coalesce(v_bare, pg_catalog.regexp_replace(v_text, '"(\\.|[^"\\])*"', '', 'g'));
    IF v_bare ~ '[0-9]{250}[0-9]{250}[0-9]{250}[0-9]{251}' THEN  -- 1001 digits (255 is the most one {n} takes)
      v_problem := 'it has a number of more than 1000 digits';
    ELSIF v_bare ~ '[eE][-+]?0*([1-9][0-9]{3}|[4-9][0-9]{2}|3[1-9][0-9]|309)' THEN
      v_problem := 'it has a number with an exponent beyond +-308';
    ELSE
      BEGIN
        v_stored := payload::jsonb;
      EXCEPTION WHEN data_exception THEN
        GET STACKED DIAGNOSTICS v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
        RAISE EXCEPTION USING
          ERRCODE = 'PJ120',
          MESSAGE = pg_catalog.format('%s cannot be stored: %s%s', argument, v_message,
                                      coalesce(' (' || nullif(v_detail, '') || ')', '')),
          DETAIL = 'A payload is stored as jsonb, which holds no \u0000 (NUL) and no lone surrogate escape such as \ud800.',
          HINT = 'Remove the NUL characters (or send them another way, e.g. base64) and pair every surrogate escape.';
      END;
      IF pg_catalog.octet_length(v_stored::text) > 1048576 THEN
        v_problem := 'written out by jsonb it is over the limit of 1048576 bytes (1 MiB)';
      END IF;
    END IF;
  END IF;
  IF v_problem IS NOT NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ121',
      MESSAGE = pg_catalog.format('%s is over the payload limits: %s', argument, v_problem),
      DETAIL = 'A payload is at most 1 MiB of JSON, nested at most 100 deep, with numbers of at most 1000 digits and exponents within +-308.',
      HINT = 'Store large data in a table of your own and pass its id in the payload.';
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._check_payload(json, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._check_payload(json, text) IS
  'Internal: raises PJ120 when jsonb cannot store payload (\u0000, a lone surrogate escape) and PJ121 when it is over the limits (1 MiB of JSON text, 100 levels of nesting, numbers of 1000 digits or exponents beyond +-308); the message starts with argument (e.g. ''add_job: payload''). NULL passes.';

COMMIT;
