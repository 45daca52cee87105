-- A fragment of the claims (sql/statements/claim_number.sql, count_free_numbers.sql), for a
-- company with a daily cap: the number's assignments since the start of its company's day,
-- which _number_state compares with the cap. The placeholder n is the claim's alias for the
-- number. $1 company, $6 the day's start.
(SELECT count(*) FROM phone_number_ledger AS l
 WHERE l.number = {n}.number AND l.broker_company = $1
   AND l.event = 'assigned' AND l.occurred_at >= $6)
