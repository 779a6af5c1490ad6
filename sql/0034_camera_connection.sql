-- Cameras' connections managed centrally (issue 19): how a collector reaches a camera (vendor, mode, URL,
-- account; never a password), set by admins and pushed to the collector as `update_cameras`; and the
-- cameras each collector reports running in its heartbeats, for the admin panel to show any drift.
ALTER TABLE cameras ADD COLUMN connection jsonb
  CHECK (connection IS NULL OR (jsonb_typeof(connection) = 'object' AND connection ? 'vendor' AND connection ? 'mode'
                                AND NOT connection ? 'password'));
ALTER TABLE collectors
  ADD COLUMN reported_cameras jsonb CHECK (reported_cameras IS NULL OR jsonb_typeof(reported_cameras) = 'array'),
  ADD COLUMN cameras_reported_at timestamptz;
