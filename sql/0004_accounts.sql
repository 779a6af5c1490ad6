-- People: one-time passwords changed at first sign-in, mandatory TOTP with single-use codes and
-- recovery codes, sign-in in two steps (password, then TOTP), sessions with a CSRF token, and the
-- counters that slow down and lock out guessing.

ALTER TABLE users
  ADD COLUMN must_change_password boolean NOT NULL DEFAULT true,
  ADD COLUMN password_changed_at  timestamptz,
  -- Base32 TOTP secret; NULL until the user has enrolled (or after an admin reset).
  ADD COLUMN totp_secret          text,
  ADD COLUMN totp_enrolled_at     timestamptz,
  -- The newest 30-second time step a code was accepted for: a code is good once.
  ADD COLUMN totp_last_step       bigint,
  ADD COLUMN updated_at           timestamptz NOT NULL DEFAULT now();

-- Case does not make a second account: "Alice" and "alice" are one person.
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));

-- Ten per enrolment, each good once; only their SHA-256 is kept (80 random bits each).
CREATE TABLE recovery_codes (
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash  text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  used_at    timestamptz,
  PRIMARY KEY (user_id, code_hash)
);

-- Between a correct password and a correct TOTP code: the short-lived pre-auth cookie's row.
-- stage 'enroll' carries the candidate TOTP secret until the first code proves the user holds it.
CREATE TABLE pending_logins (
  token_hash              text PRIMARY KEY,
  user_id                 uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  stage                   text NOT NULL CHECK (stage IN ('totp', 'enroll')),
  totp_secret             text,
  password_change_required boolean NOT NULL,
  attempts                integer NOT NULL DEFAULT 0,
  address                 text,
  created_at              timestamptz NOT NULL DEFAULT now(),
  expires_at              timestamptz NOT NULL,
  CHECK (stage <> 'enroll' OR totp_secret IS NOT NULL)
);
CREATE INDEX pending_logins_user ON pending_logins (user_id);

-- Failed sign-ins per key: 'user:<lower(username)>' (whether or not the account exists, so the
-- answers cannot tell) and 'addr:<client address>'.
CREATE TABLE auth_throttle (
  key           text PRIMARY KEY,
  failures      integer NOT NULL,
  window_start  timestamptz NOT NULL,
  locked_until  timestamptz
);

ALTER TABLE sessions
  ADD COLUMN csrf_token   text,
  ADD COLUMN user_agent   text,
  ADD COLUMN last_seen_at timestamptz;
