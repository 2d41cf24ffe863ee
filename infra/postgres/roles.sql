-- kiln's PostgreSQL roles, run by the superuser connected to database kiln, with the psql
-- variables analytics_password and query_password (infra/stack.sh; tests/support does the same).
-- Safe to run again: it then only sets the passwords and hands over what an older stack made as
-- the superuser.
--   kiln_analytics  owns database kiln and its projections: migrates, applies events, rebuilds
--   kiln_query      reads the projections (analytics' query API, dashboards); writes nothing
\set ON_ERROR_STOP on

SELECT 'CREATE ROLE kiln_analytics'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kiln_analytics') \gexec
SELECT 'CREATE ROLE kiln_query'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kiln_query') \gexec

ALTER ROLE kiln_analytics LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
  PASSWORD :'analytics_password';
ALTER ROLE kiln_query LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
  PASSWORD :'query_password';

-- The owner of the database owns its public schema (PostgreSQL 15) and may create the schemas
-- `kiln-analytics rebuild` builds in.
ALTER DATABASE kiln OWNER TO kiln_analytics;
REVOKE ALL ON DATABASE kiln FROM PUBLIC;
GRANT CONNECT ON DATABASE kiln TO kiln_query;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO kiln_query;

-- Tables, sequences, views and functions an older stack's analytics made as the superuser.
DO $$
DECLARE
  object record;
BEGIN
  FOR object IN
    SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
      AND pg_get_userbyid(c.relowner) <> 'kiln_analytics'
      -- a sequence a column owns follows its table
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
  LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO kiln_analytics', object.name);
  END LOOP;
  FOR object IN
    SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> 'kiln_analytics'
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO kiln_analytics', object.name);
  END LOOP;
END
$$;

GRANT SELECT ON ALL TABLES IN SCHEMA public TO kiln_query;
-- Whatever kiln_analytics creates later, in any schema (migrations, a rebuild's new tables that
-- are then moved into public), kiln_query may read.
ALTER DEFAULT PRIVILEGES FOR ROLE kiln_analytics GRANT SELECT ON TABLES TO kiln_query;
