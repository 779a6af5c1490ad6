-- A second person's approval before an evidence bundle is released (EXPORT_APPROVAL=required;
-- packages/server/src/evidence/Exports.ts).

-- An export asked for while approval is required: who asked, for what case and why, and exactly which
-- reads (their ids when asked, so that what is approved is what is released, however many reads of the
-- plate arrive meanwhile). No bundle exists until it is approved; each bundle then made from it is a row
-- of evidence_exports naming it (request_id).
CREATE TABLE evidence_export_requests (
  id                  uuid PRIMARY KEY,
  created_at          timestamptz NOT NULL DEFAULT now(),
  -- NULL: asked for with the command line (`alpr evidence export`)
  requested_by        uuid REFERENCES users (id),
  requested_by_name   text,
  requested_via       text NOT NULL CHECK (requested_via IN ('http', 'cli')),
  case_number         text NOT NULL CHECK (length(case_number) BETWEEN 1 AND 64),
  reason_code         text NOT NULL REFERENCES reason_codes (code),
  reason              text CHECK (length(reason) <= 500),
  selection           jsonb NOT NULL CHECK (jsonb_typeof(selection) = 'object'),
  detection_ids       bigint[] NOT NULL CHECK (cardinality(detection_ids) > 0),
  detections          integer NOT NULL CHECK (detections = cardinality(detection_ids)),
  images              integer NOT NULL CHECK (images >= 0),
  state               text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'refused')),
  decided_at          timestamptz,
  -- always a person (an admin's account), also when decided with the command line (`--as USERNAME`)
  decided_by          uuid REFERENCES users (id),
  decided_by_name     text,
  decided_via         text CHECK (decided_via IN ('http', 'cli')),
  decision_note       text CHECK (length(decision_note) <= 500),
  CHECK ((requested_via = 'http') = (requested_by IS NOT NULL)),
  CHECK ((state = 'pending') = (decided_at IS NULL)),
  CHECK ((state = 'pending') = (decided_by IS NULL)),
  CHECK ((state = 'pending') = (decided_via IS NULL)),
  CHECK (state <> 'refused' OR length(btrim(decision_note)) > 0),
  -- The point of the table: the one who asked never decides. Held here, not only in the code, so that
  -- no bug of the server (and no hand with the serving role) can approve a request by its own requester.
  CONSTRAINT evidence_export_requests_second_person CHECK (decided_by IS NULL OR decided_by IS DISTINCT FROM requested_by),
  -- A request made at the command line is not approved at the command line: one person at one shell
  -- could be both; it needs an admin signed in to the web app.
  CONSTRAINT evidence_export_requests_not_cli_twice CHECK (NOT (requested_via = 'cli' AND decided_via = 'cli'))
);
CREATE INDEX evidence_export_requests_pending ON evidence_export_requests (created_at) WHERE state = 'pending';
CREATE INDEX evidence_export_requests_requester ON evidence_export_requests (requested_by, created_at DESC);

-- A request is decided once, by an admin whose account is enabled, and nothing else of it ever changes;
-- it is never removed (it is part of the record, like evidence_exports).
CREATE FUNCTION evidence_export_requests_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.state <> 'pending' THEN
      RAISE EXCEPTION 'an export request starts pending' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END IF;
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'evidence_export_requests rows are never removed' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.state <> 'pending' THEN
    RAISE EXCEPTION 'export request % was % already: a decision is final', OLD.id, OLD.state USING ERRCODE = 'check_violation';
  END IF;
  IF (NEW.id, NEW.created_at, NEW.requested_by, NEW.requested_by_name, NEW.requested_via, NEW.case_number, NEW.reason_code,
      NEW.reason, NEW.selection, NEW.detection_ids, NEW.detections, NEW.images)
     IS DISTINCT FROM
     (OLD.id, OLD.created_at, OLD.requested_by, OLD.requested_by_name, OLD.requested_via, OLD.case_number, OLD.reason_code,
      OLD.reason, OLD.selection, OLD.detection_ids, OLD.detections, OLD.images) THEN
    RAISE EXCEPTION 'only the decision of an export request may be written' USING ERRCODE = 'check_violation';
  END IF;
  IF NOT EXISTS (SELECT FROM users u WHERE u.id = NEW.decided_by AND u.role = 'admin' AND u.disabled_at IS NULL) THEN
    RAISE EXCEPTION 'an export request is decided by an enabled admin' USING ERRCODE = 'check_violation';
  END IF;
  NEW.decided_at := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER evidence_export_requests_guard BEFORE INSERT OR UPDATE OR DELETE ON evidence_export_requests
  FOR EACH ROW EXECUTE FUNCTION evidence_export_requests_guard();
CREATE TRIGGER evidence_export_requests_truncate BEFORE TRUNCATE ON evidence_export_requests
  FOR EACH STATEMENT EXECUTE FUNCTION alpr_refuse_change();

-- A bundle made from a request; NULL: made when no approval was required.
ALTER TABLE evidence_exports ADD COLUMN request_id uuid REFERENCES evidence_export_requests (id);
CREATE INDEX evidence_exports_request ON evidence_exports (request_id) WHERE request_id IS NOT NULL;

-- No bundle of a request is recorded (and so none is sent) unless the request was approved, and the
-- record says what the request said.
CREATE FUNCTION evidence_exports_approved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.request_id IS NOT NULL AND NOT EXISTS (
    SELECT FROM evidence_export_requests r
     WHERE r.id = NEW.request_id AND r.state = 'approved'
       AND r.case_number = NEW.case_number AND r.reason_code = NEW.reason_code AND r.selection = NEW.selection
  ) THEN
    RAISE EXCEPTION 'export request % is not approved: no bundle of it is released', NEW.request_id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER evidence_exports_approved BEFORE INSERT ON evidence_exports
  FOR EACH ROW EXECUTE FUNCTION evidence_exports_approved();
