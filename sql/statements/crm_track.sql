-- The assignment in the registered CRM tables, as two more steps of the claim that made it
-- (sql/statements/claim_number.sql, its placeholder crm): the lead's row gets the number and an
-- interaction row records it, both from the claimed row. Placeholders leads and interactions:
-- the tables' names as regclass prints them; interaction_type: src/crm.rs, INTERACTION_TYPE.
-- Values are written with Postgres' assignment casts, so varchar and timestamp columns work.
-- $1 the pool's company, $2 lead, $9 the lead's company when it is not $1, $10 the customer's
-- phone.
, crm_lead AS (
    UPDATE {leads} AS l
    SET assigned_phone_number_id = c.vapi_phone_number_id, phone_assigned_at = c.assigned_at
    FROM claimed AS c
    WHERE l.id = $2
    RETURNING 1
), crm_interaction AS (
    INSERT INTO {interactions} (lead_id, type, metadata, created_at)
    SELECT $2, '{interaction_type}',
           jsonb_build_object('assigned_phone_number_id', c.vapi_phone_number_id,
                              'assigned_phone_number', c.number,
                              'customer_phone', $10::text,
                              'broker_company', coalesce($9, $1)),
           c.assigned_at
    FROM claimed AS c
    -- Only for a lead the leads table has: else src/assignment.rs refuses the call with its
    -- own error (CrmLeadMissing), before any foreign key of the interactions would.
    WHERE EXISTS (SELECT FROM crm_lead)
)
