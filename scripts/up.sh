#!/usr/bin/env bash
# Brings the whole local system up on 127.0.0.1: installs what is missing, builds, starts PostgreSQL,
# PgBouncer, Redis + Sentinel, applies migrations and starts the service. Idempotent.
#   ./scripts/up.sh [--replicas N]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

replicas=1
while [ $# -gt 0 ]; do
  case $1 in
    --replicas) replicas=$2; shift 2 ;;
    *) die "usage: $0 [--replicas N]" ;;
  esac
done

ensure_packages curl=curl
ensure_node_modules
build_service
"$ROOT/scripts/infra.sh" start
"$ROOT/scripts/migrate.sh"
# Local-only settings: anyone may register, and cookies work over plain http.
cat >"$STATE/local.env" <<ENV
REGISTRATION=open
COOKIE_SECURE=false
ALLOWED_ORIGINS=http://127.0.0.1:3001,http://localhost:3001
ENV
"$ROOT/scripts/replicas.sh" start --replicas "$replicas"

cat <<MSG

auth-cluster is up.
  API:        http://127.0.0.1:3001   (try: curl http://127.0.0.1:3001/readyz)
  metrics:    http://127.0.0.1:9401/metrics
  Prometheus: http://127.0.0.1:59090  (scrapes every replica, loads dashboards/alerts.yaml)
  status:   ./scripts/status.sh
  stop:     ./scripts/down.sh
MSG
