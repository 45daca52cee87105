-- Everything pool_ext defines, as text lines, one fact a line: scripts/upgrade-test.sh diffs
-- this for an upgraded database against a fresh install. OIDs and the database's own data
-- never appear, so two equal schemas print the same lines.
\pset format unaligned
\pset tuples_only on
\pset pager off
SELECT line FROM (
    -- Extension members and the extension itself.
    SELECT 'extension ' || extversion || ' schema ' || extnamespace::regnamespace
           || ' relocatable ' || extrelocatable AS line
    FROM pg_extension WHERE extname = 'pool_ext'
    UNION ALL
    SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
    FROM pg_depend AS d JOIN pg_extension AS e ON d.refobjid = e.oid
    WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'pool_ext'
    -- Tables whose rows pg_dump saves.
    UNION ALL
    SELECT 'dumped ' || c::regclass || ' where ' || coalesce(nullif(w, ''), '(all rows)')
    FROM pg_extension AS e,
         unnest(e.extconfig, e.extcondition) AS dump(c, w)
    WHERE e.extname = 'pool_ext'
    -- Relations: kind, options, row level security, privileges, comment.
    UNION ALL
    SELECT 'relation ' || c.oid::regclass || ' kind ' || c.relkind::text
           || ' options ' || coalesce(c.reloptions::text, '{}')
           || ' rls ' || c.relrowsecurity || ' force_rls ' || c.relforcerowsecurity
           || ' acl ' || coalesce(c.relacl::text, '(default)')
           || ' comment ' || coalesce(obj_description(c.oid, 'pg_class'), '(none)')
    FROM pg_class AS c WHERE c.relnamespace = 'pool_ext'::regnamespace
    -- Columns, in order.
    UNION ALL
    SELECT 'column ' || a.attrelid::regclass || ' #'
           || lpad(row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum)::text, 2, '0')
           || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
           || coalesce(' comment ' || col_description(a.attrelid, a.attnum), '')
    FROM pg_attribute AS a
    JOIN pg_class AS c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef AS ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    WHERE c.relnamespace = 'pool_ext'::regnamespace AND c.relkind IN ('r', 'v')
      AND a.attnum > 0 AND NOT a.attisdropped
    -- Indexes, constraints, triggers, policies.
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid)
    FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
    WHERE c.relnamespace = 'pool_ext'::regnamespace
    UNION ALL
    SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'pool_ext'::regnamespace
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text
    FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
    WHERE c.relnamespace = 'pool_ext'::regnamespace AND NOT t.tgisinternal
    UNION ALL
    SELECT 'policy ' || schemaname || '.' || tablename || ' ' || policyname || ' ' || cmd
           || ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '')
    FROM pg_policies WHERE schemaname = 'pool_ext'
    -- Views, whole.
    UNION ALL
    SELECT 'view ' || c.oid::regclass || E'\n' || pg_get_viewdef(c.oid)
    FROM pg_class AS c WHERE c.relnamespace = 'pool_ext'::regnamespace AND c.relkind = 'v'
    -- Routines, whole (with SET options, security, body or C symbol), privileges, comment.
    UNION ALL
    SELECT 'routine ' || p.oid::regprocedure || ' acl ' || coalesce(p.proacl::text, '(default)')
           || ' comment ' || coalesce(obj_description(p.oid, 'pg_proc'), '(none)')
           || E'\n' || pg_get_functiondef(p.oid)
    FROM pg_proc AS p WHERE p.pronamespace = 'pool_ext'::regnamespace
    -- Initial privileges (what pg_dump compares grants against: a grant recorded here is
    -- left out of a dump).
    UNION ALL
    SELECT 'initprivs ' || pg_describe_object(ip.classoid, ip.objoid, ip.objsubid) || ' '
           || ip.privtype::text || ' ' || ip.initprivs::text
    FROM pg_init_privs AS ip
    JOIN pg_depend AS d ON d.classid = ip.classoid AND d.objid = ip.objoid
                       AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
    JOIN pg_extension AS e ON e.oid = d.refobjid AND e.extname = 'pool_ext'
    -- Sequences.
    UNION ALL
    SELECT 'sequence ' || s.seqrelid::regclass || ' ' || format_type(s.seqtypid, NULL)
           || ' start ' || s.seqstart || ' increment ' || s.seqincrement || ' cache ' || s.seqcache
    FROM pg_sequence AS s JOIN pg_class AS c ON c.oid = s.seqrelid
    WHERE c.relnamespace = 'pool_ext'::regnamespace
) AS facts
ORDER BY line;
