-- Outbound channels beyond Telegram (issue 17): webhooks now, MQTT and e-mail in their own migrations.
-- They share one table of deliveries: each channel's consumer of the outbox owes rows here in the
-- transaction that takes its outbox events, and the channel's sender claims due rows (a lease, SKIP
-- LOCKED), records the outcome and retries with the times kept in the row, so that nothing owed is
-- lost across a stop and nothing is owed twice (one row per outbox event and target).

CREATE TABLE output_deliveries (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  channel          text NOT NULL REFERENCES outbound_channels (name),
  -- whom the channel delivers to: a webhook's id, a person's id, 'broker'
  target           text NOT NULL CHECK (length(target) BETWEEN 1 AND 100),
  -- A delivery goes with its alert: retention's purge deletes alerts (sql/0020) and the deliveries
  -- follow without the purge having to name every channel's table.
  alert_id         bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  event            text NOT NULL CHECK (event IN ('alert_raised', 'alert_updated', 'alert_acknowledged',
                                                  'alert_en_route', 'alert_resolved')),
  -- the outbox row it was owed for (gone from the outbox since): at most one delivery per event and target
  outbox_id        bigint NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz,
  UNIQUE (channel, target, outbox_id)
);
CREATE INDEX output_deliveries_due ON output_deliveries (channel, next_attempt_at) WHERE status = 'pending';
CREATE INDEX output_deliveries_alert ON output_deliveries (alert_id);
CREATE INDEX output_deliveries_status ON output_deliveries (status, id);

-- Webhooks: an admin's HTTPS endpoint for one list, one category's shared lists, or every shared list.
-- A private list reaches a webhook only when the webhook names it.
CREATE TABLE webhooks (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  url          text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2000),
  -- the HMAC-SHA256 key of the signature header; shown once, when the webhook is made
  secret       text NOT NULL CHECK (length(secret) >= 32),
  -- 'json': the versioned body, signed; 'ntfy': a text message for an ntfy topic URL, signed too
  format       text NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'ntfy')),
  watchlist_id uuid REFERENCES watchlists (id),
  category     text CHECK (category IN ('stolen', 'bolo', 'missing_person', 'of_interest', 'allow')),
  events       text[] NOT NULL DEFAULT ARRAY['alert_raised'] CHECK (cardinality(events) > 0 AND events <@ ARRAY[
                 'alert_raised', 'alert_updated', 'alert_acknowledged', 'alert_en_route', 'alert_resolved']),
  enabled      boolean NOT NULL DEFAULT true,
  created_by   uuid REFERENCES users (id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (watchlist_id IS NULL OR category IS NULL)
);

INSERT INTO outbound_channels (name, events)
VALUES ('webhook', ARRAY['alert_raised', 'alert_updated', 'alert_acknowledged', 'alert_en_route', 'alert_resolved']);
