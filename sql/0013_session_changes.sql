-- Whatever changes who may use a session (a role, a disabled account, a display made or unmade, a
-- session revoked, cut short or deleted) is announced on `session_changed` with the user's id at its
-- commit. Each server's open live feeds of that user then check their session again at once, instead
-- of at their next periodic check (packages/server/src/live/LiveFeed.ts). A trigger rather than the code
-- that makes the change: a change from the command line, another server or psql is announced as well.
-- Notifications of one transaction with the same payload arrive once, so ending every session of a
-- user is one notification. Only these columns: a screen's "last seen" (sessions.last_seen_at, every
-- 15 s) is not worth waking anyone for.

CREATE FUNCTION users_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('session_changed', NEW.id::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER users_session_changed
  AFTER UPDATE ON users
  FOR EACH ROW
  WHEN (OLD.role IS DISTINCT FROM NEW.role
        OR OLD.disabled_at IS DISTINCT FROM NEW.disabled_at
        OR OLD.display IS DISTINCT FROM NEW.display)
  EXECUTE FUNCTION users_session_changed();

CREATE FUNCTION sessions_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('session_changed', OLD.user_id::text);
  IF TG_OP = 'UPDATE' AND NEW.user_id IS DISTINCT FROM OLD.user_id THEN
    PERFORM pg_notify('session_changed', NEW.user_id::text);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER sessions_session_changed
  AFTER UPDATE ON sessions
  FOR EACH ROW
  WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
        OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
        OR OLD.user_id IS DISTINCT FROM NEW.user_id)
  EXECUTE FUNCTION sessions_session_changed();

CREATE TRIGGER sessions_session_ended
  AFTER DELETE ON sessions
  FOR EACH ROW
  EXECUTE FUNCTION sessions_session_changed();
