-- E-mail (issue 17): alerts to a person's address, batched per person (packages/server/src/email/).

-- A person's own address, set by them. The server checks its form (the domain's EmailAddress); the
-- database holds the gist of it, so no row can carry a header injection (no spaces, no line breaks).
ALTER TABLE users ADD COLUMN email text
  CHECK (email IS NULL OR (length(email) <= 254 AND email ~ '^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$'));

-- What a person gets by e-mail: a list, or a whole category, as Telegram's subscriptions (sql/0009).
-- Who may see the list is checked when the delivery is owed and again when it is sent.
CREATE TABLE email_subscriptions (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id       uuid NOT NULL REFERENCES users (id),
  watchlist_id  uuid REFERENCES watchlists (id),
  category      text CHECK (category IN ('stolen', 'bolo', 'missing_person', 'of_interest', 'allow')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK ((watchlist_id IS NULL) <> (category IS NULL))
);
CREATE UNIQUE INDEX email_subscriptions_one ON email_subscriptions (user_id, coalesce(watchlist_id::text, category));

-- The SMTP settings admins keep in the panel: one row. A setting given in the environment (SMTP_URL,
-- SMTP_USERNAME, SMTP_PASSWORD, SMTP_FROM, EMAIL_BATCH_SECONDS) overrides its column here. The password
-- must be kept to be used; it is never returned to a client nor written to the audit log.
CREATE TABLE email_settings (
  id             boolean PRIMARY KEY DEFAULT true CHECK (id),
  -- without credentials in it (they go in the two columns below)
  smtp_url       text CHECK (smtp_url IS NULL OR (smtp_url ~ '^smtps?://[^\s/@]+(:\d+)?/?$' AND length(smtp_url) <= 500)),
  smtp_username  text CHECK (smtp_username IS NULL OR length(smtp_username) BETWEEN 1 AND 200),
  smtp_password  text CHECK (smtp_password IS NULL OR length(smtp_password) BETWEEN 1 AND 500),
  smtp_from      text CHECK (smtp_from IS NULL OR (length(smtp_from) <= 300 AND smtp_from !~ '[\r\n]')),
  batch_seconds  integer CHECK (batch_seconds IS NULL OR batch_seconds BETWEEN 0 AND 3600),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  updated_by     uuid REFERENCES users (id)
);
INSERT INTO email_settings (id) VALUES (true);

-- One e-mail delivery per raised alert and subscribed person (output_deliveries, sql/0024; target: the user's id).
INSERT INTO outbound_channels (name, events) VALUES ('email', ARRAY['alert_raised']);
