-- try_assign_phone_number, the assignment for callers that branch on data (n8n): a hold is
-- status 'assigned' with assign_phone_number's columns; an exhausted pool is status
-- 'pool_exhausted' with the 53000 error's message, detail and hint, and changes nothing; every
-- other refusal is still an error with its SQLSTATE. customer_phone_e164 is the lead's phone as
-- the voice API dials it. Companies: Try ... Realty; leads 0000000e-....

SET datestyle = ISO, MDY;
SET intervalstyle = postgres;
SET timezone = 'UTC';
SET search_path = "$user", public, pool_ext;

INSERT INTO signalwire_phone_numbers (vapi_phone_number_id, number, name, assigned_broker_company)
VALUES ('try-1', '+14155550701', 'Try SF', 'Try One Realty'),
       ('try-2', '+12125550702', 'Try NY', 'Try Two Realty'),
       ('try-3', '+14155550703', 'Try SF', 'Try Two Realty');

-- A hold: the same columns as assign_phone_number, and the lead's phone in E.164.
SELECT status, vapi_phone_number_id, number, name, assigned_broker_company, area_code_matched,
       chosen_by, customer_phone_e164, message, detail, hint,
       release_at - assigned_at AS held_for
FROM try_assign_phone_number('Try Two Realty', '0000000e-0000-4000-8000-000000000001', '(415) 555-0123');

-- The same lead again: its hold back, renewed.
SELECT status, vapi_phone_number_id, chosen_by
FROM try_assign_phone_number('Try Two Realty', '0000000e-0000-4000-8000-000000000001');

-- An exhausted pool: a row, not an error, and no change.
SELECT status FROM try_assign_phone_number('Try One Realty', '0000000e-0000-4000-8000-000000000002');
SELECT count(*) AS ledger_rows_before FROM phone_number_ledger WHERE broker_company = 'Try One Realty';
SELECT status, vapi_phone_number_id, number, name, assigned_broker_company, assigned_at,
       release_at, area_code_matched, chosen_by, customer_phone_e164, message, detail, hint
FROM try_assign_phone_number('Try One Realty', '0000000e-0000-4000-8000-000000000003', '+44 20 7123 4567');
SELECT count(*) AS ledger_rows_after FROM phone_number_ledger WHERE broker_company = 'Try One Realty';
SELECT currently_assigned_to FROM signalwire_phone_numbers WHERE vapi_phone_number_id = 'try-1';

-- Mistakes are errors, as with assign_phone_number (expect_error: helpers.sql).
SELECT * FROM expect_error('unknown company', $$
    SELECT * FROM try_assign_phone_number('Try On Realty', '0000000e-0000-4000-8000-000000000004') $$);
SELECT * FROM expect_error('NULL company', $$
    SELECT * FROM try_assign_phone_number(NULL, '0000000e-0000-4000-8000-000000000004') $$);
SELECT * FROM expect_error('NULL lead', $$
    SELECT * FROM try_assign_phone_number('Try Two Realty', NULL) $$);
SELECT * FROM expect_error('overlong phone', $$
    SELECT * FROM try_assign_phone_number('Try Two Realty', '0000000e-0000-4000-8000-000000000004',
                                          repeat('5', 33)) $$);

SELECT * FROM expect_error('empty phone (a workflow sends NULL for an empty field: || null)', $$
    SELECT * FROM try_assign_phone_number('Try Two Realty', '0000000e-0000-4000-8000-000000000004', '') $$);

-- The lead's phone as people write it, and what cannot be dialled as written.
SELECT phone, customer_phone_e164
FROM (VALUES ('415.555.0123'), ('1 415 555 0123'), ('+1 (415) 555-0123'), ('+49 151 23456789'),
             ('442071234567'), ('555-0101'), ('+1415555010'), ('call me'), (NULL))
     AS p (phone),
     LATERAL try_assign_phone_number('Try Two Realty', '0000000e-0000-4000-8000-000000000001', p.phone);

