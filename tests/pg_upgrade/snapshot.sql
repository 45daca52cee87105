-- Everything of a pool_ext database that pg_upgrade must carry over, as text lines, for
-- scripts/pg-upgrade-test.sh to diff before (old major) and after (new major): the extension,
-- every row of every table in the schema pool_ext and of the registered CRM tables, each
-- sequence's position, the roles and every privilege (ACLs, initial privileges, and what each
-- role may do on each object), then the schema, fact by fact.
-- Run with PGTZ=UTC so that timestamps print alike.
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT 'extension ' || extname || ' ' || extversion || ' owner ' || extowner::regrole
FROM pg_extension ORDER BY extname;

-- Rows: every table of the schema pool_ext and the CRM tables, each row as text, sorted.
SELECT format('SELECT %L || %L || t::text FROM %s AS t ORDER BY 1', 'row ' || c.oid::regclass, ' ', c.oid::regclass)
FROM pg_class AS c
WHERE c.relkind = 'r' AND c.relnamespace IN ('pool_ext'::regnamespace, 'public'::regnamespace)
ORDER BY c.oid::regclass::text
\gexec
SELECT format('SELECT %L || count(*) FROM %s', 'count ' || c.oid::regclass || ' ', c.oid::regclass)
FROM pg_class AS c
WHERE c.relkind = 'r' AND c.relnamespace IN ('pool_ext'::regnamespace, 'public'::regnamespace)
ORDER BY c.oid::regclass::text
\gexec

-- Sequence positions.
SELECT format('SELECT %L || last_value || %L || is_called FROM %s',
              'sequence ' || c.oid::regclass || ' last_value ', ' is_called ', c.oid::regclass)
FROM pg_class AS c
WHERE c.relkind = 'S' AND c.relnamespace IN ('pool_ext'::regnamespace, 'public'::regnamespace)
ORDER BY c.oid::regclass::text
\gexec

-- Roles and memberships (the test's roles and the owner).
SELECT 'role ' || rolname || ' super ' || rolsuper || ' login ' || rolcanlogin || ' inherit ' || rolinherit
       || ' createrole ' || rolcreaterole || ' createdb ' || rolcreatedb || ' config ' || coalesce(rolconfig::text, '{}')
FROM pg_roles WHERE rolname = 'postgres' OR rolname LIKE 'pgu\_%' OR rolname = 'upgrade_caller'
ORDER BY rolname;

-- Privileges, normalized so that two majors compare: each ACL exploded into
-- grantor:grantee:privilege lines, a NULL ACL read as the owner's default, and MAINTAIN (new in
-- Postgres 17: an 18 owner has it by default) left out. The same for the initial privileges of
-- the extension's members (an absent row means the default).
CREATE FUNCTION pg_temp.acl_text(acl aclitem[], kind "char", owner oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(item, ',' ORDER BY item), '(none)')
    FROM (SELECT a.grantor::regrole || ':' || CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END
                 || ':' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END AS item
          FROM aclexplode(coalesce(acl, acldefault(kind, owner))) AS a
          WHERE a.privilege_type <> 'MAINTAIN') AS items
$$;
SELECT 'schema acl ' || nspname || ' owner ' || nspowner::regrole || ' ' || pg_temp.acl_text(nspacl, 'n', nspowner)
FROM pg_namespace WHERE nspname IN ('pool_ext', 'public') ORDER BY nspname;
SELECT 'relation acl ' || c.oid::regclass || ' owner ' || c.relowner::regrole || ' '
       || pg_temp.acl_text(c.relacl, CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)
FROM pg_class AS c
WHERE c.relnamespace IN ('pool_ext'::regnamespace, 'public'::regnamespace)
ORDER BY 1;
SELECT 'routine acl ' || p.oid::regprocedure || ' owner ' || p.proowner::regrole || ' ' || pg_temp.acl_text(p.proacl, 'f', p.proowner)
FROM pg_proc AS p
WHERE p.pronamespace IN ('pool_ext'::regnamespace, 'public'::regnamespace)
ORDER BY 1;
SELECT 'initial acl ' || pg_describe_object(d.classid, d.objid, 0) || ' '
       || CASE d.classid
            WHEN 'pg_class'::regclass THEN
              (SELECT pg_temp.acl_text(ip.initprivs, CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)
               FROM pg_class AS c LEFT JOIN pg_init_privs AS ip ON ip.classoid = d.classid AND ip.objoid = c.oid AND ip.objsubid = 0
               WHERE c.oid = d.objid)
            WHEN 'pg_proc'::regclass THEN
              (SELECT pg_temp.acl_text(ip.initprivs, 'f', p.proowner)
               FROM pg_proc AS p LEFT JOIN pg_init_privs AS ip ON ip.classoid = d.classid AND ip.objoid = p.oid AND ip.objsubid = 0
               WHERE p.oid = d.objid)
            WHEN 'pg_namespace'::regclass THEN
              (SELECT pg_temp.acl_text(ip.initprivs, 'n', n.nspowner)
               FROM pg_namespace AS n LEFT JOIN pg_init_privs AS ip ON ip.classoid = d.classid AND ip.objoid = n.oid AND ip.objsubid = 0
               WHERE n.oid = d.objid)
          END
FROM pg_depend AS d JOIN pg_extension AS e ON e.oid = d.refobjid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'pool_ext'
  AND d.classid IN ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_namespace'::regclass)
ORDER BY 1;
SELECT 'default acl ' || defaclrole::regrole || ' ' || defaclobjtype::text || ' ' || defaclacl::text
FROM pg_default_acl ORDER BY 1;

-- What each role may do, object by object.
WITH roles AS (
    SELECT rolname FROM pg_roles WHERE rolname LIKE 'pgu\_%' OR rolname = 'upgrade_caller'
)
SELECT line FROM (
    SELECT 'may ' || r.rolname || ' usage schema ' || n.nspname || ' '
           || has_schema_privilege(r.rolname, n.oid, 'USAGE') AS line
    FROM roles AS r, pg_namespace AS n WHERE n.nspname IN ('pool_ext', 'public')
    UNION ALL
    SELECT 'may ' || r.rolname || ' execute ' || p.oid::regprocedure || ' '
           || has_function_privilege(r.rolname, p.oid, 'EXECUTE')
    FROM roles AS r, pg_proc AS p WHERE p.pronamespace = 'pool_ext'::regnamespace
    UNION ALL
    SELECT 'may ' || r.rolname || ' ' || lower(priv) || ' ' || c.oid::regclass || ' '
           || has_table_privilege(r.rolname, c.oid, priv)
    FROM roles AS r, pg_class AS c, unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS priv
    WHERE c.relnamespace IN ('pool_ext'::regnamespace, 'public'::regnamespace) AND c.relkind IN ('r', 'v')
    UNION ALL
    SELECT 'may ' || r.rolname || ' usage ' || c.oid::regclass || ' '
           || has_sequence_privilege(r.rolname, c.oid, 'USAGE')
    FROM roles AS r, pg_class AS c
    WHERE c.relnamespace IN ('pool_ext'::regnamespace, 'public'::regnamespace) AND c.relkind = 'S'
) AS may
ORDER BY line;

-- The schema, fact by fact: tests/upgrade/catalog.sql's facts less what a major prints its own
-- way (view bodies: pg_get_viewdef of 18 leaves out a lone table's name; their columns are
-- here, and scripts/pg-upgrade-test.sh compares the whole schema with a fresh install on 18),
-- the raw ACLs (above, normalized), 18's NOT NULL constraints (the columns say not null) and
-- the row types 18 lists as the extension's members.
SELECT line FROM (
    SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid) AS line
    FROM pg_depend AS d JOIN pg_extension AS e ON d.refobjid = e.oid
    WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'pool_ext'
      -- Postgres 18 lists the row types of the extension's tables and views (and their array
      -- types) as members of their own, 15 does not (a fresh install on 18 has them too).
      AND NOT (d.classid = 'pg_type'::regclass
               AND EXISTS (SELECT FROM pg_type AS t LEFT JOIN pg_type AS elem ON elem.oid = t.typelem
                           WHERE t.oid = d.objid AND (t.typrelid <> 0 OR elem.typrelid <> 0)))
    UNION ALL
    SELECT 'dumped ' || c::regclass || ' where ' || coalesce(nullif(w, ''), '(all rows)')
    FROM pg_extension AS e, unnest(e.extconfig, e.extcondition) AS dump(c, w)
    WHERE e.extname = 'pool_ext'
    UNION ALL
    SELECT 'relation ' || c.oid::regclass || ' kind ' || c.relkind::text
           || ' options ' || coalesce(c.reloptions::text, '{}')
           || ' rls ' || c.relrowsecurity || ' force_rls ' || c.relforcerowsecurity
           || ' comment ' || coalesce(obj_description(c.oid, 'pg_class'), '(none)')
    FROM pg_class AS c WHERE c.relnamespace IN ('pool_ext'::regnamespace, 'public'::regnamespace)
    UNION ALL
    SELECT 'column ' || a.attrelid::regclass || ' #' || lpad(a.attnum::text, 2, '0')
           || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
           || coalesce(' comment ' || col_description(a.attrelid, a.attnum), '')
    FROM pg_attribute AS a
    JOIN pg_class AS c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef AS ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    WHERE c.relnamespace IN ('pool_ext'::regnamespace, 'public'::regnamespace) AND c.relkind IN ('r', 'v')
      AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid)
    FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
    WHERE c.relnamespace IN ('pool_ext'::regnamespace, 'public'::regnamespace)
    UNION ALL
    SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint
    WHERE connamespace IN ('pool_ext'::regnamespace, 'public'::regnamespace) AND contype <> 'n'
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text
    FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
    WHERE c.relnamespace IN ('pool_ext'::regnamespace, 'public'::regnamespace) AND NOT t.tgisinternal
    UNION ALL
    SELECT 'policy ' || schemaname || '.' || tablename || ' ' || policyname || ' ' || cmd
           || ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '')
    FROM pg_policies WHERE schemaname = 'pool_ext'
    UNION ALL
    SELECT 'routine ' || p.oid::regprocedure
           || ' comment ' || coalesce(obj_description(p.oid, 'pg_proc'), '(none)')
           || E'\n' || pg_get_functiondef(p.oid)
    FROM pg_proc AS p WHERE p.pronamespace = 'pool_ext'::regnamespace
    UNION ALL
    SELECT 'sequence ' || s.seqrelid::regclass || ' ' || format_type(s.seqtypid, NULL)
           || ' start ' || s.seqstart || ' increment ' || s.seqincrement || ' cache ' || s.seqcache
           || ' min ' || s.seqmin || ' max ' || s.seqmax || ' cycle ' || s.seqcycle
    FROM pg_sequence AS s JOIN pg_class AS c ON c.oid = s.seqrelid
    WHERE c.relnamespace IN ('pool_ext'::regnamespace, 'public'::regnamespace)
) AS facts
ORDER BY line;
