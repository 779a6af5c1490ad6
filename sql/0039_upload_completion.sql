-- Taking in an upload whose bytes have all arrived can be asked again (issue 20): a failure of the
-- object store or the database while the file was assembled and stored left the upload with every byte
-- and no footage. `completing_until` is the claim of the server taking it in (a lease, so that a
-- server that died holding it does not hold it for ever); the footage row and the upload's footage_id
-- are written in one transaction that requires footage_id to be still empty, so two take-ins of one
-- upload can never make two footage records.
ALTER TABLE footage_uploads ADD COLUMN completing_until timestamptz;
