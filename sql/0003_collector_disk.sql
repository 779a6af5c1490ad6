-- What a collector says of its buffer's disk in its heartbeat (optional fields of the contract): so
-- an admin sees a site whose collector has filled its quota and is refusing new reads.
ALTER TABLE collectors
  ADD COLUMN disk_used_bytes  bigint,
  ADD COLUMN disk_quota_bytes bigint,
  ADD COLUMN disk_full        boolean;
