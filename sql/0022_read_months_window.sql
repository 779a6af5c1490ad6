-- Which months the serving role may give a partition of their own.
--
-- Ingest asks detections_ensure_months for every month of a batch's reads, and a collector may send
-- any time from 2000 to a day ahead. Each partition is one more table every query of the reads that
-- is not bounded by time plans against, and stays until retention drops its month: a collector's
-- key (or a bug in one) sending a batch a month apart from 2000 to now would have added some 320
-- tables in one request. The serving role's call now makes partitions only for the months a live
-- collector can still be sending: from two months back (an edge buffer keeps reads for 7 days, a
-- collector may come back after weeks offline) to next month. Older and later reads are still
-- stored, in detections_default, as before a partition existed; their queries find them there.
--
-- The owner keeps the unbounded call, detections_make_months (the migrations, an import of an
-- installation's history, the benchmarks).

CREATE FUNCTION detections_make_months(ats timestamptz[]) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  month_start timestamptz;
  month_end timestamptz;
  partition_name text;
  made integer := 0;
BEGIN
  FOR month_start IN
    SELECT DISTINCT date_trunc('month', a, 'UTC') FROM unnest(ats) AS a WHERE a IS NOT NULL ORDER BY 1
  LOOP
    partition_name := detections_partition_name(month_start);
    CONTINUE WHEN to_regclass(partition_name) IS NOT NULL;
    PERFORM pg_advisory_xact_lock(7415019);
    CONTINUE WHEN to_regclass(partition_name) IS NOT NULL;
    month_end := (date_trunc('month', month_start, 'UTC') AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC';
    CONTINUE WHEN EXISTS (SELECT FROM detections_default WHERE detected_at >= month_start AND detected_at < month_end);
    EXECUTE format('CREATE TABLE %I (LIKE detections INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', partition_name);
    -- Proves the range to the ATTACH below, which then need not scan the table.
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (detected_at >= %L AND detected_at < %L)',
                   partition_name, partition_name || '_month', month_start, month_end);
    EXECUTE format('ALTER TABLE detections ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   partition_name, month_start, month_end);
    PERFORM detections_guard_partition(partition_name);
    made := made + 1;
  END LOOP;
  RETURN made;
END
$$;

-- The first month (UTC) the serving role may make a partition for, and the last. Mirrored by
-- db/ReadMonths.ts, which does not ask about months outside it.
CREATE FUNCTION detections_months_window(OUT first_month timestamptz, OUT last_month timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT date_trunc('month', now() - interval '2 months', 'UTC'), date_trunc('month', now() + interval '1 month', 'UTC')
$$;

-- Kept under its name and signature: the serving role's grant (db/ServingRole.ts) stays with it.
CREATE OR REPLACE FUNCTION detections_ensure_months(ats timestamptz[]) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  w record;
BEGIN
  SELECT * INTO w FROM detections_months_window();
  RETURN detections_make_months(ARRAY(
    SELECT a FROM unnest(ats) AS a WHERE date_trunc('month', a, 'UTC') BETWEEN w.first_month AND w.last_month));
END
$$;

DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION detections_ensure_months(timestamptz[]) SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
  EXECUTE format('ALTER FUNCTION detections_make_months(timestamptz[]) SET search_path = %I, pg_temp', current_schema());
  EXECUTE format('ALTER FUNCTION detections_months_window() SET search_path = %I, pg_temp', current_schema());
END
$$;
REVOKE EXECUTE ON FUNCTION detections_make_months(timestamptz[]) FROM PUBLIC;
