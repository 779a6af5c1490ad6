-- Health of the fleet (issue 19): a site or camera that goes quiet, a filling buffer or a wrong clock is
-- an alert to admins, raised by the health monitor (packages/server/src/health/) and cleared by it when
-- the condition has passed; both moments are kept, so how long it lasted is known.

-- A collector's clock against the server's, measured at each heartbeat that carries `device_time`
-- (positive: the collector is ahead), and how often it says it beats (three missed beats are silence).
ALTER TABLE collectors
  ADD COLUMN clock_skew_ms bigint,
  ADD COLUMN heartbeat_seconds integer CHECK (heartbeat_seconds > 0);

-- A read keeps the time its camera gave it; what that clock was off by, as measured when it arrived, is
-- kept beside it: against the collector's receive time (camera_offset_ms), and against the server's
-- clock (clock_offset_ms: that plus the collector's own skew at the time, when known). NULL: not
-- measured (the collector sent no receive time).
ALTER TABLE detections ADD COLUMN camera_offset_ms bigint, ADD COLUMN clock_offset_ms bigint;

CREATE TABLE health_alerts (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('collector_silent', 'collector_clock', 'buffer_filling',
                                              'camera_silent', 'camera_low_rate', 'camera_clock')),
  collector_id  uuid NOT NULL REFERENCES collectors (id),
  -- the camera, for the camera kinds
  camera_id     uuid REFERENCES cameras (id),
  -- what is wrong, in words and figures, as it was when raised (the figures in details)
  message       text NOT NULL,
  details       jsonb NOT NULL DEFAULT '{}',
  raised_at     timestamptz NOT NULL DEFAULT now(),
  cleared_at    timestamptz,
  -- the figures when it cleared
  cleared_details jsonb,
  CHECK ((camera_id IS NOT NULL) = (kind LIKE 'camera_%')),
  CHECK (cleared_at IS NULL OR cleared_at >= raised_at)
);
-- At most one open alert of a kind for a collector or camera.
CREATE UNIQUE INDEX health_alerts_open ON health_alerts (kind, collector_id, coalesce(camera_id, '00000000-0000-0000-0000-000000000000'))
  WHERE cleared_at IS NULL;
CREATE INDEX health_alerts_raised ON health_alerts (raised_at DESC, id DESC);

-- The live feed tells admins of health alerts raised and cleared.
ALTER TABLE live_events ADD COLUMN health_alert_id bigint;
ALTER TABLE live_events DROP CONSTRAINT live_events_kind_check;
ALTER TABLE live_events ADD CONSTRAINT live_events_kind_check CHECK (kind IN ('detection', 'alert', 'health'));
ALTER TABLE live_events ADD CONSTRAINT live_events_health_check CHECK ((kind = 'health') = (health_alert_id IS NOT NULL));
