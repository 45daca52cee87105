-- The assignable numbers a claim left (the one it took counted out), at most $7: the
-- low-water alert's figure, counted only when an alert is being raised.
-- $1 company, $4 the cooldown's cutoff, $5 daily cap, $6 start of the day, $7 the most to
-- count, $8 the claimed number's id.
-- A template: src/assignment.rs fills in its placeholders (names in braces) once per backend.
SELECT count(*) FROM (
    SELECT FROM signalwire_phone_numbers AS f
    WHERE {free_f} AND f.vapi_phone_number_id <> $8
    LIMIT $7) AS free
