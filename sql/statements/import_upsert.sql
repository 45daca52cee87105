-- Insert new numbers, update changed ones, leave identical ones alone (no new row version).
WITH written AS (
    INSERT INTO signalwire_phone_numbers AS p
        (vapi_phone_number_id, number, name, assigned_broker_company, notes)
    SELECT vapi_phone_number_id, number, name, broker_company, notes
    FROM jsonb_to_recordset($1)
         AS e(vapi_phone_number_id text, number text, name text, broker_company text, notes text)
    ON CONFLICT (vapi_phone_number_id) DO UPDATE
    SET number = EXCLUDED.number,
        name = EXCLUDED.name,
        assigned_broker_company = EXCLUDED.assigned_broker_company,
        notes = EXCLUDED.notes
    WHERE (p.number, p.name, p.assigned_broker_company, p.notes)
          IS DISTINCT FROM (EXCLUDED.number, EXCLUDED.name, EXCLUDED.assigned_broker_company, EXCLUDED.notes)
    RETURNING xmax = 0 AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written
