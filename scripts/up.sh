#!/usr/bin/env bash
# Brings the whole local system up on 127.0.0.1: installs what is missing, builds, starts PostgreSQL,
# PgBouncer, Redis + Sentinel and Prometheus, applies migrations, starts N service replicas (default 3) behind
# nginx on :8080, and seeds a demo user. Idempotent.
#   ./scripts/up.sh [--replicas N]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

parse_replicas "$@"

ensure_packages curl=curl
bring_up_infra
"$ROOT/scripts/cluster.sh" --replicas "$replicas"

# A demo user, created once; its password is kept in .state/demo-credentials.
creds="$STATE/demo-credentials"
if [ ! -s "$creds" ]; then
  printf 'demo %s\n' "$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n')" >"$creds"
  chmod 600 "$creds"
fi
read -r demo_user demo_password <"$creds"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$LB_PORT/v1/users" \
  -H 'content-type: application/json' -d "{\"username\":\"$demo_user\",\"password\":\"$demo_password\"}")
case $code in
  201 | 409) ;;
  *) die "could not create the demo user (HTTP $code)" ;;
esac

cat <<MSG

auth-cluster is up: $replicas replicas behind nginx.
  URL:        http://127.0.0.1:$LB_PORT   (try: curl http://127.0.0.1:$LB_PORT/readyz)
  demo page:  http://127.0.0.1:$LB_PORT/  (sign in, watch the session live, revoke it from another browser)
  demo user:  $demo_user / $demo_password
              curl -X POST http://127.0.0.1:$LB_PORT/v1/sessions -H 'content-type: application/json' \\
                -d '{"username":"$demo_user","password":"$demo_password"}'
  replicas:   http://127.0.0.1:3001 … :300$replicas, metrics :9401 … :940$replicas
  Prometheus: http://127.0.0.1:$PROMETHEUS_PORT  (scrapes every replica, loads dashboards/alerts.yaml)
  status:     ./scripts/status.sh
  stop:       ./scripts/down.sh
MSG
