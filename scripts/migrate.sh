#!/usr/bin/env bash
# Applies service/prisma/migrations to DIRECT_DATABASE_URL (never through PgBouncer), in order, once each, with
# the service's own runner (dist/migrate.js, which the chart's migration Job runs too): plain SQL, recorded in
# Prisma's _prisma_migrations table with Prisma's checksum, so `prisma migrate deploy` sees the same history.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

if [ -z "${DIRECT_DATABASE_URL:-}" ] && [ -s "$STATE/service.env" ]; then
  DIRECT_DATABASE_URL=$(sed -n 's/^DIRECT_DATABASE_URL=//p' "$STATE/service.env")
fi
[ -n "${DIRECT_DATABASE_URL:-}" ] || die "DIRECT_DATABASE_URL is not set (a postgresql:// URL that bypasses PgBouncer)"
export DIRECT_DATABASE_URL
if [ ! -f "$ROOT/dist/migrate.js" ]; then
  ensure_node_modules
  build_service
fi
exec node "$ROOT/dist/migrate.js" "$@"
