#!/usr/bin/env bash
# The end-to-end suite (service/test/k8s) — the same one CI runs on the local cluster of scripts/k8s-local.sh —
# against the kind cluster from scripts/kind-up.sh: the image under two tags, the chart installed with Helm 4 and
# Helm 3 in the namespace auth-e2e (k8s/values-e2e.yaml), upgrades, pod and Redis faults, the HPA, the PDB and
# uninstall, each under a load that records every request. The API is reached on 127.0.0.1:30080, the NodePort
# that k8s/kind-cluster.yaml maps, so every request goes through the Service (no port-forward, which pins a pod).
# Needs docker, kind, kubectl, Node.js, and Go for Helm 4.3.1 and 3.22.0 (or HELM4_BIN and HELM3_BIN).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

CLUSTER=${KIND_CLUSTER:-auth-cluster}
for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || die "$tool is required (see charts/auth-cluster/README.md: kind)"
done
kind get clusters | grep -qx "$CLUSTER" || die "no kind cluster $CLUSTER: run scripts/kind-up.sh first"
ensure_node_modules
HELM4_BIN=${HELM4_BIN:-$(ensure_helm "$HELM4_VERSION")}
HELM3_BIN=${HELM3_BIN:-$(ensure_helm "$HELM3_VERSION")}

KUBECONFIG=$(mktemp)
trap 'rm -f "$KUBECONFIG"' EXIT
kind get kubeconfig --name "$CLUSTER" >"$KUBECONFIG"
kubectl --kubeconfig "$KUBECONFIG" get apiservice v1beta1.metrics.k8s.io >/dev/null 2>&1 ||
  die "metrics-server is missing (the HPA scenario needs it): run scripts/kind-up.sh, which installs it"

log "building auth-cluster:e2e-a (and e2e-b, the same build) and loading them into kind"
docker build -t auth-cluster:e2e-a -t auth-cluster:e2e-b "$ROOT"
kind load docker-image auth-cluster:e2e-a auth-cluster:e2e-b --name "$CLUSTER"

KUBECTL=$(command -v kubectl)
export KUBECONFIG KUBECTL HELM4_BIN HELM3_BIN E2E_IMAGE=auth-cluster E2E_IMAGE_TAGS=e2e-a,e2e-b
cd "$ROOT"
npx --no-install vitest run service/test/k8s
