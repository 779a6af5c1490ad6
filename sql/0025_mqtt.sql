-- MQTT and Home Assistant (issue 17, item 6): the broker's settings as admins keep them in the panel
-- (the server's MQTT_* settings override each one that is set), the Home Assistant discovery configs
-- published (so that those of lists deleted or made private can be cleared), and the channel's
-- registration in the outbox: its deliveries go to output_deliveries (sql/0024), target 'broker'.

-- One row: `id` is always true, so a second row cannot be inserted.
CREATE TABLE mqtt_settings (
  id                boolean PRIMARY KEY DEFAULT true CHECK (id),
  -- NULL: MQTT is off (unless MQTT_URL is set)
  url               text CHECK (url IS NULL OR (url ~ '^mqtts?://[^\s/?#@]+(:\d+)?/?$' AND length(url) <= 500)),
  username          text CHECK (username IS NULL OR length(username) BETWEEN 1 AND 200),
  -- the broker's password: the server must send it, so it is kept as given (like a webhook's secret);
  -- it is never logged nor returned to a client, which only learns whether one is set
  password          text CHECK (password IS NULL OR length(password) BETWEEN 1 AND 500),
  topic_prefix      text NOT NULL DEFAULT 'alpr' CHECK (topic_prefix ~ '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$' AND length(topic_prefix) <= 100),
  publish_reads     boolean NOT NULL DEFAULT false,
  discovery         boolean NOT NULL DEFAULT true,
  discovery_prefix  text NOT NULL DEFAULT 'homeassistant' CHECK (discovery_prefix ~ '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$' AND length(discovery_prefix) <= 100),
  updated_at        timestamptz,
  updated_by        uuid REFERENCES users (id)
);
INSERT INTO mqtt_settings DEFAULT VALUES;

-- The retained Home Assistant discovery configs a server published: a config no longer wanted (its
-- list deleted or made private, the discovery prefix changed, discovery turned off) is cleared with an
-- empty retained message and its row deleted. Per broker, since another broker holds other configs.
CREATE TABLE mqtt_discovery_configs (
  broker        text NOT NULL,
  topic         text NOT NULL,
  published_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (broker, topic)
);

INSERT INTO outbound_channels (name, events)
VALUES ('mqtt', ARRAY['alert_raised', 'alert_updated', 'alert_acknowledged', 'alert_en_route', 'alert_resolved']);
