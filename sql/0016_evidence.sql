-- Case exports a recipient can verify offline (packages/server/src/evidence/).

-- The installation's Ed25519 evidence key, as its 32-byte seed: made here once, so that every replica
-- signs with the same key and the key outlives restarts and upgrades; agencies pin its public key
-- (GET /api/v1/evidence/key). SHA-256 of three gen_random_uuid() (366 random bits from the strong
-- random source) gives 32 uniform bytes without pgcrypto. The serving role may read it, never replace
-- it (server_secrets is read-only to it, db/ServingRole.ts). Replacing it by hand means every
-- recipient must pin the new key; bundles signed before still verify against the old one.
INSERT INTO server_secrets (name, secret)
VALUES ('evidence_signing', sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')));

-- Every bundle handed out: who, when, why, what, and the SHA-256 of the zip as it left, so that a
-- bundle shown later can be matched to its record. Written before the bundle is sent, in the
-- transaction of its evidence.export audit row. Append-only, as the audit log is: the serving role
-- may not change or remove rows (db/ServingRole.ts), and this trigger stops everyone else.
CREATE TABLE evidence_exports (
  id                   uuid PRIMARY KEY,
  created_at           timestamptz NOT NULL DEFAULT now(),
  -- NULL: made with the command line (`alpr evidence export`)
  user_id              uuid REFERENCES users (id),
  username             text,
  via                  text NOT NULL CHECK (via IN ('http', 'cli')),
  case_number          text NOT NULL CHECK (length(case_number) BETWEEN 1 AND 64),
  reason_code          text NOT NULL REFERENCES reason_codes (code),
  reason               text CHECK (length(reason) <= 500),
  -- what was asked for: {kind: plate|detections|camera, ...}
  selection            jsonb NOT NULL CHECK (jsonb_typeof(selection) = 'object'),
  detections           integer NOT NULL CHECK (detections > 0),
  images               integer NOT NULL CHECK (images >= 0),
  images_not_matching  integer NOT NULL CHECK (images_not_matching >= 0),
  bytes                bigint NOT NULL CHECK (bytes > 0),
  sha256               text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  key_fingerprint      text NOT NULL CHECK (key_fingerprint ~ '^[0-9a-f]{64}$'),
  CHECK ((via = 'http') = (user_id IS NOT NULL))
);
CREATE INDEX evidence_exports_created ON evidence_exports (created_at DESC, id DESC);
CREATE INDEX evidence_exports_user ON evidence_exports (user_id);

CREATE TRIGGER evidence_exports_worm BEFORE UPDATE OR DELETE ON evidence_exports
  FOR EACH ROW EXECUTE FUNCTION alpr_refuse_change();
CREATE TRIGGER evidence_exports_worm_truncate BEFORE TRUNCATE ON evidence_exports
  FOR EACH STATEMENT EXECUTE FUNCTION alpr_refuse_change();
