-- Reads partitioned by month of their own time (issue 16, section 2), so that expiring metadata drops
-- a whole month's partition instead of deleting it row by row.
--
-- What changes with it:
--   - A unique key of a partitioned table must hold its partition key: the primary key is
--     (id, detected_at) and a read's identity for its collector is (collector_id, detection_id,
--     detected_at). A collector re-sends an event exactly as it buffered it, so a retry is still a
--     duplicate; two different events under one detection_id (a camera whose counter restarted) are
--     now both kept, where the second used to be dropped as a "duplicate".
--   - ids come from a sequence the serving role may use but not bypass: it may insert every column but
--     `id` (db/ServingRole.ts), so ids stay unique across partitions.
--   - Foreign keys to the reads become triggers that check the read and lock it against deletion
--     (FOR KEY SHARE), as a foreign key's check does. A foreign key into a partitioned table would
--     make dropping a month check every referencing row under the parent's exclusive lock, halting
--     ingest meanwhile. detection_images carries its read's time, so its check reads one partition;
--     corrections and alerts (few rows, written one at a time) look the read up in every month.
--     duplicate_of (written by ingest alone, from the reads it looked up) is no longer checked.
--   - Months get their partition ahead of time (detections_ensure_months: at every migration, by
--     ingest for a batch's months, by the retention job). A read for a month without one (only an
--     insert that did not ask first) lands in detections_default; a month with reads there keeps
--     them there, and that month never gets a partition of its own.
--   - Statement triggers do not pass from a partitioned table to its partitions: each partition gets
--     the write-once triggers of its own when it is made.

-- ---------------------------------------------------------------------------------------------------
-- The references that cannot stay foreign keys.

ALTER TABLE corrections DROP CONSTRAINT corrections_detection_id_fkey;
ALTER TABLE alerts DROP CONSTRAINT alerts_detection_id_fkey, DROP CONSTRAINT alerts_last_detection_id_fkey;
ALTER TABLE alert_sightings DROP CONSTRAINT alert_sightings_detection_id_fkey;
ALTER TABLE detection_images DROP CONSTRAINT detection_images_detection_id_fkey;

-- The reads named by the columns in TG_ARGV exist, and stay until this transaction ends (FOR KEY
-- SHARE, as a foreign key's check takes): retention cannot delete a read an alert is being written for.
CREATE FUNCTION alpr_reads_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  col text;
  read_id bigint;
BEGIN
  FOREACH col IN ARRAY TG_ARGV LOOP
    read_id := (to_jsonb(NEW) ->> col)::bigint;
    CONTINUE WHEN read_id IS NULL;
    PERFORM FROM detections WHERE id = read_id FOR KEY SHARE;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'insert or update on table "%" violates its reference to detections: read % does not exist', TG_TABLE_NAME, read_id
        USING ERRCODE = 'foreign_key_violation';
    END IF;
  END LOOP;
  RETURN NULL;
END
$$;

-- ---------------------------------------------------------------------------------------------------
-- The partitioned table, under the old one's name; the old one's rows move in below.

ALTER TABLE detections RENAME TO detections_unpartitioned;
ALTER INDEX detections_pkey RENAME TO detections_unpartitioned_pkey;
ALTER INDEX detections_collector_id_detection_id_key RENAME TO detections_unpartitioned_read_key;
ALTER INDEX detections_plate_time RENAME TO detections_unpartitioned_plate_time;
ALTER INDEX detections_plate_ocr RENAME TO detections_unpartitioned_plate_ocr;
ALTER INDEX detections_camera_time RENAME TO detections_unpartitioned_camera_time;
ALTER INDEX detections_time RENAME TO detections_unpartitioned_time;
ALTER INDEX detections_received RENAME TO detections_unpartitioned_received;
ALTER INDEX detections_duplicate_of RENAME TO detections_unpartitioned_duplicate_of;

CREATE SEQUENCE detections_read_id AS bigint;
SELECT setval('detections_read_id', coalesce((SELECT max(id) FROM detections_unpartitioned), 0) + 1, false);

CREATE TABLE detections (
  id              bigint NOT NULL DEFAULT nextval('detections_read_id'),
  collector_id    uuid NOT NULL,
  detection_id    text NOT NULL,
  camera_id       uuid NOT NULL,
  detected_at     timestamptz NOT NULL,
  received_at     timestamptz NOT NULL DEFAULT now(),
  plate_text      text NOT NULL,
  plate           text NOT NULL CONSTRAINT detections_plate_check CHECK (plate <> ''),
  plate_ocr       text NOT NULL CONSTRAINT detections_plate_ocr_check CHECK (plate_ocr <> ''),
  confidence      real NOT NULL CONSTRAINT detections_confidence_check CHECK (confidence BETWEEN 0 AND 1),
  direction       text,
  vehicle_type    text,
  vehicle_color   text,
  vehicle_make    text,
  lat             double precision,
  lon             double precision,
  -- the first read of a run: same plate, same camera, each read within 30 s of the one before
  duplicate_of    bigint,
  -- the event exactly as the collector sent it
  raw             jsonb NOT NULL,
  CONSTRAINT detections_pkey PRIMARY KEY (id, detected_at),
  CONSTRAINT detections_read_key UNIQUE (collector_id, detection_id, detected_at),
  CONSTRAINT detections_camera_fkey FOREIGN KEY (collector_id, camera_id) REFERENCES cameras (collector_id, id)
) PARTITION BY RANGE (detected_at);
ALTER SEQUENCE detections_read_id OWNED BY detections.id;

CREATE TABLE detections_default PARTITION OF detections DEFAULT;

-- The write-once triggers a partition needs of its own (the row trigger refusing UPDATE is cloned
-- from the parent; statement triggers are not).
CREATE FUNCTION detections_guard_partition(partition_name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TRIGGER detections_worm_delete BEFORE DELETE ON %I FOR EACH STATEMENT EXECUTE FUNCTION alpr_evidence_delete()', partition_name);
  EXECUTE format('CREATE TRIGGER detections_worm_truncate BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION alpr_refuse_change()', partition_name);
END
$$;
SELECT detections_guard_partition('detections_default');

-- The partition that holds `at`'s month (UTC), named detections_YYYY_MM.
CREATE FUNCTION detections_partition_name(at timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT 'detections_' || to_char(date_trunc('month', at, 'UTC') AT TIME ZONE 'UTC', 'YYYY_MM')
$$;

-- Makes the partitions of the months of `ats` that have none; returns how many it made. A month with
-- reads in detections_default keeps them there (a partition for it would have to move evidence). The
-- new table is attached rather than created as a partition, which takes a lighter lock on the parent:
-- ingest goes on meanwhile.
CREATE FUNCTION detections_ensure_months(ats timestamptz[]) RETURNS integer LANGUAGE plpgsql AS $$
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

-- The existing reads' months, and this month and the next two.
SELECT detections_ensure_months(ARRAY(
  SELECT DISTINCT date_trunc('month', detected_at, 'UTC') FROM detections_unpartitioned
  UNION SELECT now() UNION SELECT now() + interval '1 month' UNION SELECT now() + interval '2 months'));

-- The rows move before the indexes and triggers exist (faster, and moving a read is not reading it:
-- no alert work, no plates to note).
INSERT INTO detections (id, collector_id, detection_id, camera_id, detected_at, received_at, plate_text, plate,
                        plate_ocr, confidence, direction, vehicle_type, vehicle_color, vehicle_make, lat, lon,
                        duplicate_of, raw)
SELECT id, collector_id, detection_id, camera_id, detected_at, received_at, plate_text, plate,
       plate_ocr, confidence, direction, vehicle_type, vehicle_color, vehicle_make, lat, lon,
       duplicate_of, raw
  FROM detections_unpartitioned
 ORDER BY detected_at, id;

-- The old table goes; its triggers refuse a DELETE or TRUNCATE, not a DROP.
DROP TABLE detections_unpartitioned;

CREATE INDEX detections_plate_time ON detections (plate, detected_at DESC, id DESC) INCLUDE (camera_id);
CREATE INDEX detections_plate_ocr ON detections (plate_ocr, detected_at DESC);
CREATE INDEX detections_camera_time ON detections (camera_id, detected_at DESC);
CREATE INDEX detections_time ON detections USING brin (detected_at) WITH (pages_per_range = 32);
CREATE INDEX detections_received ON detections USING brin (received_at) WITH (pages_per_range = 32);
CREATE INDEX detections_duplicate_of ON detections (duplicate_of) WHERE duplicate_of IS NOT NULL;

CREATE TRIGGER detections_note_plates AFTER INSERT ON detections
  REFERENCING NEW TABLE AS new_reads
  FOR EACH STATEMENT EXECUTE FUNCTION detections_note_plates();
CREATE TRIGGER detections_queue_alert_work AFTER INSERT ON detections
  REFERENCING NEW TABLE AS new_reads
  FOR EACH STATEMENT EXECUTE FUNCTION detections_queue_alert_work();
CREATE TRIGGER detections_worm BEFORE UPDATE ON detections
  FOR EACH ROW EXECUTE FUNCTION alpr_refuse_change();
CREATE TRIGGER detections_worm_delete BEFORE DELETE ON detections
  FOR EACH STATEMENT EXECUTE FUNCTION alpr_evidence_delete();
CREATE TRIGGER detections_worm_truncate BEFORE TRUNCATE ON detections
  FOR EACH STATEMENT EXECUTE FUNCTION alpr_refuse_change();

-- ---------------------------------------------------------------------------------------------------
-- The references again.

ALTER TABLE detection_images ADD COLUMN detected_at timestamptz;
-- detection_images refuses UPDATE row by row: the trigger stands aside for this one fill.
ALTER TABLE detection_images DISABLE TRIGGER detection_images_worm;
UPDATE detection_images i SET detected_at = d.detected_at FROM detections d WHERE d.id = i.detection_id;
ALTER TABLE detection_images ENABLE TRIGGER detection_images_worm;
ALTER TABLE detection_images ALTER COLUMN detected_at SET NOT NULL;
-- Photos arrive in about the order of their reads' times: a month's are found cheaply when it goes.
CREATE INDEX detection_images_time ON detection_images USING brin (detected_at) WITH (pages_per_range = 32);

CREATE FUNCTION detection_images_read_exists() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM FROM detections WHERE id = NEW.detection_id AND detected_at = NEW.detected_at FOR KEY SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'insert on table "detection_images" violates its reference to detections: read % at % does not exist',
      NEW.detection_id, NEW.detected_at
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER detection_images_read_exists AFTER INSERT ON detection_images
  FOR EACH ROW EXECUTE FUNCTION detection_images_read_exists();

CREATE TRIGGER corrections_read_exists AFTER INSERT ON corrections
  FOR EACH ROW EXECUTE FUNCTION alpr_reads_exist('detection_id');
CREATE TRIGGER alerts_reads_exist AFTER INSERT OR UPDATE OF detection_id, last_detection_id ON alerts
  FOR EACH ROW EXECUTE FUNCTION alpr_reads_exist('detection_id', 'last_detection_id');
CREATE TRIGGER alert_sightings_read_exists AFTER INSERT OR UPDATE OF detection_id ON alert_sightings
  FOR EACH ROW EXECUTE FUNCTION alpr_reads_exist('detection_id');

-- ---------------------------------------------------------------------------------------------------
-- Owner's functions, as in 0017: fixed search path; ensure_months callable by the serving role
-- (granted by name in db/ServingRole.ts).
DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION detections_ensure_months(timestamptz[]) SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
  EXECUTE format('ALTER FUNCTION detections_guard_partition(text) SET search_path = %I, pg_temp', current_schema());
  -- The checks lock the read (FOR KEY SHARE), which takes UPDATE on the table: as a foreign key's
  -- check does, they run as the owner. The serving role has no UPDATE on reads.
  EXECUTE format('ALTER FUNCTION alpr_reads_exist() SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
  EXECUTE format('ALTER FUNCTION detection_images_read_exists() SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
END
$$;
REVOKE EXECUTE ON FUNCTION detections_ensure_months(timestamptz[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION detections_guard_partition(text) FROM PUBLIC;
