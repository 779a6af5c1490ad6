-- Health alerts on webhooks and e-mail (issue 19): the outbound channels' deliveries (sql/0024) carry a
-- health alert's raising and clearing as they carry an alert's events. A webhook takes them when an
-- admin adds the events to it; e-mail sends them to every enabled admin with an address.
ALTER TABLE output_deliveries ALTER COLUMN alert_id DROP NOT NULL;
-- A delivery goes with its health alert as with its alert.
ALTER TABLE output_deliveries ADD COLUMN health_alert_id bigint REFERENCES health_alerts (id) ON DELETE CASCADE;
ALTER TABLE output_deliveries DROP CONSTRAINT output_deliveries_event_check;
ALTER TABLE output_deliveries ADD CONSTRAINT output_deliveries_event_check CHECK (event IN (
  'alert_raised', 'alert_updated', 'alert_acknowledged', 'alert_en_route', 'alert_resolved', 'health_raised', 'health_cleared'));
ALTER TABLE output_deliveries ADD CONSTRAINT output_deliveries_subject_check CHECK (
  CASE WHEN event LIKE 'health_%' THEN health_alert_id IS NOT NULL AND alert_id IS NULL
       ELSE alert_id IS NOT NULL AND health_alert_id IS NULL END);
CREATE INDEX output_deliveries_health ON output_deliveries (health_alert_id) WHERE health_alert_id IS NOT NULL;

ALTER TABLE webhooks DROP CONSTRAINT webhooks_events_check;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_events_check CHECK (cardinality(events) > 0 AND events <@ ARRAY[
  'alert_raised', 'alert_updated', 'alert_acknowledged', 'alert_en_route', 'alert_resolved', 'health_raised', 'health_cleared']);

UPDATE outbound_channels SET events = events || ARRAY['health_raised', 'health_cleared'] WHERE name IN ('webhook', 'email');
