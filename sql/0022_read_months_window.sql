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

-- The unbounded function keeps its body under the owner's new name; the grants it carried (the
-- serving role's, by name, from db/ServingRole.ts) go with it to nobody: revoked from every role but
-- its owner. The serving role's name then gets the bounded one below.
ALTER FUNCTION detections_ensure_months(timestamptz[]) RENAME TO detections_make_months;
DO $$
DECLARE
  grantee regrole;
BEGIN
  FOR grantee IN
    SELECT DISTINCT a.grantee::regrole
      FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a
     WHERE p.oid = 'detections_make_months(timestamptz[])'::regprocedure AND a.grantee NOT IN (0, p.proowner)
  LOOP
    EXECUTE format('REVOKE EXECUTE ON FUNCTION detections_make_months(timestamptz[]) FROM %s', grantee);
  END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION detections_make_months(timestamptz[]) FROM PUBLIC;

-- The first month (UTC) the serving role may make a partition for, and the last. Mirrored by
-- db/ReadMonths.ts, which does not ask about months outside it.
CREATE FUNCTION detections_months_window(OUT first_month timestamptz, OUT last_month timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT date_trunc('month', now() - interval '2 months', 'UTC'), date_trunc('month', now() + interval '1 month', 'UTC')
$$;

-- Under the name and signature the serving role is granted (db/ServingRole.ts, at every start).
CREATE FUNCTION detections_ensure_months(ats timestamptz[]) RETURNS integer LANGUAGE plpgsql AS $$
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
  EXECUTE format('ALTER FUNCTION detections_months_window() SET search_path = %I, pg_temp', current_schema());
END
$$;
REVOKE EXECUTE ON FUNCTION detections_ensure_months(timestamptz[]) FROM PUBLIC;
