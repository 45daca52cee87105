-- The assignable numbers a claim left (the one it took counted out), at most $7: the
-- low-water alert's figure, counted only when an alert is being raised.
-- $1 company, $4 the cooldown's cutoff, $5 daily cap, $6 start of the day, $7 the most to
-- count, $8 the claimed number's id. Available: _number_state's (sql/schema.sql), as in the
-- claim (sql/statements/claim_number.sql).
-- A template: src/assignment.rs fills in its placeholders (names in braces) once per backend.
SELECT count(*) FROM (
    SELECT FROM signalwire_phone_numbers AS f
    WHERE f.assigned_broker_company = $1
      AND f.assignment_status = 'available' AND f.status = 'active'
      AND _number_state(f.assignment_status, f.status, f.released_at, $4,
                        {assignments_f}, $5) = 'available'
      AND f.vapi_phone_number_id <> $8
    LIMIT $7) AS free
