-- The audit log: who did what, from where, to what, why, and how it ended. Append-only and
-- hash-chained in the database itself, so every writer (each server replica, the CLI, psql) extends
-- one chain and nobody can change or remove a row unnoticed by `alpr audit verify`.
-- Needs only 0001 (users).

-- Ids come from this sequence inside the chain trigger, under the chain lock, so id order is chain
-- order even with concurrent writers. A rolled-back insert still uses up an id: gaps are normal.
CREATE SEQUENCE audit_log_id_seq AS bigint;

CREATE TABLE audit_log (
  id              bigint PRIMARY KEY,
  at              timestamptz NOT NULL DEFAULT now() CHECK (isfinite(at)),
  actor_id        uuid REFERENCES users (id),
  actor_username  text,
  address         text,
  action          text NOT NULL CHECK (action <> ''),
  target          text,
  reason          text,
  details         jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(details) = 'object'),
  outcome         text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  prev_hash       text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash            text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
);
ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id;

-- Listing is newest first by id, optionally narrowed by one of these.
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor_username ON audit_log (actor_username, id);
CREATE INDEX audit_log_actor_id ON audit_log (actor_id); -- for the foreign key: a user with audit rows cannot be deleted
CREATE INDEX audit_log_action ON audit_log (action text_pattern_ops, id);
CREATE INDEX audit_log_target ON audit_log (target, id);
CREATE INDEX audit_log_outcome ON audit_log (outcome, id);

-- The chain's end as of the last committed insert: the last row's id and hash (genesis: id 0, 64
-- zeros). Writers lock it, so a REPEATABLE READ or SERIALIZABLE writer whose snapshot is older than
-- the end fails with a serialization error (retryable) instead of forking the chain; verify compares
-- the last row with it, so rows removed from the end are noticed too.
CREATE TABLE audit_chain_head (
  only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  last_id   bigint NOT NULL,
  hash      text NOT NULL
);
INSERT INTO audit_chain_head (last_id, hash) VALUES (0, repeat('0', 64));

-- The one definition of a row's hash, used by the insert trigger and by verify alike:
-- hex(SHA-256(UTF-8 of the lines below joined by LF)). Nothing depends on session settings: the time
-- is epoch microseconds, uuid and jsonb have a single text form (jsonb sorts its keys), and each
-- optional field is `<length in characters>:<text>` or `-` for NULL, so NULL and '' differ and no
-- field can run into the next.
--   alpr-audit-v1
--   prev_hash
--   id
--   at (microseconds since 1970-01-01 UTC)
--   actor_id, actor_username, address, action, target, reason, details, outcome (each as above)
CREATE FUNCTION audit_log_hash(r audit_log) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT encode(sha256(convert_to(
    'alpr-audit-v1' || E'\n' ||
    r.prev_hash || E'\n' ||
    r.id::text || E'\n' ||
    (extract(epoch FROM r.at) * 1000000)::bigint::text || E'\n' ||
    coalesce(length(r.actor_id::text) || ':' || r.actor_id::text, '-') || E'\n' ||
    coalesce(length(r.actor_username) || ':' || r.actor_username, '-') || E'\n' ||
    coalesce(length(r.address) || ':' || r.address, '-') || E'\n' ||
    coalesce(length(r.action) || ':' || r.action, '-') || E'\n' ||
    coalesce(length(r.target) || ':' || r.target, '-') || E'\n' ||
    coalesce(length(r.reason) || ':' || r.reason, '-') || E'\n' ||
    coalesce(length(r.details::text) || ':' || r.details::text, '-') || E'\n' ||
    coalesce(length(r.outcome) || ':' || r.outcome, '-'),
    'UTF8')), 'hex')
$$;

-- Links each new row to the end of the chain; whatever id, prev_hash or hash a writer supplies is
-- replaced. The advisory lock orders writers across connections and replicas and is held to the end
-- of the writer's transaction, so the next writer starts from the end this one committed. The end is
-- the head, or, within a statement inserting several rows, the row inserted just before (the head
-- moves once per statement: moving it per row costs quadratic time in a long transaction). Chaining
-- to the head rather than to the newest row left in the table means a row removed from the end
-- shows as a broken link at the next row.
CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head audit_chain_head;
  newest record;
BEGIN
  PERFORM pg_advisory_xact_lock(7415005);
  SELECT * INTO STRICT head FROM audit_chain_head FOR UPDATE;
  SELECT id, hash INTO newest FROM audit_log ORDER BY id DESC LIMIT 1;
  NEW.id := nextval('audit_log_id_seq');
  NEW.prev_hash := CASE WHEN newest.id > head.last_id THEN newest.hash ELSE head.hash END;
  NEW.hash := audit_log_hash(NEW);
  RETURN NEW;
END
$$;

CREATE FUNCTION audit_log_move_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE audit_chain_head SET last_id = n.id, hash = n.hash
    FROM (SELECT id, hash FROM inserted ORDER BY id DESC LIMIT 1) n;
  RETURN NULL;
END
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
CREATE TRIGGER audit_log_move_head AFTER INSERT ON audit_log
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_move_head();
CREATE TRIGGER audit_log_worm BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION alpr_refuse_change();
CREATE TRIGGER audit_log_worm_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION alpr_refuse_change();

-- The head moves only from inside audit_log_move_head (a trigger nested in a trigger).
CREATE FUNCTION audit_chain_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1 THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_chain_head moves only when an audit_log row is inserted: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_chain_head_guard BEFORE UPDATE OR DELETE ON audit_chain_head
  FOR EACH ROW EXECUTE FUNCTION audit_chain_head_guard();
CREATE TRIGGER audit_chain_head_guard_truncate BEFORE TRUNCATE ON audit_chain_head
  FOR EACH STATEMENT EXECUTE FUNCTION alpr_refuse_change();
