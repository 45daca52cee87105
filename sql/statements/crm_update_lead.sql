-- The assignment on the lead's row of the registered leads table (placeholder leads: its name as
-- regclass prints it, filled in by src/crm.rs). $1 lead, $2 the number's id, $3 when.
UPDATE {leads} SET assigned_phone_number_id = $2, phone_assigned_at = $3 WHERE id = $1
