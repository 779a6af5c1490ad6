/**
 * Announced by triggers (sql/0013) at the commit of any change to who may use a session: a role, a
 * disabled account, a revoked, cut short or deleted session. The payload is the user's id.
 */
export const SESSION_CHANGED_CHANNEL = "session_changed"
