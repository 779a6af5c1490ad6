-- One outbox for every outbound channel (Telegram now; webhooks, MQTT, e-mail next). Whoever changes
-- an alert (the alert engine, the alert service) publishes what happened in its own transaction:
-- one row per event for each channel that takes that kind of event. Each channel claims its own rows
-- (FOR UPDATE SKIP LOCKED) and turns them into its own deliveries (telegram_deliveries) in the
-- transaction that deletes them, so an event is handed to every channel exactly once, survives a
-- server stopping mid-burst and is never taken by two servers. Publishers name no channel: a new
-- channel is a row here (from its own migration) and a consumer in its own folder.

CREATE TABLE outbound_channels (
  name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,31}$'),
  -- the kinds of event the channel takes; the others are never written for it
  events      text[] NOT NULL CHECK (events <@ ARRAY['alert_raised', 'alert_updated', 'alert_acknowledged',
                                                     'alert_en_route', 'alert_resolved']),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Telegram sends a message when an alert is raised (its buttons then edit that message).
INSERT INTO outbound_channels (name, events) VALUES ('telegram', ARRAY['alert_raised']);

CREATE TABLE outbox (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  channel     text NOT NULL REFERENCES outbound_channels (name),
  event       text NOT NULL CHECK (event IN ('alert_raised', 'alert_updated', 'alert_acknowledged',
                                             'alert_en_route', 'alert_resolved')),
  alert_id    bigint NOT NULL REFERENCES alerts (id),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_channel ON outbox (channel, id);

-- Wakes each channel's consumers at the commit, the channel's name as the payload (one notification
-- per channel and transaction); a consumer also polls slowly for a notification it missed.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox', c.channel) FROM (SELECT DISTINCT channel FROM published) c;
  RETURN NULL;
END
$$;

CREATE TRIGGER outbox_notify
  AFTER INSERT ON outbox
  REFERENCING NEW TABLE AS published
  FOR EACH STATEMENT
  EXECUTE FUNCTION outbox_notify();
