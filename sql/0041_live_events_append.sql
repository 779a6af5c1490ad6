-- Appending live events in one round trip instead of two (the NOTIFY with the lock, then the insert):
-- the alert engine appends in every transaction it commits. Runs as its caller, in the caller's
-- transaction; the lock (packages/server/src/live/Events.ts, LIVE_EVENT_LOCK) is taken before the
-- events' numbers and held to the commit, so numbers become visible in the order they were taken.
-- Ids come as comma-separated text (bigint digits only), the reads' times likewise.
CREATE FUNCTION live_events_append(detection_ids text, detection_times text, alert_ids text, health_ids text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  reads integer := coalesce(array_length(string_to_array(detection_ids, ','), 1), 0);
  alerts integer := coalesce(array_length(string_to_array(alert_ids, ','), 1), 0);
BEGIN
  PERFORM pg_notify('live_events', 'appended');
  PERFORM pg_advisory_xact_lock(7415010);
  INSERT INTO live_events (id, kind, detection_id, alert_id, health_alert_id, detected_at)
  SELECT nextval('live_event_id'), e.kind, e.detection_id, e.alert_id, e.health_alert_id, e.detected_at
    FROM (SELECT 'detection' AS kind, t.id::bigint AS detection_id, NULL::bigint AS alert_id,
                 NULL::bigint AS health_alert_id, t.at::timestamptz AS detected_at, t.n AS n
            FROM unnest(string_to_array(detection_ids, ','), string_to_array(detection_times, ','))
                 WITH ORDINALITY AS t(id, at, n)
           WHERE t.id IS NOT NULL
          UNION ALL
          SELECT 'alert', NULL, u.id::bigint, NULL, NULL, reads + u.n
            FROM unnest(string_to_array(alert_ids, ',')) WITH ORDINALITY AS u(id, n)
          UNION ALL
          SELECT 'health', NULL, NULL, h.id::bigint, NULL, reads + alerts + h.n
            FROM unnest(string_to_array(health_ids, ',')) WITH ORDINALITY AS h(id, n)) e
   ORDER BY e.n;
END
$$;
