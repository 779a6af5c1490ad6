-- Cameras managed centrally (issue 19): what an admin says about a camera beyond its name, site and
-- position. Where it looks (a compass bearing, or the direction of travel it reads), the area it covers
-- (a GeoJSON Polygon), how many reads an hour are usual (the health monitor then uses this instead of
-- learning it from the camera's history), the confidence below which its reads are not trusted, and
-- whether it is retired (kept with its reads, no longer watched or shown as live).
ALTER TABLE cameras
  ADD COLUMN bearing smallint CHECK (bearing BETWEEN 0 AND 359),
  ADD COLUMN travel_direction text CHECK (length(travel_direction) BETWEEN 1 AND 100),
  ADD COLUMN zone jsonb CHECK (zone IS NULL OR (jsonb_typeof(zone) = 'object' AND zone->>'type' = 'Polygon')),
  ADD COLUMN expected_per_hour integer CHECK (expected_per_hour BETWEEN 1 AND 100000),
  ADD COLUMN min_confidence real CHECK (min_confidence BETWEEN 0 AND 1),
  ADD COLUMN retired_at timestamptz;
