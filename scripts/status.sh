#!/usr/bin/env bash
# Every component of the local system with its port and pid.   ./scripts/status.sh [--json]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if [ "${1:-}" = --json ]; then
  printf '{"infrastructure":%s,"loadBalancer":%s,"replicas":%s}\n' "$("$ROOT/scripts/infra.sh" status --json)" \
    "$("$ROOT/scripts/lb.sh" status --json)" "$("$ROOT/scripts/replicas.sh" status --json)"
else
  "$ROOT/scripts/infra.sh" status
  "$ROOT/scripts/lb.sh" status
  "$ROOT/scripts/replicas.sh" status
fi
