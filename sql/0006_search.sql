-- Plate search. `partial` (LIKE with wildcards) and `fuzzy` (trigram similarity) are served by a
-- trigram index on the normalised plate; `fuzzy` ranks with the edit distance of fuzzystrmatch.
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;
CREATE INDEX detections_plate_trgm ON detections USING gin (plate gin_trgm_ops);
