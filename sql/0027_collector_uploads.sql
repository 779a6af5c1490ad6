-- A collector is alive when it uploads as well as when it beats (issue 18): a site whose heartbeats are
-- blocked (a proxy, an old edge) but whose reads arrive is not "never seen". Ingest notes the last upload
-- at most every few seconds per collector; last_seen_at stays the last heartbeat.
ALTER TABLE collectors ADD COLUMN last_upload_at timestamptz;
