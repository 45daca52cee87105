-- A port of tests/original_guide.rs: the original design's operator guide (verify setup, test an
-- assignment, pool health, recent activity, overdue holds, troubleshooting, force release, the
-- manual release, the original claim statement), in order, run unchanged against the extension
-- with its schema on the search_path and CRM tables shaped as the guide has them. Where a
-- statement's rows carry a uuid, a timestamp or now(), the statement runs unchanged inside
-- WITH guide AS (...) and only stable columns are shown (uuids compared with the lead's id,
-- timestamps as the interval between them). Then the plain-SQL changes (the guide's force
-- release and claim) must be in the ledger, and the pool invariants must hold.
-- Company: Guide Realty; tables brokers, leads, interactions.

-- pg_regress sets DateStyle Postgres, IntervalStyle postgres_verbose and TimeZone PST8PDT;
-- back to what a client of a default server sees (ISO, postgres, UTC).
SET datestyle = ISO, MDY;
SET intervalstyle = postgres;
SET timezone = 'UTC';
-- As tests/common does for every test database (ALTER DATABASE ... SET search_path), for this
-- session only: the later files of the schedule share the database.
SET search_path = "$user", public, pool_ext;

-- The CRM tables, as the guide has them.
CREATE TABLE brokers (id serial PRIMARY KEY, company_name text UNIQUE NOT NULL);
CREATE TABLE leads (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    broker_id int REFERENCES brokers (id),
    phone text,
    assigned_phone_number_id text,
    phone_assigned_at timestamptz);
CREATE TABLE interactions (
    id bigserial PRIMARY KEY, lead_id uuid REFERENCES leads (id),
    type text NOT NULL, metadata jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO brokers (company_name) VALUES ('Guide Realty');
-- load_pool("Guide Realty", 3300, 3)
INSERT INTO signalwire_phone_numbers (vapi_phone_number_id, number, name, assigned_broker_company)
SELECT 'Guide Realty-' || i, '+13300' || lpad(i::text, 5, '0'), 'Line ' || i, 'Guide Realty'
FROM generate_series(1, 3) AS i;
INSERT INTO leads (broker_id, phone) VALUES (1, '+13055550100'), (1, '+13055550101');
SELECT register_crm_tables('leads', 'interactions');

-- verify setup: numbers loaded
SELECT assigned_broker_company, COUNT(*) AS total,
       COUNT(*) FILTER (WHERE assignment_status = 'available') AS available
FROM signalwire_phone_numbers WHERE status = 'active'
GROUP BY assigned_broker_company;

-- verify setup: index exists
SELECT indexname FROM pg_indexes WHERE indexname = 'idx_signalwire_pool_assignment';

-- verify setup: company names match brokers (none that does not)
SELECT DISTINCT s.assigned_broker_company FROM signalwire_phone_numbers s
LEFT JOIN brokers b ON b.company_name = s.assigned_broker_company
WHERE b.id IS NULL;

-- test assignment (the times: release_at is assigned_at + the 18 hours of retention)
WITH guide AS (
SELECT * FROM assign_phone_number('Guide Realty', (SELECT id FROM leads WHERE phone = '+13055550100'))
)
SELECT vapi_phone_number_id, number, name, assigned_broker_company,
       release_at - assigned_at AS held_for, area_code_matched, chosen_by
FROM guide;

-- test assignment: pool row
WITH guide AS (
SELECT number, currently_assigned_to, assigned_at, release_at FROM signalwire_phone_numbers
WHERE currently_assigned_to = (SELECT id FROM leads WHERE phone = '+13055550100')
)
SELECT number, currently_assigned_to = (SELECT id FROM leads WHERE phone = '+13055550100') AS held_by_the_lead,
       assigned_at <= now() AS assigned_before_now, release_at - assigned_at AS held_for
FROM guide;

-- test assignment: lead row
WITH guide AS (
SELECT l.id, l.assigned_phone_number_id, s.number, l.phone_assigned_at
FROM leads l JOIN signalwire_phone_numbers s ON s.vapi_phone_number_id = l.assigned_phone_number_id
WHERE l.phone = '+13055550100'
)
SELECT id = (SELECT id FROM leads WHERE phone = '+13055550100') AS the_lead, assigned_phone_number_id, number,
       phone_assigned_at = (SELECT assigned_at FROM signalwire_phone_numbers
                            WHERE vapi_phone_number_id = guide.assigned_phone_number_id) AS assigned_at_matches
FROM guide;

-- test assignment: interaction
SELECT metadata->>'assigned_phone_number' FROM interactions
WHERE lead_id = (SELECT id FROM leads WHERE phone = '+13055550100')
  AND metadata ? 'assigned_phone_number_id';

-- pool health
SELECT assigned_broker_company,
       COUNT(*) AS total_numbers,
       COUNT(*) FILTER (WHERE assignment_status = 'available') AS available,
       COUNT(*) FILTER (WHERE assignment_status = 'assigned') AS assigned,
       ROUND(100.0 * COUNT(*) FILTER (WHERE assignment_status = 'assigned') / COUNT(*), 1) AS utilization_pct
FROM signalwire_phone_numbers WHERE status = 'active'
GROUP BY assigned_broker_company ORDER BY utilization_pct DESC;

-- recent activity
WITH guide AS (
SELECT number, assigned_broker_company, currently_assigned_to, assigned_at, release_at
FROM signalwire_phone_numbers
WHERE assigned_at > NOW() - INTERVAL '24 hours' ORDER BY assigned_at DESC
)
SELECT number, assigned_broker_company,
       currently_assigned_to = (SELECT id FROM leads WHERE phone = '+13055550100') AS held_by_the_lead,
       release_at - assigned_at AS held_for
FROM guide;

-- overdue holds (none yet)
SELECT number, currently_assigned_to, release_at, NOW() - release_at AS overdue_by
FROM signalwire_phone_numbers
WHERE assignment_status = 'assigned' AND release_at < NOW();

-- troubleshooting: double assignments (none)
SELECT currently_assigned_to, COUNT(*) FROM signalwire_phone_numbers
WHERE assignment_status = 'assigned' AND currently_assigned_to IS NOT NULL
GROUP BY currently_assigned_to HAVING COUNT(*) > 1;

-- troubleshooting: assigned without holder (none)
SELECT * FROM signalwire_phone_numbers
WHERE assignment_status = 'assigned' AND (currently_assigned_to IS NULL OR release_at IS NULL);

-- troubleshooting: leads pointing at a number someone else holds (none)
SELECT l.id FROM leads l JOIN signalwire_phone_numbers s ON s.vapi_phone_number_id = l.assigned_phone_number_id
WHERE s.assignment_status = 'assigned' AND s.currently_assigned_to <> l.id;

-- force release
UPDATE signalwire_phone_numbers
SET currently_assigned_to = NULL, assigned_at = NULL, release_at = NULL, assignment_status = 'available'
WHERE number = (SELECT number FROM signalwire_phone_numbers WHERE assignment_status = 'assigned' LIMIT 1)
RETURNING number;

-- after force release: nothing held
SELECT * FROM signalwire_phone_numbers WHERE assignment_status = 'assigned';

-- manual release of expired holds, the original way (nothing has expired)
SELECT release_expired_phone_numbers();

-- the original claim statement
WITH next_number AS (
    SELECT vapi_phone_number_id FROM signalwire_phone_numbers
    WHERE assigned_broker_company = 'Guide Realty' AND assignment_status = 'available' AND status = 'active'
    ORDER BY assigned_at ASC NULLS FIRST
    LIMIT 1 FOR UPDATE SKIP LOCKED)
UPDATE signalwire_phone_numbers s
SET currently_assigned_to = (SELECT id FROM leads WHERE phone = '+13055550101'),
    assigned_at = NOW(), release_at = NOW() + INTERVAL '18 hours', assignment_status = 'assigned'
FROM next_number WHERE s.vapi_phone_number_id = next_number.vapi_phone_number_id
RETURNING s.vapi_phone_number_id, s.number;

-- The plain-SQL changes (the force release, the original claim) reached the ledger too.
SELECT count(*) AS direct_changes FROM phone_number_ledger
WHERE reason LIKE 'direct%' AND broker_company = 'Guide Realty';
SELECT l.event, l.vapi_phone_number_id, leads.phone AS lead_phone, l.reason
FROM phone_number_ledger AS l JOIN leads ON leads.id = l.lead_id
WHERE l.broker_company = 'Guide Realty' ORDER BY l.id;
SELECT count(*) AS double_assignments FROM double_assignments;
SELECT * FROM pool_invariants();

-- Clean up for the next file.
SELECT unregister_crm_tables();
DROP TABLE interactions, leads, brokers;
SELECT * FROM forget_companies('Guide Realty');
