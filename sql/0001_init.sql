-- Chaverim ALPR: the evidence path (collectors, cameras, detections, images) and the minimum of
-- people needed to serve images to signed-in users. Later migrations extend; none rewrites this one.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Raised by every write that would change evidence after the fact.
CREATE FUNCTION alpr_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is immutable evidence: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TABLE collectors (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'disabled')),
  hardware_id     text,
  hostname        text,
  edge_version    text,
  config_version  text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  claimed_at      timestamptz,
  last_seen_at    timestamptz,
  last_address    text,
  uptime_seconds  bigint,
  queue_depth     integer,
  cameras_online  integer
);

-- Claim codes are kept only as SHA-256 of their canonical form.
CREATE TABLE claim_codes (
  code_hash     text PRIMARY KEY,
  collector_id  uuid NOT NULL REFERENCES collectors (id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  used_at       timestamptz,
  used_by       text
);
CREATE INDEX claim_codes_collector ON claim_codes (collector_id);

-- API keys are kept only as SHA-256; the prefix is shown to support staff to tell keys apart.
CREATE TABLE api_keys (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  collector_id  uuid NOT NULL REFERENCES collectors (id),
  prefix        text NOT NULL,
  key_hash      text NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  first_used_at timestamptz,
  revoked_at    timestamptz,
  -- set on the key a rotation replaces: revoked as soon as the new key is first used
  replaced_by   uuid REFERENCES api_keys (id)
);
CREATE INDEX api_keys_collector ON api_keys (collector_id);

CREATE TABLE cameras (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  collector_id  uuid NOT NULL REFERENCES collectors (id),
  external_id   text NOT NULL,
  mac           text NOT NULL,
  name          text,
  site          text,
  lat           double precision CHECK (lat BETWEEN -90 AND 90),
  lon           double precision CHECK (lon BETWEEN -180 AND 180),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (collector_id, external_id)
);

CREATE TABLE detections (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  collector_id    uuid NOT NULL REFERENCES collectors (id),
  detection_id    text NOT NULL,
  camera_id       uuid NOT NULL REFERENCES cameras (id),
  detected_at     timestamptz NOT NULL,
  received_at     timestamptz NOT NULL DEFAULT now(),
  plate_text      text NOT NULL,
  plate           text NOT NULL CHECK (plate <> ''),
  plate_ocr       text NOT NULL CHECK (plate_ocr <> ''),
  confidence      real NOT NULL CHECK (confidence BETWEEN 0 AND 1),
  direction       text,
  vehicle_type    text,
  vehicle_color   text,
  vehicle_make    text,
  lat             double precision,
  lon             double precision,
  -- the first read of a run: same plate, same camera, each read within 30 s of the one before
  duplicate_of    bigint REFERENCES detections (id),
  -- the event exactly as the collector sent it
  raw             jsonb NOT NULL,
  UNIQUE (collector_id, detection_id)
);
CREATE INDEX detections_plate ON detections (plate, detected_at DESC);
CREATE INDEX detections_plate_ocr ON detections (plate_ocr, detected_at DESC);
CREATE INDEX detections_camera_time ON detections (camera_id, detected_at DESC);
CREATE INDEX detections_time ON detections USING brin (detected_at) WITH (pages_per_range = 32);
CREATE INDEX detections_received ON detections (received_at);

-- Links a read to the first read of its run. Row-level BEFORE triggers see rows inserted earlier
-- by the same statement, so a batch sorted by time links within itself too.
CREATE FUNCTION detections_link_duplicate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.duplicate_of IS NULL THEN
    SELECT coalesce(d.duplicate_of, d.id) INTO NEW.duplicate_of
      FROM detections d
     WHERE d.plate = NEW.plate
       AND d.camera_id = NEW.camera_id
       AND d.detected_at BETWEEN NEW.detected_at - interval '30 seconds' AND NEW.detected_at
     ORDER BY d.detected_at DESC, d.id DESC
     LIMIT 1;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER detections_link_duplicate BEFORE INSERT ON detections
  FOR EACH ROW EXECUTE FUNCTION detections_link_duplicate();
CREATE TRIGGER detections_worm BEFORE UPDATE OR DELETE ON detections
  FOR EACH ROW EXECUTE FUNCTION alpr_refuse_change();
CREATE TRIGGER detections_worm_truncate BEFORE TRUNCATE ON detections
  FOR EACH STATEMENT EXECUTE FUNCTION alpr_refuse_change();

CREATE TABLE detection_images (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  detection_id  bigint NOT NULL REFERENCES detections (id),
  kind          text NOT NULL CHECK (kind IN ('plate', 'scene')),
  object_key    text NOT NULL UNIQUE,
  content_type  text NOT NULL,
  size_bytes    integer NOT NULL CHECK (size_bytes >= 0),
  sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (detection_id, kind)
);
CREATE TRIGGER detection_images_worm BEFORE UPDATE OR DELETE ON detection_images
  FOR EACH ROW EXECUTE FUNCTION alpr_refuse_change();
CREATE TRIGGER detection_images_worm_truncate BEFORE TRUNCATE ON detection_images
  FOR EACH STATEMENT EXECUTE FUNCTION alpr_refuse_change();

CREATE TABLE collector_commands (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  collector_id    uuid NOT NULL REFERENCES collectors (id),
  cmd             text NOT NULL CHECK (cmd IN ('config_update', 'update_cameras', 'reboot', 'rotate_key')),
  payload         jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  created_by      text,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
  delivered_at    timestamptz,
  delivery_count  integer NOT NULL DEFAULT 0,
  acked_at        timestamptz,
  message         text
);
CREATE INDEX collector_commands_pending ON collector_commands (collector_id, created_at) WHERE status = 'pending';

-- People: just enough to check a session; accounts, TOTP and roles management build on this.
CREATE TABLE users (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  username       text NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
  role           text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
  password_hash  text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  disabled_at    timestamptz
);

CREATE TABLE sessions (
  token_hash  text PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users (id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  revoked_at  timestamptz,
  address     text
);
CREATE INDEX sessions_user ON sessions (user_id);
