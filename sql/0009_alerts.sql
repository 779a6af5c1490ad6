-- Watchlists, the alert engine's durable work, alerts, the live feed's event log and Telegram.

-- A watchlist is private to its owner unless shared; an allow list is a gate: it alerts when a plate
-- NOT on it is seen at one of its cameras. Lists are retired (deleted_at), never deleted, because
-- alerts keep pointing at them.
CREATE TABLE watchlists (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  category    text NOT NULL CHECK (category IN ('stolen', 'bolo', 'missing_person', 'of_interest', 'allow')),
  -- 1 is the most urgent
  priority    smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
  colour      text NOT NULL DEFAULT '#d32f2f' CHECK (colour ~ '^#[0-9a-f]{6}$'),
  -- NULL: made by the command line (a scheduled import), owned by the organisation
  owner_id    uuid REFERENCES users (id),
  shared      boolean NOT NULL DEFAULT true,
  -- for allow lists: the cameras of the gate
  camera_ids  uuid[] NOT NULL DEFAULT '{}',
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  revision    bigint NOT NULL
);
CREATE UNIQUE INDEX watchlists_name ON watchlists (lower(name)) WHERE deleted_at IS NULL;

-- An entry is an exact plate, an OCR-aware plate, a wildcard pattern or a regular expression over the
-- normalised plate (validated and canonicalised by packages/domain/src/Watchlist.ts). Removing an
-- entry marks it; alerts keep pointing at it.
CREATE TABLE watchlist_entries (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  watchlist_id   uuid NOT NULL REFERENCES watchlists (id),
  kind           text NOT NULL CHECK (kind IN ('exact', 'ocr', 'wildcard', 'regex')),
  value          text NOT NULL CHECK (length(value) BETWEEN 1 AND 200),
  note           text CHECK (length(note) <= 500),
  reason         text CHECK (length(reason) <= 500),
  added_by       uuid REFERENCES users (id),
  -- the username, or "import" for the command line
  added_by_name  text NOT NULL,
  expires_at     timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  removed_at     timestamptz,
  removed_by_name text,
  revision       bigint NOT NULL
);
CREATE UNIQUE INDEX watchlist_entries_live ON watchlist_entries (watchlist_id, kind, value) WHERE removed_at IS NULL;
CREATE INDEX watchlist_entries_revision ON watchlist_entries (revision);

-- Every change to lists or entries takes the next revision under a lock held to the commit, so
-- revisions become visible in order: a matcher that has applied everything up to revision R misses
-- nothing by reading `revision > R` next. The NOTIFY wakes every server's matcher at once.
CREATE SEQUENCE watchlist_revision;
CREATE FUNCTION watchlist_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7415009);
  NEW.revision := nextval('watchlist_revision');
  RETURN NEW;
END
$$;
CREATE FUNCTION watchlist_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('watchlist_changed', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER watchlists_stamp BEFORE INSERT OR UPDATE ON watchlists FOR EACH ROW EXECUTE FUNCTION watchlist_stamp();
CREATE TRIGGER watchlist_entries_stamp BEFORE INSERT OR UPDATE ON watchlist_entries FOR EACH ROW EXECUTE FUNCTION watchlist_stamp();
CREATE TRIGGER watchlists_notify AFTER INSERT OR UPDATE ON watchlists FOR EACH STATEMENT EXECUTE FUNCTION watchlist_notify();
CREATE TRIGGER watchlist_entries_notify AFTER INSERT OR UPDATE ON watchlist_entries FOR EACH STATEMENT EXECUTE FUNCTION watchlist_notify();
CREATE FUNCTION watchlist_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'watchlists and their entries are retired or removed by marking them, never deleted: % refused', TG_OP;
END
$$;
CREATE TRIGGER watchlists_no_delete BEFORE DELETE OR TRUNCATE ON watchlists FOR EACH STATEMENT EXECUTE FUNCTION watchlist_refuse_delete();
CREATE TRIGGER watchlist_entries_no_delete BEFORE DELETE OR TRUNCATE ON watchlist_entries FOR EACH STATEMENT EXECUTE FUNCTION watchlist_refuse_delete();

-- The alert engine's work: every insert into detections leaves one item naming its reads, in the
-- same transaction, so no stored read goes unchecked, whatever happens to the server after the
-- commit. Workers claim items with FOR UPDATE SKIP LOCKED and delete them in the transaction that
-- stores their alerts. An item with entry_ids is a retro check: those new entries against recent reads.
CREATE TABLE alert_work (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  detection_ids  bigint[],
  entry_ids      bigint[],
  created_at     timestamptz NOT NULL DEFAULT now(),
  CHECK ((detection_ids IS NULL) <> (entry_ids IS NULL))
);
CREATE FUNCTION detections_queue_alert_work() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO alert_work (detection_ids)
  SELECT array_agg(id ORDER BY id) FROM new_reads HAVING count(*) > 0;
  PERFORM pg_notify('alert_work', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER detections_queue_alert_work AFTER INSERT ON detections
  REFERENCING NEW TABLE AS new_reads
  FOR EACH STATEMENT EXECUTE FUNCTION detections_queue_alert_work();

-- An alert: a list (and the entry, except for a gate's "not on the list") matched a plate. Repeated
-- sightings within the cooldown update the open alert rather than raising another.
CREATE TABLE alerts (
  id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  watchlist_id          uuid NOT NULL REFERENCES watchlists (id),
  -- NULL: a plate not on an allow list, seen at its gate
  entry_id              bigint REFERENCES watchlist_entries (id),
  plate                 text NOT NULL,
  detection_id          bigint NOT NULL REFERENCES detections (id),
  last_detection_id     bigint NOT NULL REFERENCES detections (id),
  first_seen_at         timestamptz NOT NULL,
  last_seen_at          timestamptz NOT NULL,
  sightings             integer NOT NULL DEFAULT 1,
  -- raised by checking a newly added entry against reads from before it was added
  retro                 boolean NOT NULL DEFAULT false,
  status                text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'acknowledged', 'resolved')),
  acknowledged_by       uuid REFERENCES users (id),
  acknowledged_by_name  text,
  acknowledged_at       timestamptz,
  -- a field volunteer said so on Telegram
  en_route_by_name      text,
  en_route_at           timestamptz,
  resolved_by           uuid REFERENCES users (id),
  resolved_by_name      text,
  resolved_at           timestamptz,
  resolution_note       text CHECK (length(resolution_note) <= 1000),
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alerts_open ON alerts (watchlist_id, entry_id, plate, last_seen_at DESC) WHERE status <> 'resolved';
CREATE INDEX alerts_created ON alerts (created_at DESC, id DESC);
CREATE INDEX alerts_status ON alerts (status, created_at DESC) WHERE status <> 'resolved';

-- Which reads an alert stands for; a read raises at most one alert per list entry (or gate), so two
-- workers, or a retried item, can never alert twice for one read.
CREATE TABLE alert_sightings (
  detection_id  bigint NOT NULL REFERENCES detections (id),
  watchlist_id  uuid NOT NULL,
  -- 0 for a gate's "not on the list"
  entry_key     bigint NOT NULL,
  alert_id      bigint NOT NULL REFERENCES alerts (id),
  PRIMARY KEY (detection_id, watchlist_id, entry_key)
);
CREATE INDEX alert_sightings_alert ON alert_sightings (alert_id);

-- The live feed's events, numbered in commit order (the number is taken under a lock held to the
-- commit), so a client resuming after event N reads `id > N` and misses nothing. Kept for a day.
CREATE TABLE live_events (
  id            bigint PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('detection', 'alert')),
  detection_id  bigint,
  alert_id      bigint,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'detection') = (detection_id IS NOT NULL AND alert_id IS NULL)),
  CHECK ((kind = 'alert') = (alert_id IS NOT NULL))
);
CREATE SEQUENCE live_event_id;
CREATE INDEX live_events_created ON live_events USING brin (created_at);

-- Telegram: a volunteer links a chat by sending the bot a one-time code made for their account.
CREATE TABLE telegram_links (
  user_id            uuid PRIMARY KEY REFERENCES users (id),
  chat_id            bigint NOT NULL UNIQUE,
  telegram_username  text,
  linked_at          timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE telegram_link_codes (
  code_hash   text PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users (id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz
);
-- Which alerts a linked volunteer receives: a list's, or a whole category's.
CREATE TABLE telegram_subscriptions (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id       uuid NOT NULL REFERENCES users (id),
  watchlist_id  uuid REFERENCES watchlists (id),
  category      text CHECK (category IN ('stolen', 'bolo', 'missing_person', 'of_interest', 'allow')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK ((watchlist_id IS NULL) <> (category IS NULL))
);
CREATE UNIQUE INDEX telegram_subscriptions_one ON telegram_subscriptions (user_id, coalesce(watchlist_id::text, category));
-- Each alert message owed to a chat, made in the transaction that raised the alert, so a message is
-- never forgotten; senders claim due ones (SKIP LOCKED) and retry with backoff.
CREATE TABLE telegram_deliveries (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  alert_id         bigint NOT NULL REFERENCES alerts (id),
  user_id          uuid NOT NULL REFERENCES users (id),
  chat_id          bigint NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  message_id       bigint,
  created_at       timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz,
  UNIQUE (alert_id, user_id)
);
CREATE INDEX telegram_deliveries_due ON telegram_deliveries (next_attempt_at) WHERE status = 'pending';
