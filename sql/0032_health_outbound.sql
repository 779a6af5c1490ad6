-- Health alerts on the outbound channels (issue 19): the outbox carries a health alert's raising and
-- clearing as it carries an alert's events (one row per channel that takes them), and Telegram sends
-- them to the admins who linked a chat. The other channels take no health events until they do.
ALTER TABLE outbox ALTER COLUMN alert_id DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN health_alert_id bigint REFERENCES health_alerts (id);
ALTER TABLE outbox DROP CONSTRAINT outbox_event_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_event_check CHECK (event IN (
  'alert_raised', 'alert_updated', 'alert_acknowledged', 'alert_en_route', 'alert_resolved', 'health_raised', 'health_cleared'));
ALTER TABLE outbox ADD CONSTRAINT outbox_subject_check CHECK (
  CASE WHEN event LIKE 'health_%' THEN health_alert_id IS NOT NULL AND alert_id IS NULL
       ELSE alert_id IS NOT NULL AND health_alert_id IS NULL END);

ALTER TABLE outbound_channels DROP CONSTRAINT outbound_channels_events_check;
ALTER TABLE outbound_channels ADD CONSTRAINT outbound_channels_events_check CHECK (events <@ ARRAY[
  'alert_raised', 'alert_updated', 'alert_acknowledged', 'alert_en_route', 'alert_resolved', 'health_raised', 'health_cleared']);
UPDATE outbound_channels SET events = events || ARRAY['health_raised', 'health_cleared'] WHERE name = 'telegram';

-- A Telegram message is an alert's, or a health alert's raising or clearing (one each per admin).
ALTER TABLE telegram_deliveries ALTER COLUMN alert_id DROP NOT NULL;
ALTER TABLE telegram_deliveries
  ADD COLUMN health_alert_id bigint REFERENCES health_alerts (id),
  ADD COLUMN health_event text CHECK (health_event IN ('raised', 'cleared'));
ALTER TABLE telegram_deliveries ADD CONSTRAINT telegram_deliveries_subject_check CHECK (
  (alert_id IS NOT NULL AND health_alert_id IS NULL AND health_event IS NULL) OR
  (alert_id IS NULL AND health_alert_id IS NOT NULL AND health_event IS NOT NULL));
CREATE UNIQUE INDEX telegram_deliveries_health ON telegram_deliveries (health_alert_id, health_event, user_id)
  WHERE health_alert_id IS NOT NULL;
