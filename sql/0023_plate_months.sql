-- The months each distinct plate was read in, for partial and fuzzy search.
--
-- Those searches match the distinct plates (sql/0008) and then read each matching plate's newest
-- reads. In one table that was one index descent per plate; with the reads partitioned by month
-- (sql/0019) it became one per plate and month, whether the plate was read that month or not: a
-- pattern matching 300 mostly rare plates over 13 months probed some 3,900 indexes to find 51 reads.
-- With the months of each plate known, a search probes only months its plates were read in, newest
-- month first, and stops once it has its page.
--
-- A month is the UTC calendar month of a read's own time, as the partitions' (its first day as a
-- date). Kept like the plates: noted by every insert into detections, forgotten by retention once
-- the plate has no read of that month left (a plate and when it was seen are what retention removes).

CREATE TABLE plate_months (
  plate  text NOT NULL,
  month  date NOT NULL CHECK (extract(day FROM month) = 1),
  PRIMARY KEY (plate, month)
);

-- The month (its first day, UTC) of a read's time; and that month's first instant and the next's.
-- Plain SQL bodies, so that the planner inlines them (and a search's month bounds prune partitions).
CREATE FUNCTION read_month(at timestamptz) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT (date_trunc('month', at, 'UTC') AT TIME ZONE 'UTC')::date $$;
CREATE FUNCTION read_month_start(month date) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT month::timestamp AT TIME ZONE 'UTC' $$;
CREATE FUNCTION read_month_end(month date) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT (month + interval '1 month') AT TIME ZONE 'UTC' $$;

INSERT INTO plate_months (plate, month)
SELECT DISTINCT plate, read_month(detected_at) FROM detections ORDER BY 1, 2;
ANALYZE plate_months;

-- As before, sorted: two batches bringing the same new plates and months take their locks in the
-- same order and cannot deadlock.
CREATE OR REPLACE FUNCTION detections_note_plates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO plates (plate)
  SELECT DISTINCT plate FROM new_reads ORDER BY plate
  ON CONFLICT (plate) DO NOTHING;
  INSERT INTO plate_months (plate, month)
  SELECT DISTINCT plate, read_month(detected_at) FROM new_reads ORDER BY 1, 2
  ON CONFLICT (plate, month) DO NOTHING;
  RETURN NULL;
END
$$;

-- As in sql/0017, and a candidate's months without a read left go too. The lock on plates (which
-- every noting transaction takes first) holds back the noting of plates and months until this
-- commits, so a plate read again meanwhile is either seen here or noted again after.
CREATE OR REPLACE FUNCTION retention_prune_plates(max_plates integer) RETURNS TABLE (taken integer, pruned integer)
LANGUAGE plpgsql AS $$
BEGIN
  LOCK TABLE plates IN SHARE ROW EXCLUSIVE MODE;
  RETURN QUERY
  WITH picked AS (
    DELETE FROM retention_plate_candidates
     WHERE plate IN (SELECT c.plate FROM retention_plate_candidates c ORDER BY c.plate LIMIT max_plates)
    RETURNING plate
  ), months_gone AS (
    DELETE FROM plate_months pm USING picked t
     WHERE pm.plate = t.plate
       AND NOT EXISTS (SELECT FROM detections d
                        WHERE d.plate = pm.plate
                          AND d.detected_at >= read_month_start(pm.month) AND d.detected_at < read_month_end(pm.month))
    RETURNING 1
  ), gone AS (
    DELETE FROM plates p USING picked t
     WHERE p.plate = t.plate AND NOT EXISTS (SELECT FROM detections d WHERE d.plate = t.plate)
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM picked)::integer, (SELECT count(*) FROM gone)::integer;
END
$$;

DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION retention_prune_plates(integer) SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
END
$$;

-- A page of the newest reads of `plates`, after search's filters (NULL: none), and before the cursor
-- (before_at, before_id) when one is given: the plates' months newest first, each probed in its own
-- partition for that plate's newest reads, stopping once a month's probes fill the page; then the
-- reads themselves, newest first. PL/pgSQL keeps one generic plan per connection (runtime partition
-- pruning picks each probe's month), where the same statement sent by the server was planned again
-- at each search, against every month: 3 to 5 ms of planning, more than running it.
CREATE FUNCTION plate_reads_newest(
  plates text[], page integer, from_at timestamptz, to_at timestamptz, before_at timestamptz, before_id bigint,
  camera_ids uuid[], sites text[], directions text[], vehicle_types text[], vehicle_colors text[],
  min_confidence double precision
) RETURNS SETOF detections
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  RETURN QUERY
  SELECT d.* FROM (
    SELECT r.id, r.detected_at FROM (
      SELECT pm.plate, pm.month FROM plate_months pm
       WHERE pm.plate = ANY(plates)
         AND (from_at IS NULL OR pm.month >= read_month(from_at))
         AND (to_at IS NULL OR pm.month <= read_month(to_at))
         AND (before_at IS NULL OR pm.month <= read_month(before_at))
       ORDER BY pm.month DESC) pm
    CROSS JOIN LATERAL (
      SELECT d.id, d.detected_at FROM detections d
       WHERE d.plate = pm.plate
         AND d.detected_at >= read_month_start(pm.month) AND d.detected_at < read_month_end(pm.month)
         AND (from_at IS NULL OR d.detected_at >= from_at)
         AND (to_at IS NULL OR d.detected_at < to_at)
         AND (before_at IS NULL OR (d.detected_at, d.id) < (before_at, before_id))
         AND (camera_ids IS NULL OR d.camera_id = ANY(camera_ids))
         AND (sites IS NULL OR d.camera_id IN (SELECT s.id FROM cameras s WHERE s.site = ANY(sites)))
         -- Case-blind lists: cameras write "IN", "in" and "In" alike (the caller lower-cases its own).
         AND (directions IS NULL OR lower(d.direction) = ANY(directions))
         AND (vehicle_types IS NULL OR lower(d.vehicle_type) = ANY(vehicle_types))
         AND (vehicle_colors IS NULL OR lower(d.vehicle_color) = ANY(vehicle_colors))
         AND (min_confidence IS NULL OR d.confidence >= min_confidence)
       ORDER BY d.detected_at DESC, d.id DESC
       LIMIT page) r
     ORDER BY pm.month DESC, r.detected_at DESC, r.id DESC
     LIMIT page) top
  -- The rows by id and time: each looked for in its own month only.
  JOIN detections d ON d.id = top.id AND d.detected_at = top.detected_at
  ORDER BY d.detected_at DESC, d.id DESC;
END
$$;
