-- A search page's crops are audited by one `image.view` row naming every read it showed (details.reads,
-- issue 18): an evidence bundle finds a read's photo views by that list as well as by target, through
-- this index of the lists (only photo-view rows carry one).
CREATE INDEX audit_log_view_reads ON audit_log USING gin ((details -> 'reads')) WHERE action = 'image.view';
