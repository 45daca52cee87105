-- Each registered table with its owner (NULL when the table was dropped). Runs on every
-- tracked assignment, so the catalogs are read by oid through their indexes (crm_tables is a
-- single row): a join on `c.oid IN (t.leads, t.interactions)` read all of pg_class instead
-- (0.3 ms here, more in a database with thousands of relations, such as Supabase's).
SELECT registered.rel::regclass::text, owner.rolname::text, owner.rolsuper
FROM (VALUES ((SELECT t.leads FROM crm_tables AS t)), ((SELECT t.interactions FROM crm_tables AS t)))
     AS registered (rel)
LEFT JOIN LATERAL (
    SELECT r.rolname, r.rolsuper FROM pg_class AS c JOIN pg_roles AS r ON r.oid = c.relowner
    WHERE c.oid = registered.rel) AS owner ON true
