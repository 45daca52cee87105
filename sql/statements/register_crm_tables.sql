-- Register the CRM tables (one pair per database), replacing a pair registered before.
-- $1 leads, $2 interactions (regclass).
INSERT INTO crm_tables (leads, interactions) VALUES ($1, $2)
ON CONFLICT (singleton) DO UPDATE
SET leads = EXCLUDED.leads, interactions = EXCLUDED.interactions, registered_at = now()
