#!/usr/bin/env bash
# On the kind cluster from kind-up.sh, under a small load: delete a pod, scale to 3, roll out a config change.
# Sessions issued before each step must still validate after it; says so, or fails.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

NAMESPACE=${KIND_NAMESPACE:-auth}
DEPLOY=deploy/auth-auth-cluster
PORT=18081
command -v kubectl >/dev/null || die "kubectl is required"

kubectl -n "$NAMESPACE" port-forward svc/auth-auth-cluster "$PORT:80" >/dev/null 2>&1 &
pf=$!
load_pid=""
trap 'kill $pf $load_pid 2>/dev/null || true' EXIT
wait_port "$PORT" 30 || die "port-forward did not open"
api="http://127.0.0.1:$PORT"

post() { curl -fsS -X POST "$api$1" -H 'content-type: application/json' -d "$2"; }
tokens=()
new_session() {
  local user password token
  user="e2e-$(date +%s%N)"
  password="e2e password $RANDOM"
  post /v1/users "{\"username\":\"$user\",\"password\":\"$password\"}" >/dev/null
  token=$(post /v1/sessions "{\"username\":\"$user\",\"password\":\"$password\"}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
  [ -n "$token" ] || die "login failed"
  tokens+=("$token")
}
check_all() {
  local t code lost=0
  for t in "${tokens[@]}"; do
    for _ in 1 2 3 4 5; do
      code=$(curl -s -o /dev/null -w '%{http_code}' "$api/v1/session" -H "authorization: Bearer $t")
      [ "$code" = 503 ] || [ "$code" = 000 ] || break
      sleep 1
    done
    [ "$code" = 200 ] || lost=$((lost + 1))
  done
  [ "$lost" -eq 0 ] || die "$1: $lost of ${#tokens[@]} sessions lost"
  log "$1: all ${#tokens[@]} sessions still valid"
}
# A small background load of validations, bounded to 10 minutes.
(end=$((SECONDS + 600)); while [ $SECONDS -lt $end ]; do
  curl -s -o /dev/null "$api/readyz"; sleep 0.2; done) &
load_pid=$!

for _ in 1 2 3 4 5; do new_session; done
pod=$(kubectl -n "$NAMESPACE" get pods -l app.kubernetes.io/component=api -o jsonpath='{.items[0].metadata.name}')
log "deleting pod $pod"
kubectl -n "$NAMESPACE" delete pod "$pod" --wait=true
kubectl -n "$NAMESPACE" rollout status "$DEPLOY" --timeout=180s
check_all "after deleting a pod"

new_session
log "scaling to 3 replicas"
kubectl -n "$NAMESPACE" patch hpa auth-auth-cluster --type merge -p '{"spec":{"minReplicas":3}}'
kubectl -n "$NAMESPACE" wait --for=jsonpath='{.status.readyReplicas}'=3 "$DEPLOY" --timeout=180s
check_all "after scaling to 3"

new_session
log "rolling out a config change"
helm upgrade auth "$ROOT/charts/auth-cluster" -n "$NAMESPACE" --reuse-values --set config.logLevel=debug --wait --timeout 10m
kubectl -n "$NAMESPACE" rollout status "$DEPLOY" --timeout=300s
check_all "after a rolling config change"
log "kind e2e passed: sessions survived a pod deletion, a scale-out and a rollout"
