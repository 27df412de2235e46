#!/usr/bin/env bash
# A local Kubernetes cluster with kind: build the image, load it, install metrics-server (the HPA's CPU source),
# Postgres and the chart, smoke-test. Needs docker, kind, kubectl, helm and a network (images come from their
# registries).   scripts/kind-up.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"

CLUSTER=${KIND_CLUSTER:-auth-cluster}
NAMESPACE=${KIND_NAMESPACE:-auth}
TAG=${IMAGE_TAG:-dev-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || date +%s)}
IMAGE="auth-cluster:$TAG"
METRICS_SERVER_VERSION=v0.7.2

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || die "$tool is required (see charts/auth-cluster/README.md: kind)"
done

if ! kind get clusters | grep -qx "$CLUSTER"; then
  log "creating kind cluster $CLUSTER"
  kind create cluster --name "$CLUSTER" --config "$ROOT/k8s/kind-cluster.yaml" --wait 120s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null

# kind ships no metrics-server: without one the HPA never scales (cpu: <unknown>). kind's kubelets serve
# self-signed certificates, hence --kubelet-insecure-tls.
if ! kubectl get apiservice v1beta1.metrics.k8s.io >/dev/null 2>&1; then
  log "installing metrics-server $METRICS_SERVER_VERSION"
  kubectl apply -f "https://github.com/kubernetes-sigs/metrics-server/releases/download/$METRICS_SERVER_VERSION/components.yaml"
  kubectl -n kube-system patch deployment metrics-server --type=json \
    -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]'
fi

log "building $IMAGE"
docker build -t "$IMAGE" "$ROOT"
kind load docker-image "$IMAGE" --name "$CLUSTER"

kubectl get namespace "$NAMESPACE" >/dev/null 2>&1 || kubectl create namespace "$NAMESPACE"
if ! kubectl -n "$NAMESPACE" get secret auth-postgres >/dev/null 2>&1; then
  kubectl -n "$NAMESPACE" create secret generic auth-postgres --from-literal=password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
fi
log "installing Postgres (k8s/postgres.yaml)"
kubectl -n "$NAMESPACE" apply -f "$ROOT/k8s/postgres.yaml"
kubectl -n "$NAMESPACE" rollout status statefulset/auth-postgres --timeout=180s

log "installing the chart"
helm upgrade --install auth "$ROOT/charts/auth-cluster" -n "$NAMESPACE" \
  -f "$ROOT/k8s/values-kind.yaml" --set image.repository=auth-cluster --set image.tag="$TAG" \
  --wait --timeout 10m

log "smoke test through a port-forward"
kubectl -n "$NAMESPACE" port-forward svc/auth-auth-cluster 18080:80 >/dev/null 2>&1 &
pf=$!
trap 'kill $pf 2>/dev/null || true' EXIT
wait_port 18080 30 || die "port-forward did not open"
user="smoke-$(date +%s)"
password="smoke password $RANDOM"
curl -fsS -X POST http://127.0.0.1:18080/v1/users -H 'content-type: application/json' \
  -d "{\"username\":\"$user\",\"password\":\"$password\"}" >/dev/null
token=$(curl -fsS -X POST http://127.0.0.1:18080/v1/sessions -H 'content-type: application/json' \
  -d "{\"username\":\"$user\",\"password\":\"$password\"}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || die "login failed"
curl -fsS http://127.0.0.1:18080/v1/session -H "authorization: Bearer $token" >/dev/null || die "validation failed"
log "smoke test passed: registered, logged in and validated through svc/auth-auth-cluster"
log "reach it with: kubectl -n $NAMESPACE port-forward svc/auth-auth-cluster 8080:80"
log "end-to-end suite: scripts/kind-e2e.sh"
