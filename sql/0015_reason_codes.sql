-- Reason codes: why a person searched, investigated, looked at a photo or exported reads. Admins keep
-- the list; a code, once used, is retired rather than deleted, so the audit log's codes keep their
-- meaning. The seeds are the reasons people give most; admins add their own.

CREATE TABLE reason_codes (
  code        text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,39}$'),
  label       text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
  created_at  timestamptz NOT NULL DEFAULT now(),
  retired_at  timestamptz
);

INSERT INTO reason_codes (code, label) VALUES
  ('stolen_vehicle', 'Stolen vehicle'),
  ('missing_person', 'Missing person'),
  ('wanted_person', 'Wanted person'),
  ('investigation', 'Investigation'),
  ('amber_alert', 'AMBER alert'),
  ('training', 'Training'),
  ('audit', 'Audit');

-- The audit log names codes, not labels: a code keeps its meaning for as long as the log is kept. So
-- a code is never removed nor renamed, and once retired stays retired (an admin adds a new one); its
-- label may be corrected. Held here, for the serving role may otherwise update and delete this table.
CREATE FUNCTION reason_codes_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'reason codes are retired, never deleted: % refused', TG_OP;
END
$$;
CREATE TRIGGER reason_codes_no_delete BEFORE DELETE OR TRUNCATE ON reason_codes
  FOR EACH STATEMENT EXECUTE FUNCTION reason_codes_refuse_delete();

CREATE FUNCTION reason_codes_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.code IS DISTINCT FROM OLD.code OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
    RAISE EXCEPTION 'a reason code keeps its code and creation time (%)', OLD.code;
  END IF;
  IF OLD.retired_at IS NOT NULL AND NEW.retired_at IS DISTINCT FROM OLD.retired_at THEN
    RAISE EXCEPTION 'a retired reason code stays retired (%)', OLD.code;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER reason_codes_keep BEFORE UPDATE ON reason_codes
  FOR EACH ROW EXECUTE FUNCTION reason_codes_keep();
