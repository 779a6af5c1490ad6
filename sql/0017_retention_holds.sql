-- Retention, applied and provable, and legal holds (issue 16, sections 2 and 3).
--
-- Reads, their photos and their corrections stay write-once for everyone (the serving role has no
-- DELETE on them, and a trigger refuses even their owner); the one way out is retention_purge below,
-- a function the owner defines, which deletes only what is older than the policy stored in
-- retention_policy (a table only the owner writes) and what no legal hold covers. The server finds
-- the candidates and calls it batch by batch (packages/server/src/retention/Retention.ts); whatever
-- ids and cut-offs it passes, the function checks each read itself.

-- ---------------------------------------------------------------------------------------------------
-- Legal holds. A hold covers a plate (its reads, and reads corrected to it, now and later), a list of
-- reads, or a camera over a time range (both ends included). Released, never deleted: the row keeps
-- who released it and when. Only the release columns ever change, once.

CREATE TABLE legal_holds (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  case_number       text NOT NULL CHECK (length(case_number) BETWEEN 1 AND 64),
  reason            text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  plate             text CHECK (plate <> '' AND length(plate) <= 32),
  detection_ids     bigint[] CHECK (cardinality(detection_ids) BETWEEN 1 AND 10000 AND array_position(detection_ids, NULL) IS NULL),
  camera_id         uuid REFERENCES cameras (id),
  from_at           timestamptz,
  to_at             timestamptz,
  -- NULL: made with the command line (created_by_name then says "cli")
  created_by        uuid REFERENCES users (id),
  created_by_name   text NOT NULL CHECK (created_by_name <> ''),
  created_at        timestamptz NOT NULL DEFAULT now(),
  released_at       timestamptz,
  released_by       uuid REFERENCES users (id),
  released_by_name  text,
  release_note      text CHECK (length(release_note) <= 500),
  CHECK (num_nonnulls(plate, detection_ids, camera_id) = 1),
  CHECK ((camera_id IS NULL) = (from_at IS NULL) AND (camera_id IS NULL) = (to_at IS NULL)),
  CHECK (from_at <= to_at),
  CHECK ((released_at IS NULL) = (released_by_name IS NULL))
);
CREATE INDEX legal_holds_created ON legal_holds (created_at DESC, id DESC);
CREATE INDEX legal_holds_active ON legal_holds (camera_id) WHERE released_at IS NULL;

CREATE FUNCTION legal_holds_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'legal holds are released, never deleted: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.released_at IS NOT NULL THEN
    RAISE EXCEPTION 'legal hold % was released already', OLD.id USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.released_at IS NULL
     OR (NEW.id, NEW.case_number, NEW.reason, NEW.plate, NEW.detection_ids, NEW.camera_id, NEW.from_at, NEW.to_at,
         NEW.created_by, NEW.created_by_name, NEW.created_at)
        IS DISTINCT FROM
        (OLD.id, OLD.case_number, OLD.reason, OLD.plate, OLD.detection_ids, OLD.camera_id, OLD.from_at, OLD.to_at,
         OLD.created_by, OLD.created_by_name, OLD.created_at) THEN
    RAISE EXCEPTION 'a legal hold only ever changes by being released (release it and make another)'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER legal_holds_guard BEFORE UPDATE OR DELETE ON legal_holds
  FOR EACH ROW EXECUTE FUNCTION legal_holds_guard();
CREATE TRIGGER legal_holds_guard_truncate BEFORE TRUNCATE ON legal_holds
  FOR EACH STATEMENT EXECUTE FUNCTION alpr_refuse_change();

-- The reads among `ids` that an active hold covers: the one definition, used by retention_purge and
-- by the server when it counts what a hold covers. One query per kind of hold, each a hash join of
-- the reads with the active holds, so the cost grows with reads plus holds, not their product.
CREATE FUNCTION legal_hold_covered(ids bigint[]) RETURNS SETOF bigint LANGUAGE sql STABLE AS $$
  WITH active AS (SELECT * FROM legal_holds WHERE released_at IS NULL)
  SELECT d.id FROM detections d
   WHERE d.id = ANY(ids) AND d.plate IN (SELECT plate FROM active WHERE plate IS NOT NULL)
  UNION
  SELECT c.detection_id FROM corrections c
   WHERE c.detection_id = ANY(ids) AND c.action = 'correct'
     AND c.plate IN (SELECT plate FROM active WHERE plate IS NOT NULL)
  UNION
  SELECT l.id FROM (SELECT unnest(detection_ids) AS id FROM active WHERE detection_ids IS NOT NULL) l
   WHERE l.id IN (SELECT unnest(ids)) AND EXISTS (SELECT FROM detections d WHERE d.id = l.id)
  UNION
  SELECT d.id FROM detections d JOIN active h ON h.camera_id = d.camera_id
   WHERE d.id = ANY(ids) AND d.detected_at BETWEEN h.from_at AND h.to_at
$$;

-- ---------------------------------------------------------------------------------------------------
-- The policy: how long each class of data is kept, by the read's own time (detected_at). Written only
-- by the owner (retention_set_policy, called when the owner migrates at every start and at
-- `alpr migrate`, with the RETENTION_* settings); the serving role reads it. These are floors: the
-- purge refuses a cut-off newer than now() minus the class's `keep`, so a server that passes a tiny
-- value gets an error, not a deletion. `nonhit` NULL: reads that raised no alert have no policy of
-- their own and are kept as long as any read.

CREATE TABLE retention_policy (
  data_class  text PRIMARY KEY CHECK (data_class IN ('scene_image', 'plate_image', 'detection', 'nonhit')),
  keep        interval CHECK (keep > interval '0'),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (keep IS NOT NULL OR data_class = 'nonhit')
);
INSERT INTO retention_policy (data_class, keep) VALUES
  ('scene_image', interval '365 days'),
  ('plate_image', interval '365 days'),
  ('detection', interval '2557 days'),
  ('nonhit', NULL);

-- Sets the policy from the settings; a change is written to the audit log with what it was and what
-- it is now. Owner only (EXECUTE is revoked from everyone else below).
CREATE FUNCTION retention_set_policy(scene_days integer, plate_days integer, detection_days integer, nonhit_minutes integer)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  wanted jsonb := jsonb_build_object(
    'scene_image', make_interval(days => scene_days),
    'plate_image', make_interval(days => plate_days),
    'detection', make_interval(days => detection_days),
    'nonhit', CASE WHEN nonhit_minutes IS NULL THEN NULL ELSE make_interval(mins => nonhit_minutes) END);
  before jsonb;
  after jsonb;
BEGIN
  IF scene_days IS NULL OR plate_days IS NULL OR detection_days IS NULL
     OR least(scene_days, plate_days, detection_days) < 1 OR coalesce(nonhit_minutes, 1) < 1 THEN
    RAISE EXCEPTION 'retention periods are positive';
  END IF;
  SELECT jsonb_object_agg(data_class, keep) INTO before FROM retention_policy;
  UPDATE retention_policy p SET keep = (wanted ->> p.data_class)::interval, updated_at = now()
   WHERE p.keep IS DISTINCT FROM (wanted ->> p.data_class)::interval;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  SELECT jsonb_object_agg(data_class, keep) INTO after FROM retention_policy;
  INSERT INTO audit_log (actor_username, action, target, details, outcome)
  VALUES (current_user, 'retention.policy', 'retention_policy',
          jsonb_build_object('before', before, 'after', after), 'success');
  RETURN true;
END
$$;

-- ---------------------------------------------------------------------------------------------------
-- What retention leaves for later, written only by the owner's functions below.

-- Photos whose rows are gone and whose objects are still to be removed from the object store. Rows
-- go first, in the purge's transaction; the server removes the objects after the commit and then
-- these rows (retention_objects_removed). A run that stops in between is finished by the next one.
-- Only keys whose rows the purge itself deleted ever get here.
CREATE TABLE retention_pending_objects (
  object_key      text PRIMARY KEY,
  detection_id    bigint NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('plate', 'scene')),
  row_deleted_at  timestamptz NOT NULL DEFAULT now()
);

-- Reads a purge had to keep though something of theirs was due (held, the first read of a run or a
-- read of an alert whose other reads stay, not yet checked by the alert engine): examined again at
-- every run until nothing of theirs is due, so a released hold frees its reads at the next run.
CREATE TABLE retention_kept (
  detection_id  bigint PRIMARY KEY,
  why           text NOT NULL CHECK (why IN ('hold', 'pinned', 'unchecked')),
  since         timestamptz NOT NULL DEFAULT now()
);

-- Plates whose last read may have gone: the plates table (partial and fuzzy search) forgets a plate
-- nobody has been read with any more (retention_prune_plates).
CREATE TABLE retention_plate_candidates (
  plate  text PRIMARY KEY
);

-- Each run of the job (the audit log has one row per run too, with the same figures): the cut-offs
-- it applied, which the next run starts from, and what it did. Written by the server.
CREATE TABLE retention_runs (
  id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  started_at            timestamptz NOT NULL,
  finished_at           timestamptz,
  dry_run               boolean NOT NULL,
  trigger               text NOT NULL CHECK (trigger IN ('schedule', 'cli')),
  scene_before          timestamptz NOT NULL,
  plate_before          timestamptz NOT NULL,
  detection_before      timestamptz NOT NULL,
  nonhit_before         timestamptz,
  scene_images_deleted  integer NOT NULL DEFAULT 0,
  plate_images_deleted  integer NOT NULL DEFAULT 0,
  detections_deleted    integer NOT NULL DEFAULT 0,
  alerts_deleted        integer NOT NULL DEFAULT 0,
  held_skipped          integer NOT NULL DEFAULT 0,
  kept                  integer NOT NULL DEFAULT 0,
  objects_removed       integer NOT NULL DEFAULT 0,
  derived               jsonb NOT NULL DEFAULT '{}'::jsonb,
  error                 text
);
CREATE INDEX retention_runs_finished ON retention_runs (id DESC) WHERE finished_at IS NOT NULL AND NOT dry_run AND error IS NULL;

-- ---------------------------------------------------------------------------------------------------
-- Indexes that deleting a read needs: every foreign key that points at a read is checked for each
-- read deleted, and without an index each check reads the whole referencing table. The run index is
-- partial: only reads that repeat an earlier one have a duplicate_of, so ingest pays for those alone.
CREATE INDEX detections_duplicate_of ON detections (duplicate_of) WHERE duplicate_of IS NOT NULL;
CREATE INDEX alerts_detection ON alerts (detection_id);
CREATE INDEX alerts_last_detection ON alerts (last_detection_id);
CREATE INDEX outbox_alert ON outbox (alert_id);

-- ---------------------------------------------------------------------------------------------------
-- Write-once, except through the purge. UPDATE stays refused row by row as before; DELETE is refused
-- by a statement trigger unless it runs inside retention_purge (which sets alpr.retention around its
-- deletes) as the tables' owner. The serving role could set the setting itself, but it is not the
-- owner; the owner could disable the trigger anyway, so the check keeps honest hands (psql) off.

CREATE FUNCTION alpr_evidence_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('alpr.retention', true) = 'purge'
     AND current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID) THEN
    RETURN NULL;
  END IF;
  IF TG_TABLE_NAME = 'corrections' THEN
    RAISE EXCEPTION 'corrections are append-only: DELETE refused (retention removes them with their read)'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RAISE EXCEPTION '% is immutable evidence: DELETE is not allowed (only retention_purge removes reads past the retention policy)', TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

DROP TRIGGER detections_worm ON detections;
CREATE TRIGGER detections_worm BEFORE UPDATE ON detections
  FOR EACH ROW EXECUTE FUNCTION alpr_refuse_change();
CREATE TRIGGER detections_worm_delete BEFORE DELETE ON detections
  FOR EACH STATEMENT EXECUTE FUNCTION alpr_evidence_delete();

DROP TRIGGER detection_images_worm ON detection_images;
CREATE TRIGGER detection_images_worm BEFORE UPDATE ON detection_images
  FOR EACH ROW EXECUTE FUNCTION alpr_refuse_change();
CREATE TRIGGER detection_images_worm_delete BEFORE DELETE ON detection_images
  FOR EACH STATEMENT EXECUTE FUNCTION alpr_evidence_delete();

DROP TRIGGER corrections_no_change ON corrections;
CREATE TRIGGER corrections_no_change BEFORE UPDATE ON corrections
  FOR EACH ROW EXECUTE FUNCTION corrections_append_only();
CREATE TRIGGER corrections_no_delete BEFORE DELETE ON corrections
  FOR EACH STATEMENT EXECUTE FUNCTION alpr_evidence_delete();

-- ---------------------------------------------------------------------------------------------------
-- The purge. A cut-off is refused when it is newer than the policy allows (NULL: that class is left
-- alone). Of the reads `ids`:
--   - a read goes whole (its photos, corrections and, with it, the alerts it belongs to) when no
--     active hold covers it and it is older than the detection cut-off, or older than the non-hit
--     cut-off and a checked non-hit: no alert points at it, the alert engine has no work naming it
--     and no retro check (new watchlist entries against recent reads) is waiting;
--   - reads go together or not at all where the database ties them: the first read of a run stays
--     while a read of its run stays (duplicate_of), and an alert's reads go with the alert, once all
--     of them may (the group is widened to the run's and the alerts' other reads first);
--   - of a read that stays and is not held, a photo older than its class's cut-off goes.
-- Reads that had something due but had to stay are remembered in retention_kept. Returns the counts,
-- the object keys of the photos whose rows went (also queued in retention_pending_objects) and the
-- reads that went besides those asked about (tied to them). With dry_run it deletes and remembers
-- nothing and returns what it would have done: a dry run locks no row and changes nothing.

CREATE FUNCTION retention_check_cutoff(class text, cutoff timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  kept_for interval;
BEGIN
  IF cutoff IS NULL THEN
    RETURN;
  END IF;
  SELECT keep INTO kept_for FROM retention_policy WHERE data_class = class;
  IF kept_for IS NULL THEN
    RAISE EXCEPTION 'retention refused: % has no retention policy of its own', class
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF cutoff > now() - kept_for THEN
    RAISE EXCEPTION 'retention refused: % is kept for %, so nothing after % may go (asked: before %)',
      class, kept_for, now() - kept_for, cutoff
      USING ERRCODE = 'insufficient_privilege';
  END IF;
END
$$;

CREATE FUNCTION retention_purge(
  ids bigint[],
  scene_before timestamptz,
  plate_before timestamptz,
  detection_before timestamptz,
  nonhit_before timestamptz,
  dry_run boolean
) RETURNS TABLE (
  scene_images_deleted integer,
  plate_images_deleted integer,
  detections_deleted integer,
  alerts_deleted integer,
  held_skipped integer,
  kept integer,
  object_keys text[],
  extra_ids bigint[]
) LANGUAGE plpgsql AS $$
DECLARE
  v_reads bigint[];
  v_group bigint[];
  v_new bigint[];
  v_held bigint[];
  v_unchecked bigint[] := '{}';
  v_retro boolean := false;
  v_go bigint[];
  v_pinned bigint[];
  v_alerts bigint[];
  v_scene integer;
  v_plate integer;
  v_keys text[];
  v_deleted integer;
  v_kept_ids bigint[];
  v_kept_why text[];
  v_held_skipped integer;
BEGIN
  IF cardinality(ids) > 10000 THEN
    RAISE EXCEPTION 'retention_purge takes at most 10000 reads at a time';
  END IF;
  PERFORM retention_check_cutoff('scene_image', scene_before);
  PERFORM retention_check_cutoff('plate_image', plate_before);
  PERFORM retention_check_cutoff('detection', detection_before);
  PERFORM retention_check_cutoff('nonhit', nonhit_before);

  -- A hold being made waits for this batch to commit, and this batch sees every hold committed
  -- before it (the statements below take their snapshots after this lock).
  PERFORM pg_advisory_xact_lock_shared(7415017);

  SELECT coalesce(array_agg(d.id), '{}') INTO v_reads FROM detections d WHERE d.id = ANY(ids);
  v_group := v_reads;

  IF detection_before IS NOT NULL OR nonhit_before IS NOT NULL THEN
    -- The reads tied to these: the rest of their runs and the other reads of their alerts.
    FOR step IN 1..8 LOOP
      SELECT coalesce(array_agg(DISTINCT n.x), '{}') INTO v_new FROM (
        SELECT m.id AS x FROM detections m WHERE m.duplicate_of = ANY(v_group)
        UNION
        SELECT s2.detection_id FROM alert_sightings s JOIN alert_sightings s2 ON s2.alert_id = s.alert_id
         WHERE s.detection_id = ANY(v_group)
      ) n WHERE NOT n.x = ANY(v_group);
      EXIT WHEN cardinality(v_new) = 0;
      v_group := v_group || v_new;
      EXIT WHEN cardinality(v_group) > 50000;
    END LOOP;
  END IF;

  SELECT coalesce(array_agg(h), '{}') INTO v_held FROM legal_hold_covered(v_group) AS h;

  IF nonhit_before IS NOT NULL THEN
    -- Before looking for alerts: the engine deletes an item in the transaction that stores its
    -- alerts, so a read found checked here has its alerts visible to the statements after.
    SELECT EXISTS (SELECT FROM alert_work WHERE entry_ids IS NOT NULL) INTO v_retro;
    SELECT coalesce(array_agg(DISTINCT x), '{}') INTO v_unchecked
      FROM alert_work w, unnest(w.detection_ids) AS x
     WHERE w.detection_ids && v_group AND x = ANY(v_group);
  END IF;

  SELECT coalesce(array_agg(d.id), '{}') INTO v_go FROM detections d
   WHERE d.id = ANY(v_group) AND NOT d.id = ANY(v_held)
     AND (d.detected_at < detection_before
          OR (d.detected_at < nonhit_before AND NOT v_retro AND NOT d.id = ANY(v_unchecked)
              AND NOT EXISTS (SELECT FROM alert_sightings s WHERE s.detection_id = d.id)
              AND NOT EXISTS (SELECT FROM alerts a WHERE a.detection_id = d.id OR a.last_detection_id = d.id)));

  -- What must stay pins what it is tied to, until nothing more is pinned.
  LOOP
    EXIT WHEN cardinality(v_go) = 0;
    WITH touched AS (
      SELECT s.alert_id FROM alert_sightings s WHERE s.detection_id = ANY(v_go)
      UNION
      SELECT a.id FROM alerts a WHERE a.detection_id = ANY(v_go) OR a.last_detection_id = ANY(v_go)
    ), alert_reads AS (
      SELECT s.alert_id, s.detection_id AS r FROM alert_sightings s JOIN touched t ON t.alert_id = s.alert_id
      UNION
      SELECT a.id, unnest(ARRAY[a.detection_id, a.last_detection_id]) FROM alerts a JOIN touched t ON t.alert_id = a.id
    ), blocked AS (
      SELECT DISTINCT alert_id FROM alert_reads WHERE NOT r = ANY(v_go)
    )
    SELECT coalesce(array_agg(DISTINCT p.r), '{}') INTO v_pinned FROM (
      SELECT m.duplicate_of AS r FROM detections m WHERE m.duplicate_of = ANY(v_go) AND NOT m.id = ANY(v_go)
      UNION
      SELECT ar.r FROM alert_reads ar JOIN blocked b ON b.alert_id = ar.alert_id WHERE ar.r = ANY(v_go)
    ) p;
    EXIT WHEN cardinality(v_pinned) = 0;
    v_go := ARRAY(SELECT unnest(v_go) EXCEPT SELECT unnest(v_pinned));
  END LOOP;

  -- The alerts whose reads all go (every read of an alert touched is in v_go by now).
  SELECT coalesce(array_agg(DISTINCT t.alert_id), '{}') INTO v_alerts FROM (
    SELECT s.alert_id FROM alert_sightings s WHERE s.detection_id = ANY(v_go)
    UNION
    SELECT a.id FROM alerts a WHERE a.detection_id = ANY(v_go) OR a.last_detection_id = ANY(v_go)
  ) t;

  -- Of the reads asked about that stay, those with something due all the same: whole (held or
  -- pinned, or a non-hit not yet checked), or a photo past its cut-off (held).
  WITH due AS (
    SELECT d.id,
           CASE WHEN d.id = ANY(v_held) THEN 'hold'
                WHEN d.id = ANY(v_unchecked) OR v_retro THEN 'unchecked'
                ELSE 'pinned' END AS why
      FROM detections d
     WHERE d.id = ANY(v_reads) AND NOT d.id = ANY(v_go)
       AND (d.detected_at < detection_before
            OR (d.detected_at < nonhit_before
                AND NOT EXISTS (SELECT FROM alert_sightings s WHERE s.detection_id = d.id)
                AND NOT EXISTS (SELECT FROM alerts a WHERE a.detection_id = d.id OR a.last_detection_id = d.id))
            OR (d.id = ANY(v_held)
                AND EXISTS (SELECT FROM detection_images i
                             WHERE i.detection_id = d.id
                               AND ((i.kind = 'scene' AND d.detected_at < scene_before)
                                    OR (i.kind = 'plate' AND d.detected_at < plate_before)))))
  )
  SELECT coalesce(array_agg(due.id), '{}'), coalesce(array_agg(due.why), '{}') INTO v_kept_ids, v_kept_why FROM due;
  v_held_skipped := cardinality(ARRAY(SELECT unnest(v_kept_ids) INTERSECT SELECT unnest(v_held)));

  IF dry_run THEN
    -- What would go, deleting nothing: the counts a real run now would give.
    SELECT count(*) FILTER (WHERE i.kind = 'scene'), count(*) FILTER (WHERE i.kind = 'plate')
      INTO v_scene, v_plate
      FROM detection_images i
     WHERE i.detection_id = ANY(v_group)
       AND (i.detection_id = ANY(v_go)
            OR (i.detection_id = ANY(v_reads) AND NOT i.detection_id = ANY(v_held)
                AND EXISTS (SELECT FROM detections d
                             WHERE d.id = i.detection_id
                               AND ((i.kind = 'scene' AND d.detected_at < scene_before)
                                    OR (i.kind = 'plate' AND d.detected_at < plate_before)))));
    RETURN QUERY SELECT v_scene, v_plate, cardinality(v_go), cardinality(v_alerts), v_held_skipped,
                        cardinality(v_kept_ids), '{}'::text[],
                        ARRAY(SELECT unnest(v_go) EXCEPT SELECT unnest(v_reads));
    RETURN;
  END IF;

  -- Until the end of this call (or of its transaction, if it fails): see alpr_evidence_delete.
  PERFORM set_config('alpr.retention', 'purge', true);

  IF cardinality(v_alerts) > 0 THEN
    DELETE FROM outbox WHERE alert_id = ANY(v_alerts);
    DELETE FROM telegram_deliveries WHERE alert_id = ANY(v_alerts);
    DELETE FROM alert_sightings WHERE alert_id = ANY(v_alerts);
    DELETE FROM alerts WHERE id = ANY(v_alerts);
  END IF;

  WITH gone AS (
    DELETE FROM detection_images i
     WHERE i.detection_id = ANY(v_group)
       AND (i.detection_id = ANY(v_go)
            OR (i.detection_id = ANY(v_reads) AND NOT i.detection_id = ANY(v_held)
                AND EXISTS (SELECT FROM detections d
                             WHERE d.id = i.detection_id
                               AND ((i.kind = 'scene' AND d.detected_at < scene_before)
                                    OR (i.kind = 'plate' AND d.detected_at < plate_before)))))
    RETURNING i.object_key, i.detection_id, i.kind
  ), queued AS (
    INSERT INTO retention_pending_objects (object_key, detection_id, kind)
    SELECT object_key, detection_id, kind FROM gone
    ON CONFLICT (object_key) DO NOTHING
  )
  SELECT count(*) FILTER (WHERE kind = 'scene'), count(*) FILTER (WHERE kind = 'plate'),
         coalesce(array_agg(object_key), '{}')
    INTO v_scene, v_plate, v_keys
    FROM gone;

  DELETE FROM corrections WHERE detection_id = ANY(v_go);

  WITH gone AS (
    DELETE FROM detections WHERE id = ANY(v_go) RETURNING id, plate
  ), noted AS (
    INSERT INTO retention_plate_candidates (plate)
    SELECT DISTINCT plate FROM gone ORDER BY plate
    ON CONFLICT (plate) DO NOTHING
  )
  SELECT count(*) INTO v_deleted FROM gone;

  PERFORM set_config('alpr.retention', '', true);

  DELETE FROM retention_kept WHERE detection_id = ANY(v_reads || v_go);
  INSERT INTO retention_kept (detection_id, why) SELECT * FROM unnest(v_kept_ids, v_kept_why);

  RETURN QUERY SELECT v_scene, v_plate, v_deleted, cardinality(v_alerts), v_held_skipped,
                      cardinality(v_kept_ids), v_keys,
                      ARRAY(SELECT unnest(v_go) EXCEPT SELECT unnest(v_reads));
END
$$;

-- After the server has removed these objects from the store.
CREATE FUNCTION retention_objects_removed(keys text[]) RETURNS integer LANGUAGE sql AS $$
  WITH gone AS (DELETE FROM retention_pending_objects WHERE object_key = ANY(keys) RETURNING 1)
  SELECT count(*)::integer FROM gone
$$;

-- Forgets, of up to `max_plates` candidates, the plates no read has any more (returns how many
-- candidates it took and how many plates it forgot). The lock waits for the ingest transactions that
-- are noting plates and holds new ones back until this commits, so a plate read again meanwhile is
-- either seen here (and kept) or noted again after. The plate of a read that stayed is not deleted:
-- its read is found.
CREATE FUNCTION retention_prune_plates(max_plates integer) RETURNS TABLE (taken integer, pruned integer)
LANGUAGE plpgsql AS $$
BEGIN
  LOCK TABLE plates IN SHARE ROW EXCLUSIVE MODE;
  RETURN QUERY
  WITH picked AS (
    DELETE FROM retention_plate_candidates
     WHERE plate IN (SELECT c.plate FROM retention_plate_candidates c ORDER BY c.plate LIMIT max_plates)
    RETURNING plate
  ), gone AS (
    DELETE FROM plates p USING picked t
     WHERE p.plate = t.plate AND NOT EXISTS (SELECT FROM detections d WHERE d.plate = t.plate)
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM picked)::integer, (SELECT count(*) FROM gone)::integer;
END
$$;

-- The functions that write what the serving role may not run as their owner, with a fixed search
-- path (pg_temp last, so no temporary table of the caller stands in for a table here). Nobody but the
-- owner may call them until the owner grants it: the serving role gets EXECUTE by name
-- (db/ServingRole.ts); retention_set_policy stays the owner's.
DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION retention_purge(bigint[], timestamptz, timestamptz, timestamptz, timestamptz, boolean) SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
  EXECUTE format('ALTER FUNCTION retention_objects_removed(text[]) SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
  EXECUTE format('ALTER FUNCTION retention_prune_plates(integer) SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
  EXECUTE format('ALTER FUNCTION retention_check_cutoff(text, timestamptz) SET search_path = %I, pg_temp', current_schema());
  EXECUTE format('ALTER FUNCTION legal_hold_covered(bigint[]) SET search_path = %I, pg_temp', current_schema());
END
$$;
REVOKE EXECUTE ON FUNCTION retention_purge(bigint[], timestamptz, timestamptz, timestamptz, timestamptz, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION retention_objects_removed(text[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION retention_prune_plates(integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION retention_set_policy(integer, integer, integer, integer) FROM PUBLIC;
