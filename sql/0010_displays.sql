-- Wall displays: a screen in the control room, paired once with a short code an admin makes, then
-- signed in for weeks as its own viewer-level account with nobody at its keyboard. The account has
-- no password and no TOTP, so nobody can sign in with it; only pairing opens a session for it, and
-- revoking the display disables the account and ends that session.

ALTER TABLE users ADD COLUMN display boolean NOT NULL DEFAULT false;
-- A display can never be more than a viewer, whatever changes it.
ALTER TABLE users ADD CONSTRAINT users_display_is_viewer
  CHECK (NOT display OR (role = 'viewer' AND password_hash IS NULL AND totp_secret IS NULL));

CREATE TABLE displays (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- Names are not reused, revoked or not, so the audit log's "display:<name>" means one screen.
  name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  user_id            uuid NOT NULL UNIQUE REFERENCES users (id),
  created_by         uuid REFERENCES users (id),
  created_at         timestamptz NOT NULL DEFAULT now(),
  -- The open pairing code (SHA-256 of its canonical form), single use, until code_expires_at.
  code_hash          text UNIQUE,
  code_expires_at    timestamptz,
  paired_at          timestamptz,
  revoked_at         timestamptz,
  CHECK ((code_hash IS NULL) = (code_expires_at IS NULL)),
  CHECK (revoked_at IS NULL OR code_hash IS NULL)
);
CREATE UNIQUE INDEX displays_name_lower ON displays (lower(name));
