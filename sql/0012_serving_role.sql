-- The server serves as a role that owns nothing (packages/server/src/db/ServingRole.ts): it may read
-- the audit chain's head but not move it. The two triggers that move it run as their owner instead,
-- so the head moves only as an audit_log insert moves it. Their search path is fixed, with pg_temp
-- last, so that no temporary table of the caller can stand in for audit_log or its head.
DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION audit_log_chain() SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
  EXECUTE format('ALTER FUNCTION audit_log_move_head() SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
END
$$;
