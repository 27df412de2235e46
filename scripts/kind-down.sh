#!/usr/bin/env bash
# Deletes the kind cluster that scripts/kind-up.sh created.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
CLUSTER=${KIND_CLUSTER:-auth-cluster}
command -v kind >/dev/null || die "kind is required"
kind delete cluster --name "$CLUSTER"
