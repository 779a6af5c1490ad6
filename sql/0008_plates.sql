-- The distinct plates ever read, for partial and fuzzy search. A year of reads holds about one
-- distinct plate per eight reads, so matching patterns against the plates and then fetching the
-- newest reads of the matches is far cheaper than matching every read.
CREATE TABLE plates (
  plate text PRIMARY KEY CHECK (plate <> '')
);

-- The two-character pieces of a plate. A trigram index has no key for a pattern such as `K3*9`
-- (no literal run of three), so without these the whole index is read.
CREATE FUNCTION plate_pairs(plate text) RETURNS text[]
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN ARRAY(SELECT DISTINCT substr(plate, i, 2) FROM generate_series(1, length(plate) - 1) AS i ORDER BY 1);

CREATE INDEX plates_trgm ON plates USING gin (plate gin_trgm_ops);
CREATE INDEX plates_pairs ON plates USING gin (plate_pairs(plate));

-- Kept by every insert into detections, whatever inserts (ingest, imports, restores). Sorted, so two
-- batches bringing the same new plates take their locks in the same order and cannot deadlock.
CREATE FUNCTION detections_note_plates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO plates (plate)
  SELECT DISTINCT plate FROM new_reads ORDER BY plate
  ON CONFLICT (plate) DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER detections_note_plates AFTER INSERT ON detections
  REFERENCING NEW TABLE AS new_reads
  FOR EACH STATEMENT EXECUTE FUNCTION detections_note_plates();

INSERT INTO plates (plate) SELECT DISTINCT plate FROM detections ORDER BY plate;

-- Partial and fuzzy search now match the plates table; the trigram index over every read only
-- cost ingest a GIN insert per read.
DROP INDEX detections_plate_trgm;

-- A plate's reads newest first, with what the timeline counts (camera and time) in the index itself:
-- counts, gaps and per-camera figures are read without visiting the table, and pages of reads
-- continue exactly from (detected_at, id).
CREATE INDEX detections_plate_time ON detections (plate, detected_at DESC, id DESC) INCLUDE (camera_id);
DROP INDEX detections_plate;
