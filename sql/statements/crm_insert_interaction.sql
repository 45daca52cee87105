-- The assignment as a row of the registered interactions table (placeholder interactions: its
-- name as regclass prints it; interaction_type: src/crm.rs, INTERACTION_TYPE; both filled in
-- there).
-- $1 lead, $2 the number's id, $3 the number, $4 the customer's phone, $5 the lead's company,
-- $6 when.
INSERT INTO {interactions} (lead_id, type, metadata, created_at)
VALUES ($1, '{interaction_type}',
        jsonb_build_object('assigned_phone_number_id', $2::text, 'assigned_phone_number', $3::text,
                           'customer_phone', $4::text, 'broker_company', $5::text),
        $6)
