#!/usr/bin/env bash
# Run once by the official postgres image (from /docker-entrypoint-initdb.d) when
# its data folder is new: the two roles of crm and its database.
#   crm_owner  owns database crm; `crm migrate up` runs as it (CRM_MIGRATE_DATABASE_URL)
#   crm_app    the service's login (CRM_DATABASE_URL): no superuser, no RLS bypass,
#              no CREATEDB/CREATEROLE; the migrations GRANT it what it may read and write
# Passwords come from CRM_OWNER_PASSWORD and CRM_APP_PASSWORD. They travel as psql
# variables and are quoted by format('%L'), so any character is safe here (in the
# libpq URLs of docker-compose.yml they must still be percent-encoded).
# Safe to run again by hand: it creates what is missing and resets the passwords.
# No `set -u`: the entrypoint sources scripts that are not executable.
set -eo pipefail

: "${CRM_OWNER_PASSWORD:?CRM_OWNER_PASSWORD must be set and not empty}"
: "${CRM_APP_PASSWORD:?CRM_APP_PASSWORD must be set and not empty}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
     --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
     -v owner_password="$CRM_OWNER_PASSWORD" -v app_password="$CRM_APP_PASSWORD" <<'SQL'
SET client_min_messages = warning;

-- Created when missing; when present (a run by hand), the same attributes and a new password.
SELECT format('CREATE ROLE crm_owner WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE '
              'NOREPLICATION PASSWORD %L', :'owner_password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_owner') \gexec
SELECT format('ALTER ROLE crm_owner WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE '
              'NOREPLICATION PASSWORD %L', :'owner_password')
 WHERE EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_owner') \gexec

SELECT format('CREATE ROLE crm_app WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE '
              'NOREPLICATION PASSWORD %L', :'app_password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_app') \gexec
SELECT format('ALTER ROLE crm_app WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE '
              'NOREPLICATION PASSWORD %L', :'app_password')
 WHERE EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_app') \gexec

SELECT 'CREATE DATABASE crm OWNER crm_owner ENCODING ''UTF8'' TEMPLATE template0'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'crm') \gexec

-- Only the two roles reach the database; nobody else gets temporary tables.
REVOKE CONNECT, TEMPORARY ON DATABASE crm FROM PUBLIC;
GRANT CONNECT ON DATABASE crm TO crm_app;
SQL

echo "10-roles.sh: roles crm_owner, crm_app and database crm are ready"
