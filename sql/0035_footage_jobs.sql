-- Footage in (issue 20): a durable job queue, the footage people upload as evidence, and the collector
-- its reads are stored under.

-- The job queue. Any server (and the CLI) claims a due job with FOR UPDATE SKIP LOCKED and holds it
-- with a lease it renews while it works; a worker that dies leaves its lease to run out, and the next
-- claim takes the job again (its attempts counted) or, at its last attempt, fails it. Cancelling a
-- queued job ends it at once; a running one is told at its next renewal.
CREATE TABLE jobs (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind             text NOT NULL CHECK (kind ~ '^[a-z][a-z_]{0,39}$'),
  payload          jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
  status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  progress         real NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
  progress_note    text CHECK (length(progress_note) <= 500),
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts     integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 20),
  run_after        timestamptz NOT NULL DEFAULT now(),
  lease_until      timestamptz,
  worker           text,
  cancel_requested boolean NOT NULL DEFAULT false,
  result           jsonb,
  error            text,
  created_by       uuid REFERENCES users (id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  CHECK ((status IN ('done', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
  CHECK (status <> 'running' OR lease_until IS NOT NULL)
);
-- What a claim looks for: queued jobs that are due, and running ones whose lease ran out.
CREATE INDEX jobs_open ON jobs (kind, run_after) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC);

CREATE FUNCTION jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('jobs', NEW.kind);
  RETURN NULL;
END
$$;
CREATE TRIGGER jobs_queued AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_notify();

-- Reads taken from footage are stored under a collector of their own kind: the health monitor and
-- the fleet's screens are about the sites' collectors, and this one is never claimed and never beats.
ALTER TABLE collectors ADD COLUMN kind text NOT NULL DEFAULT 'site' CHECK (kind IN ('site', 'footage'));
INSERT INTO collectors (id, name, status, kind)
VALUES ('00000000-0000-4000-8000-00000000f007', 'Footage uploads', 'active', 'footage');

-- The original file of footage: evidence, written once. Its reads (detections whose source names it)
-- carry its id; its uploader and reason are in the audit log too.
CREATE TABLE footage (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes     bigint NOT NULL CHECK (size_bytes > 0),
  media          text NOT NULL CHECK (media IN ('photo', 'video')),
  content_type   text NOT NULL CHECK (length(content_type) <= 100),
  file_name      text CHECK (length(file_name) <= 255),
  object_key     text NOT NULL UNIQUE,
  camera_id      uuid NOT NULL REFERENCES cameras (id),
  -- when the footage starts: a read's time is this plus its frame's offset
  starts_at      timestamptz NOT NULL,
  -- where that time came from: the container's metadata, the uploader, or the file's own time
  starts_from    text NOT NULL CHECK (starts_from IN ('container', 'uploader', 'file')),
  duration_s     double precision CHECK (duration_s >= 0),
  reason         text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
  uploaded_by    uuid REFERENCES users (id),
  uploaded_via   text NOT NULL CHECK (uploaded_via IN ('web', 'api', 'cli')),
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX footage_created ON footage (created_at DESC);
CREATE INDEX footage_sha256 ON footage (sha256);
CREATE TRIGGER footage_worm BEFORE UPDATE OR DELETE ON footage FOR EACH ROW EXECUTE FUNCTION alpr_refuse_change();
CREATE TRIGGER footage_worm_truncate BEFORE TRUNCATE ON footage FOR EACH STATEMENT EXECUTE FUNCTION alpr_refuse_change();
