-- Human in the loop: an operator confirms, corrects (with the plate as it really is) or rejects a
-- read. The detection itself never changes (WORM); corrections are their own append-only history,
-- the newest one of a detection in force. Search finds a read by its corrected plate too.
CREATE TABLE corrections (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  detection_id  bigint NOT NULL REFERENCES detections (id),
  action        text NOT NULL CHECK (action IN ('confirm', 'correct', 'reject')),
  -- for 'correct': the plate as typed, normalised, and its OCR key
  plate_text    text,
  plate         text,
  plate_ocr     text,
  note          text CHECK (length(note) <= 500),
  user_id       uuid NOT NULL REFERENCES users (id),
  username      text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK ((action = 'correct') = (plate IS NOT NULL AND plate <> '' AND plate_ocr IS NOT NULL AND plate_text IS NOT NULL))
);
CREATE INDEX corrections_detection ON corrections (detection_id, id DESC);
CREATE INDEX corrections_plate ON corrections (plate) WHERE action = 'correct';
CREATE INDEX corrections_plate_ocr ON corrections (plate_ocr) WHERE action = 'correct';
CREATE INDEX corrections_created ON corrections (created_at);

CREATE FUNCTION corrections_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'corrections are append-only: % refused (add a newer correction instead)', TG_OP;
END $$;
CREATE TRIGGER corrections_no_change BEFORE UPDATE OR DELETE ON corrections
  FOR EACH ROW EXECUTE FUNCTION corrections_append_only();
CREATE TRIGGER corrections_no_truncate BEFORE TRUNCATE ON corrections
  FOR EACH STATEMENT EXECUTE FUNCTION corrections_append_only();
