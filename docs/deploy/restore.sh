#!/bin/sh
# Restore a backup of backup.sh:  sh docs/deploy/restore.sh /var/backups/kip/20261204T020000Z
# into the database of DATABASE_URL (new and empty: create-database.sh) and FLASK_ATTACHMENT_FOLDER
# (empty or missing), with every app server and worker stopped. Refuses a backup whose sums differ.
set -eu
backup="${1:?usage: restore.sh BACKUP_FOLDER}"
: "${DATABASE_URL:?}"
: "${FLASK_ATTACHMENT_FOLDER:?}"
(cd "$backup" && sha256sum --check --quiet SHA256SUMS)
if [ -d "$FLASK_ATTACHMENT_FOLDER" ] && [ -n "$(ls -A "$FLASK_ATTACHMENT_FOLDER")" ]; then
  echo "restore.sh: $FLASK_ATTACHMENT_FOLDER is not empty" >&2
  exit 1
fi
# --no-comments: the extension pg_trgm (made by create-database.sh) carries a comment only its
# owner, the superuser, may set again.
pg_restore --no-owner --no-privileges --no-comments --exit-on-error --single-transaction \
  --dbname="$DATABASE_URL" "$backup/database.dump"
mkdir -p "$FLASK_ATTACHMENT_FOLDER"
tar -C "$FLASK_ATTACHMENT_FOLDER" -xf "$backup/attachments.tar"
echo "restored $backup"
