#!/usr/bin/env bash
# Applies service/prisma/migrations to DIRECT_DATABASE_URL (never through PgBouncer), in order, once each.
# Uses `prisma migrate deploy` where Prisma's schema engine is installed; otherwise psql applies the same
# files and records them in Prisma's own _prisma_migrations table, so either tool sees the other's work.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

if [ -z "${DIRECT_DATABASE_URL:-}" ] && [ -s "$STATE/service.env" ]; then
  DIRECT_DATABASE_URL=$(sed -n 's/^DIRECT_DATABASE_URL=//p' "$STATE/service.env")
fi
[ -n "${DIRECT_DATABASE_URL:-}" ] || die "DIRECT_DATABASE_URL is not set (a postgresql:// URL that bypasses PgBouncer)"
export DIRECT_DATABASE_URL
MIGRATIONS="$ROOT/service/prisma/migrations"

engine=$(find "$ROOT/node_modules/@prisma/engines" -maxdepth 1 -name 'schema-engine-*' -type f 2>/dev/null | head -n 1)
if [ "${MIGRATE_WITH:-}" = prisma ] || { [ -z "${MIGRATE_WITH:-}" ] && [ -n "$engine" ]; }; then
  log "applying migrations with prisma migrate deploy"
  exec npx --no-install prisma migrate deploy
fi

command -v psql >/dev/null || die "psql is missing (Debian/Ubuntu: apt-get install postgresql-client)"
psql_run() { PGOPTIONS='--client-min-messages=warning' psql "$DIRECT_DATABASE_URL" -v ON_ERROR_STOP=1 -qtA "$@"; }

# Every step holds one advisory lock for its transaction, so runners started at once (replicas, Jobs) take turns.
LOCK="SELECT pg_advisory_xact_lock(72707369);"

psql_run --single-transaction <<SQL
$LOCK
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"            VARCHAR(64) NOT NULL,
    "finished_at"         TIMESTAMPTZ,
    "migration_name"      VARCHAR(255) NOT NULL,
    "logs"                TEXT,
    "rolled_back_at"      TIMESTAMPTZ,
    "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
);
SQL

applied=0
for dir in "$MIGRATIONS"/*/; do
  name=$(basename "$dir")
  file="$dir/migration.sql"
  [ -f "$file" ] || continue
  sum=$(sha256sum "$file" | cut -d' ' -f1)
  recorded=$(psql_run -c "SELECT checksum FROM _prisma_migrations WHERE migration_name = '$name' AND finished_at IS NOT NULL AND rolled_back_at IS NULL LIMIT 1")
  if [ -n "$recorded" ]; then
    [ "$recorded" = "$sum" ] || die "migration $name was changed after it was applied (checksum $recorded, file $sum)"
    continue
  fi
  log "applying $name"
  id=$(cat /proc/sys/kernel/random/uuid)
  # One transaction per migration; under the lock, a runner that finds it applied meanwhile skips it.
  out=$({
    printf '%s\n' "$LOCK" \
      "SELECT EXISTS (SELECT 1 FROM _prisma_migrations WHERE migration_name = '$name' AND finished_at IS NOT NULL AND rolled_back_at IS NULL) AS done \\gset" \
      '\if :done' '\echo applied-meanwhile' '\else'
    cat "$file"
    printf '\n%s\n' "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES ('$id', '$sum', now(), '$name', now(), 1);"
    printf '%s\n' '\endif'
  } | psql_run --single-transaction -f -)
  if [[ $out == *applied-meanwhile* ]]; then
    log "$name was applied meanwhile by another runner"
  else
    applied=$((applied + 1))
  fi
done
log "migrations up to date ($applied applied now)"
