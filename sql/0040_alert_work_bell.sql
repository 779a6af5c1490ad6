-- Reads no longer NOTIFY alert_work inside the transaction that stores them. PostgreSQL takes its
-- notify lock, one for the whole cluster, at the commit of a transaction that sent a NOTIFY and holds
-- it through the commit's WAL flush: with the NOTIFY in the trigger every ingest commit waited for the
-- one before it to reach the disk, and concurrent requests could never share a flush. The server
-- sends the NOTIFY after the commit instead (packages/server/src/db/Bell.ts); an engine that missed
-- it finds the work at its safety poll.
CREATE OR REPLACE FUNCTION detections_queue_alert_work() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO alert_work (detection_ids, detected_from, detected_to)
  SELECT array_agg(id ORDER BY id), min(detected_at), max(detected_at) FROM new_reads HAVING count(*) > 0;
  RETURN NULL;
END
$$;
