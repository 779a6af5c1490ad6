-- Footage uploads over HTTP, resumable (issue 20): an upload is started with its facts and size, and
-- its bytes arrive in chunks, each kept in the object store (so any server may take the next one) and
-- recorded here in the transaction that moves the upload's offset on. The last chunk assembles the
-- file, stores it as footage and queues its job; the chunks' objects are then removed.
CREATE TABLE footage_uploads (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id         uuid NOT NULL REFERENCES users (id),
  facts           jsonb NOT NULL CHECK (jsonb_typeof(facts) = 'object'),
  file_name       text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
  size_bytes      bigint NOT NULL CHECK (size_bytes > 0),
  received_bytes  bigint NOT NULL DEFAULT 0,
  footage_id      uuid REFERENCES footage (id),
  job_id          uuid REFERENCES jobs (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL DEFAULT now() + interval '24 hours',
  CHECK (received_bytes BETWEEN 0 AND size_bytes)
);
CREATE INDEX footage_uploads_expires ON footage_uploads (expires_at) WHERE footage_id IS NULL;

CREATE TABLE footage_upload_chunks (
  upload_id   uuid NOT NULL REFERENCES footage_uploads (id) ON DELETE CASCADE,
  "offset"    bigint NOT NULL CHECK ("offset" >= 0),
  size_bytes  integer NOT NULL CHECK (size_bytes > 0),
  object_key  text NOT NULL UNIQUE,
  PRIMARY KEY (upload_id, "offset")
);
