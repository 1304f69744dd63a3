#!/bin/sh
# The daily backup (kip-backup.service): the database of DATABASE_URL (pg_dump's custom format) and
# the attachment folder, into a dated folder of KIP_BACKUP_DIR with their SHA-256 sums; folders older
# than KIP_BACKUP_KEEP_DAYS are deleted. The database is dumped first: a file added after the dump
# is an orphan the attachment sweep deletes, never a row without its file.
set -eu
: "${DATABASE_URL:?}"
: "${FLASK_ATTACHMENT_FOLDER:?}"
: "${KIP_BACKUP_DIR:=/var/backups/kip}"
: "${KIP_BACKUP_KEEP_DAYS:=14}"
umask 077
stamp=$(date -u +%Y%m%dT%H%M%SZ)
partial="$KIP_BACKUP_DIR/.$stamp.partial"
mkdir -p "$partial"
pg_dump --format=custom --no-owner --no-privileges --file="$partial/database.dump" "$DATABASE_URL"
tar -C "$FLASK_ATTACHMENT_FOLDER" -cf "$partial/attachments.tar" .
(cd "$partial" && sha256sum database.dump attachments.tar > SHA256SUMS)
# Complete, or not there at all: a backup that stopped part-way keeps its .partial name.
mv "$partial" "$KIP_BACKUP_DIR/$stamp"
find "$KIP_BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -mtime +"$KIP_BACKUP_KEEP_DAYS" -exec rm -rf {} +
echo "$KIP_BACKUP_DIR/$stamp"
