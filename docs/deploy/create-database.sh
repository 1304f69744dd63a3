#!/bin/sh
# Create the app's role and database on PostgreSQL, as its superuser:
#   sudo -u postgres env KIP_DB_PASSWORD='…' sh docs/deploy/create-database.sh
# The database gets a UTF-8 LC_CTYPE whatever the cluster's default: the search box's trigram index
# (pg_trgm) sees no word characters in Japanese text under the C locale. KIP_DB_NAME and KIP_DB_USER
# default to kip; the libpq variables (PGHOST, PGPORT) say which server.
set -eu
: "${KIP_DB_NAME:=kip}"
: "${KIP_DB_USER:=kip}"
: "${KIP_DB_PASSWORD:?set KIP_DB_PASSWORD to the password of DATABASE_URL}"

psql -X -q -v ON_ERROR_STOP=1 -v role="$KIP_DB_USER" -v password="$KIP_DB_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SQL
createdb --owner="$KIP_DB_USER" --encoding=UTF8 --locale=C.UTF-8 --template=template0 "$KIP_DB_NAME"
psql -X -q -v ON_ERROR_STOP=1 -d "$KIP_DB_NAME" -c 'CREATE EXTENSION IF NOT EXISTS pg_trgm'
psql -X -q -At -d "$KIP_DB_NAME" -c 'SHOW lc_ctype'
