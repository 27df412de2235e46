#!/usr/bin/env bash
# Runs the survival suite against the local cluster (started if needed: 3 replicas behind nginx) and prints
# the table it measured; the markdown is also written to .state/survival.md.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bring_up_infra
"$ROOT/scripts/cluster.sh" --replicas 3
cd "$ROOT"
npx --no-install vitest run service/test/cluster
echo
cat "$STATE/survival.md"
