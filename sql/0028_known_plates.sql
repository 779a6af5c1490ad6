-- Known plates (issue 18, item 4): what operators know of a plate, a note and a few tags
-- ('resident', 'staff', 'delivery'), shown wherever the plate appears and usable as a search filter.
--
-- Keyed by the normalised plate (packages/domain/src/Plate.ts), not by reads: a plate is known before
-- it is ever read and stays known after its reads are gone, so retention has nothing to do here (no
-- row points at a read, and a note is not a read's evidence).
--
-- known_plates holds each plate's version in force; every version ever set is kept in
-- known_plate_history, written by the trigger below in the same statement, so an edit or a clearing
-- never loses what was there before. Clearing is an update to an empty note and no tags (the row keeps
-- who cleared it and when); rows are never deleted. The rules of a tag are the contract's too
-- (packages/domain/src/rpc/KnownPlates.ts): held here as well, so no writer can store another shape.

-- A tag is a lower-case word (letters a-z, digits, inner dashes) of at most 32 characters; at most 8
-- distinct tags a plate.
CREATE FUNCTION known_plate_tags_valid(tags text[]) RETURNS boolean
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN cardinality(tags) <= 8
    AND (cardinality(tags) = 0 OR array_ndims(tags) = 1)
    AND array_position(tags, NULL) IS NULL
    AND NOT EXISTS (SELECT FROM unnest(tags) AS t WHERE length(t) > 32 OR t !~ '^[a-z0-9]+(-[a-z0-9]+)*$')
    AND (SELECT count(DISTINCT t) FROM unnest(tags) AS t) = cardinality(tags);

CREATE TABLE known_plates (
  plate        text PRIMARY KEY CHECK (plate <> '' AND length(plate) <= 32),
  note         text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
  tags         text[] NOT NULL DEFAULT '{}' CHECK (known_plate_tags_valid(tags)),
  -- 1 for the first version, one more at each change (the trigger counts, not the writer)
  version      integer NOT NULL DEFAULT 1,
  -- users are disabled, never deleted
  set_by       uuid NOT NULL REFERENCES users (id),
  set_by_name  text NOT NULL CHECK (set_by_name <> ''),
  set_at       timestamptz NOT NULL DEFAULT now()
);
-- The search's `tag=` filter: the plates carrying any of the tags asked for.
CREATE INDEX known_plates_tags ON known_plates USING gin (tags);

CREATE TABLE known_plate_history (
  plate        text NOT NULL REFERENCES known_plates (plate),
  version      integer NOT NULL,
  note         text NOT NULL,
  tags         text[] NOT NULL,
  set_by       uuid NOT NULL REFERENCES users (id),
  set_by_name  text NOT NULL,
  set_at       timestamptz NOT NULL,
  PRIMARY KEY (plate, version)
);

-- The version and the time are the database's: a writer cannot renumber a plate's history or date a
-- change in the past. A plate's row stays the plate's.
CREATE FUNCTION known_plates_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.plate IS DISTINCT FROM OLD.plate THEN
      RAISE EXCEPTION 'a known plate keeps its plate (clear it and set the other)' USING ERRCODE = 'insufficient_privilege';
    END IF;
    NEW.version := OLD.version + 1;
  ELSE
    NEW.version := 1;
  END IF;
  NEW.set_at := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER known_plates_version BEFORE INSERT OR UPDATE ON known_plates
  FOR EACH ROW EXECUTE FUNCTION known_plates_version();

CREATE FUNCTION known_plates_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO known_plate_history (plate, version, note, tags, set_by, set_by_name, set_at)
  VALUES (NEW.plate, NEW.version, NEW.note, NEW.tags, NEW.set_by, NEW.set_by_name, NEW.set_at);
  RETURN NULL;
END
$$;
CREATE TRIGGER known_plates_history AFTER INSERT OR UPDATE ON known_plates
  FOR EACH ROW EXECUTE FUNCTION known_plates_history();

-- A history row is a version as it stood in known_plates: whoever may insert here (the serving role may
-- insert into any table) can add only what the trigger above adds, and that is there already.
CREATE FUNCTION known_plate_history_mirrors() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT FROM known_plates k
                  WHERE k.plate = NEW.plate AND k.version = NEW.version AND k.note = NEW.note AND k.tags = NEW.tags
                    AND k.set_by = NEW.set_by AND k.set_by_name = NEW.set_by_name AND k.set_at = NEW.set_at) THEN
    RAISE EXCEPTION 'known_plate_history is written by known_plates'' trigger only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER known_plate_history_mirrors BEFORE INSERT ON known_plate_history
  FOR EACH ROW EXECUTE FUNCTION known_plate_history_mirrors();

-- The history is only ever added to (by the trigger above), and a plate once known is cleared, not
-- deleted: the serving role owns neither table, so it cannot drop these triggers.
CREATE TRIGGER known_plates_keep BEFORE DELETE ON known_plates
  FOR EACH ROW EXECUTE FUNCTION alpr_refuse_change();
CREATE TRIGGER known_plates_keep_truncate BEFORE TRUNCATE ON known_plates
  FOR EACH STATEMENT EXECUTE FUNCTION alpr_refuse_change();
CREATE TRIGGER known_plate_history_keep BEFORE UPDATE OR DELETE ON known_plate_history
  FOR EACH ROW EXECUTE FUNCTION alpr_refuse_change();
CREATE TRIGGER known_plate_history_keep_truncate BEFORE TRUNCATE ON known_plate_history
  FOR EACH STATEMENT EXECUTE FUNCTION alpr_refuse_change();
