#!/usr/bin/env bash
# Stops everything ./scripts/up.sh started (nginx, the service replicas, then the infrastructure). Keeps the data.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
"$ROOT/scripts/lb.sh" stop
"$ROOT/scripts/replicas.sh" stop
"$ROOT/scripts/infra.sh" stop
log "stopped"
