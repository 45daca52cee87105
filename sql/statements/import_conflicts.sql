-- Lock the rows the document touches (in id order, so two imports cannot deadlock) and
-- report the first entry that would move a held number to another company, or take a
-- number string another row keeps. $1: the validated entries as JSON.
WITH input AS (
    SELECT e.item ->> 'vapi_phone_number_id' AS vapi_phone_number_id,
           e.item ->> 'number' AS number,
           e.item ->> 'broker_company' AS broker_company,
           e.position - 1 AS position
    FROM jsonb_array_elements($1) WITH ORDINALITY AS e(item, position)
), locked AS (
    SELECT p.* FROM signalwire_phone_numbers AS p
    WHERE p.vapi_phone_number_id IN (SELECT vapi_phone_number_id FROM input)
       OR p.number IN (SELECT number FROM input)
    ORDER BY p.vapi_phone_number_id
    FOR NO KEY UPDATE
)
SELECT position, 'broker_company', format('%s is held by lead %s until %s; it cannot move to %s now',
       quote_literal(l.vapi_phone_number_id), l.currently_assigned_to, l.release_at, quote_literal(i.broker_company))
FROM input AS i JOIN locked AS l USING (vapi_phone_number_id)
WHERE l.assignment_status = 'assigned' AND l.assigned_broker_company <> i.broker_company
UNION ALL
SELECT position, 'number', format('%s is held by lead %s until %s; its number cannot change to %s now',
       quote_literal(l.vapi_phone_number_id), l.currently_assigned_to, l.release_at, i.number)
FROM input AS i JOIN locked AS l USING (vapi_phone_number_id)
WHERE l.assignment_status = 'assigned' AND l.number <> i.number
UNION ALL
SELECT position, 'number', format('%s already belongs to %s', i.number, quote_literal(l.vapi_phone_number_id))
FROM input AS i JOIN locked AS l ON l.number = i.number AND l.vapi_phone_number_id <> i.vapi_phone_number_id
WHERE NOT EXISTS (SELECT FROM input AS j
                  WHERE j.vapi_phone_number_id = l.vapi_phone_number_id AND j.number <> l.number)
ORDER BY 1
LIMIT 1
