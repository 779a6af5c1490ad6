-- Retention by whole months (issue 16, section 2): a month's partition whose every read is past the
-- detection policy goes at once, with what refers to its reads, instead of read by read.
--
-- A month goes whole only when nothing ties any of its reads to something that stays:
--   - no active legal hold covers one of them (by plate, by a correction to a held plate, by list, by
--     camera and time);
--   - no read after the month continues a run started in it (runs link reads at most 30 seconds
--     apart, so such a read would be in the first 30 seconds after the month);
--   - no alert stands for one of its reads and for a read outside it.
-- Otherwise the month is left to retention_purge (sql/0017), read by read, as before.

-- The months (their first instant, UTC) that have a partition of their own ending at or before `before`.
CREATE FUNCTION retention_months(before timestamptz) RETURNS SETOF timestamptz LANGUAGE sql STABLE AS $$
  SELECT m.month_start FROM (
    SELECT to_date(substr(c.relname, 12), 'YYYY_MM')::timestamp AT TIME ZONE 'UTC' AS month_start
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'detections'::regclass AND c.relname ~ '^detections_[0-9]{4}_[0-9]{2}$'
  ) m
   WHERE (m.month_start AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC' <= before
   ORDER BY 1
$$;

-- Drops the month starting at `month_start` if it may go whole; with dry_run, says what it would do.
-- `why` is NULL when the month went (or would go), else what keeps it.
CREATE FUNCTION retention_drop_month(month_start timestamptz, detection_before timestamptz, dry_run boolean)
RETURNS TABLE (reads bigint, scene_images integer, plate_images integer, alerts_deleted integer, why text)
LANGUAGE plpgsql AS $$
DECLARE
  month_end timestamptz := (month_start AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC';
  part text := detections_partition_name(month_start);
  v_reads bigint;
  v_scene integer := 0;
  v_plate integer := 0;
  v_alerts bigint[];
  v_why text;
BEGIN
  PERFORM retention_check_cutoff('detection', detection_before);
  IF month_start IS DISTINCT FROM date_trunc('month', month_start, 'UTC') OR month_end > detection_before THEN
    RAISE EXCEPTION 'retention refused: the month from % does not end before %', month_start, detection_before
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                  WHERE i.inhparent = 'detections'::regclass AND c.relname = part) THEN
    RETURN QUERY SELECT 0::bigint, 0, 0, 0, 'no partition'::text;
    RETURN;
  END IF;

  -- As in retention_purge: a hold being made waits for this to commit, and this sees every hold
  -- committed before it.
  PERFORM pg_advisory_xact_lock_shared(7415017);

  EXECUTE format($q$
    SELECT CASE
      WHEN EXISTS (SELECT FROM legal_holds h JOIN %1$I d ON d.plate = h.plate
                    WHERE h.released_at IS NULL AND h.plate IS NOT NULL)
        OR EXISTS (SELECT FROM legal_holds h JOIN corrections c ON c.plate = h.plate AND c.action = 'correct'
                     JOIN %1$I d ON d.id = c.detection_id
                    WHERE h.released_at IS NULL AND h.plate IS NOT NULL)
        OR EXISTS (SELECT FROM legal_holds h CROSS JOIN LATERAL unnest(h.detection_ids) AS x(id)
                     JOIN %1$I d ON d.id = x.id
                    WHERE h.released_at IS NULL AND h.detection_ids IS NOT NULL)
        OR EXISTS (SELECT FROM legal_holds h JOIN %1$I d ON d.camera_id = h.camera_id
                                                   AND d.detected_at BETWEEN h.from_at AND h.to_at
                    WHERE h.released_at IS NULL AND h.camera_id IS NOT NULL)
        THEN 'hold'
      WHEN EXISTS (SELECT FROM detections m JOIN %1$I d ON d.id = m.duplicate_of
                    WHERE m.detected_at >= $1 AND m.detected_at < $1 + interval '30 seconds'
                      AND m.duplicate_of IS NOT NULL)
        THEN 'run'
      WHEN EXISTS (
        WITH touched AS (
          SELECT s.alert_id FROM alert_sightings s JOIN %1$I d ON d.id = s.detection_id
          UNION
          SELECT a.id FROM alerts a JOIN %1$I d ON d.id = a.detection_id OR d.id = a.last_detection_id
        ), alert_reads AS (
          SELECT s.detection_id AS r FROM alert_sightings s JOIN touched t ON t.alert_id = s.alert_id
          UNION
          SELECT unnest(ARRAY[a.detection_id, a.last_detection_id]) FROM alerts a JOIN touched t ON t.alert_id = a.id
        )
        SELECT FROM alert_reads ar WHERE NOT EXISTS (SELECT FROM %1$I d WHERE d.id = ar.r))
        THEN 'alert'
    END$q$, part) INTO v_why USING month_end;

  EXECUTE format('SELECT count(*) FROM %I', part) INTO v_reads;

  IF v_why IS NOT NULL THEN
    RETURN QUERY SELECT v_reads, 0, 0, 0, v_why;
    RETURN;
  END IF;

  EXECUTE format($q$
    SELECT coalesce(array_agg(DISTINCT t.alert_id), '{}') FROM (
      SELECT s.alert_id FROM alert_sightings s JOIN %1$I d ON d.id = s.detection_id
      UNION
      SELECT a.id FROM alerts a JOIN %1$I d ON d.id = a.detection_id OR d.id = a.last_detection_id) t$q$, part)
    INTO v_alerts;

  IF dry_run THEN
    SELECT count(*) FILTER (WHERE i.kind = 'scene'), count(*) FILTER (WHERE i.kind = 'plate') INTO v_scene, v_plate
      FROM detection_images i WHERE i.detected_at >= month_start AND i.detected_at < month_end;
    RETURN QUERY SELECT v_reads, v_scene, v_plate, cardinality(v_alerts), NULL::text;
    RETURN;
  END IF;

  PERFORM set_config('alpr.retention', 'purge', true);
  IF cardinality(v_alerts) > 0 THEN
    DELETE FROM outbox WHERE alert_id = ANY(v_alerts);
    DELETE FROM telegram_deliveries WHERE alert_id = ANY(v_alerts);
    DELETE FROM alert_sightings WHERE alert_id = ANY(v_alerts);
    DELETE FROM alerts WHERE id = ANY(v_alerts);
  END IF;
  -- Photos: rows now, objects by the server after the commit (retention_pending_objects, as in 0017).
  WITH gone AS (
    DELETE FROM detection_images i WHERE i.detected_at >= month_start AND i.detected_at < month_end
    RETURNING i.object_key, i.detection_id, i.kind
  ), queued AS (
    INSERT INTO retention_pending_objects (object_key, detection_id, kind)
    SELECT object_key, detection_id, kind FROM gone
    ON CONFLICT (object_key) DO NOTHING
  )
  SELECT count(*) FILTER (WHERE kind = 'scene'), count(*) FILTER (WHERE kind = 'plate') INTO v_scene, v_plate FROM gone;
  EXECUTE format('DELETE FROM corrections c USING %I d WHERE d.id = c.detection_id', part);
  EXECUTE format('DELETE FROM retention_kept k USING %I d WHERE d.id = k.detection_id', part);
  EXECUTE format('INSERT INTO retention_plate_candidates (plate) SELECT DISTINCT plate FROM %I ORDER BY plate ON CONFLICT (plate) DO NOTHING', part);
  -- Last, so that the parent's exclusive lock is held only from here to the commit.
  EXECUTE format('DROP TABLE %I', part);
  PERFORM set_config('alpr.retention', '', true);

  RETURN QUERY SELECT v_reads, v_scene, v_plate, cardinality(v_alerts), NULL::text;
END
$$;

DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION retention_drop_month(timestamptz, timestamptz, boolean) SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
  EXECUTE format('ALTER FUNCTION retention_months(timestamptz) SET search_path = %I, pg_temp', current_schema());
END
$$;
REVOKE EXECUTE ON FUNCTION retention_drop_month(timestamptz, timestamptz, boolean) FROM PUBLIC;
