#!/usr/bin/env bash
# The end-to-end suite (service/test/k8s) on the local one-node Kubernetes (scripts/k8s-local.sh), which this
# starts and, at the end, stops again, also when a test fails: the image built from the Dockerfile under two tags,
# the chart installed with Helm 4 and Helm 3. ./scripts/test.sh runs it after the loopback suite; kind users run
# the same suite with scripts/kind-e2e.sh. Arguments go to vitest.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ensure_node_modules
HELM4_BIN=${HELM4_BIN:-$(ensure_helm "$HELM4_VERSION")}
HELM3_BIN=${HELM3_BIN:-$(ensure_helm "$HELM3_VERSION")}
trap '"$ROOT/scripts/k8s-local.sh" down' EXIT
"$ROOT/scripts/k8s-local.sh" up
"$ROOT/scripts/k8s-images.sh" app e2e-a e2e-b
"$ROOT/scripts/k8s-local.sh" load auth-cluster:e2e-a auth-cluster:e2e-b
eval "$("$ROOT/scripts/k8s-local.sh" env)"
export KUBECONFIG KUBECTL K8S_CONTAINERD_SOCK HELM4_BIN HELM3_BIN E2E_IMAGE=auth-cluster E2E_IMAGE_TAGS=e2e-a,e2e-b
log "vitest (Kubernetes end to end)"
cd "$ROOT"
npx --no-install vitest run service/test/k8s "$@"
