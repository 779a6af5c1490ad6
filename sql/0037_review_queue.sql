-- The review queue (issue 20): reads taken from footage, and a camera's reads below its min_confidence,
-- wait for a person to confirm, correct or reject them before they alert; a list marked
-- alert_unreviewed alerts on them at once all the same.
--
-- The alert engine puts such a read here (in the transaction of its alert work) instead of alerting.
-- A review is a correction as any other (the read stays write-once): the correction's transaction takes
-- the read off the queue and, unless it was rejected, queues alert work for it again, which the engine
-- then matches by the plate as reviewed. No foreign key: retention may delete a read still waiting,
-- and the queue's listing joins the reads that are there.
ALTER TABLE watchlists ADD COLUMN alert_unreviewed boolean NOT NULL DEFAULT false;

CREATE TABLE pending_reviews (
  detection_id  bigint PRIMARY KEY,
  detected_at   timestamptz NOT NULL,
  reason        text NOT NULL CHECK (reason IN ('footage', 'low_confidence')),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_reviews_queue ON pending_reviews (created_at, detection_id);

CREATE FUNCTION corrections_end_review() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  waited_at timestamptz;
BEGIN
  DELETE FROM pending_reviews WHERE detection_id = NEW.detection_id RETURNING detected_at INTO waited_at;
  IF FOUND AND NEW.action <> 'reject' THEN
    INSERT INTO alert_work (detection_ids, detected_from, detected_to) VALUES (ARRAY[NEW.detection_id], waited_at, waited_at);
    PERFORM pg_notify('alert_work', '');
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER corrections_end_review AFTER INSERT ON corrections FOR EACH ROW EXECUTE FUNCTION corrections_end_review();
