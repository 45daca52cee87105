-- The company's rules and the lead's standing, in one row. Every part is an index lookup or a
-- read of a one-row table; scalar subqueries rather than joins, so that no estimate of an
-- unanalyzed table multiplies into the plan's cost (a 0.3.0 plan crossed jit_above_cost that
-- way), and nothing that only some calls need (each part is set up on every call).
-- The lead's hold and previous number are the lead's company's, lent ones (overflow) included;
-- the previous number is lead_numbers' (sql/schema.sql), one key whatever the ledger's length.
-- The low-water mark is _low_water_mark's (sql/schema.sql) on the company's active numbers
-- (when company_pool_sizes lacks the company, src/assignment.rs counts them and asks again).
-- The registered CRM tables, by name and by oid (src/crm.rs checks their owners).
-- $1 company, $2 lead.
SELECT policy.retention,
       clock_timestamp() - policy.cooldown,
       policy.daily_cap,
       CASE WHEN policy.daily_cap IS NOT NULL THEN
           pg_catalog.date_trunc('day', clock_timestamp() AT TIME ZONE policy.time_zone)
               AT TIME ZONE policy.time_zone
       END,
       policy.local_presence,
       _low_water_mark(policy.low_water_count, policy.low_water_share, size.active),
       EXISTS (SELECT FROM pool_alert_state AS a WHERE a.company = $1),
       size.active,
       (SELECT ARRAY[t.leads::text, t.interactions::text] FROM crm_tables AS t),
       (SELECT ARRAY[t.leads, t.interactions]::oid[] FROM crm_tables AS t),
       (SELECT own.vapi_phone_number_id FROM signalwire_phone_numbers AS own
        WHERE own.currently_assigned_to = $2
          AND coalesce(own.lead_company, own.assigned_broker_company) = $1),
       (SELECT n.vapi_phone_number_id FROM lead_numbers AS n
        WHERE n.company = $1 AND n.lead_id = $2),
       policy.overflow_company
FROM company_policy($1) AS policy
CROSS JOIN LATERAL (
    SELECT (SELECT s.active FROM company_pool_sizes AS s WHERE s.company = $1) AS active
) AS size
