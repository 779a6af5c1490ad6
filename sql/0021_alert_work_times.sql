-- The reads of an alert work item are looked up by id. In a table partitioned by month a lookup by
-- id alone is planned against every month (about 1 ms of planning each at a year of months, more as
-- months pile up); the item also carries its reads' earliest and latest times, so that the lookup
-- names only their months. NULL on items queued before this (their lookups read every month).
ALTER TABLE alert_work ADD COLUMN detected_from timestamptz, ADD COLUMN detected_to timestamptz;

CREATE OR REPLACE FUNCTION detections_queue_alert_work() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO alert_work (detection_ids, detected_from, detected_to)
  SELECT array_agg(id ORDER BY id), min(detected_at), max(detected_at) FROM new_reads HAVING count(*) > 0;
  PERFORM pg_notify('alert_work', '');
  RETURN NULL;
END
$$;

-- Likewise a live event of a read carries the read's time, for the live feed's lookup of the reads
-- of a page of events. NULL on events from before this (and their lookups read every month).
ALTER TABLE live_events ADD COLUMN detected_at timestamptz;
