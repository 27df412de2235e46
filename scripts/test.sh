#!/usr/bin/env bash
# Installs and starts what the tests need (or reuses what runs), then runs the whole suite:
# ShellCheck, ESLint, the TypeScript type check and every vitest test: the service against the real servers,
# the survival suite through nginx, the dashboards on a real Prometheus, the chart with real helm 4 and 3, and
# the end-to-end suite on a real Kubernetes (scripts/k8s-local.sh), which is stopped again at the end.
# Arguments go to vitest: test files under service/test/k8s run on the cluster, the rest on loopback.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Debian's chromium for the demo page's browser tests (driven by playwright-core; no browser download).
ensure_packages curl=curl shellcheck=shellcheck chromium=chromium
bring_up_infra

# Tools for the chart and image checks, built or installed once per machine.
HELM4_BIN=$(ensure_helm "$HELM4_VERSION")
HELM3_BIN=$(ensure_helm "$HELM3_VERSION")
K8S_OPENAPI=$(ensure_k8s_openapi)
HADOLINT_BIN=$(ensure_hadolint)
# schemathesis fuzzes the local cluster from the API description (service/test/cluster/api-contract.test.ts).
SCHEMATHESIS_BIN=$(ensure_schemathesis)
# AUTH_TEST_SH: inside this script the chart tests may never skip (service/test/support/chart.ts).
AUTH_TEST_SH=1
export HELM4_BIN HELM3_BIN K8S_OPENAPI HADOLINT_BIN K8S_VERSION SCHEMATHESIS_BIN AUTH_TEST_SH

log "shellcheck"
shellcheck "$ROOT"/scripts/*.sh "$ROOT"/.ci/run
log "eslint"
(cd "$ROOT" && npx --no-install eslint .)
log "redocly lint (the API description)"
(cd "$ROOT" && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --no-install redocly lint docs/openapi.json --config docs/redocly.yaml)
log "typecheck"
(cd "$ROOT" && npx --no-install tsc -p tsconfig.json --noEmit)
# Test files of the end-to-end suite run on a real Kubernetes (below); everything else runs here.
k8s_args=()
local_args=()
for a in "$@"; do
  case $a in
    service/test/k8s*) k8s_args+=("$a") ;;
    *) local_args+=("$a") ;;
  esac
done
reports=()
status=0
cd "$ROOT"
if [ $# -eq 0 ] || [ ${#local_args[@]} -gt 0 ]; then
  log "vitest (loopback)"
  reports+=("$STATE/vitest-report.json")
  rm -f "${reports[-1]}"
  npx --no-install vitest run --exclude 'service/test/k8s/**' --reporter=default --reporter=json \
    --outputFile="${reports[-1]}" "${local_args[@]}" || status=$?
fi

# The end-to-end suite on a real one-node Kubernetes built on this machine (scripts/k8s-e2e.sh starts the
# cluster and stops it again at the end, also on failure).
if [ $# -eq 0 ] || [ ${#k8s_args[@]} -gt 0 ]; then
  reports+=("$STATE/vitest-report-k8s.json")
  rm -f "${reports[-1]}"
  "$ROOT/scripts/k8s-e2e.sh" --reporter=default --reporter=json --outputFile="${reports[-1]}" "${k8s_args[@]}" || status=$?
fi

# One plain closing line that any CI can read.
# shellcheck disable=SC2016  # the template literal is JavaScript
node -e 'let passed = 0, failed = 0;
  for (const f of process.argv.slice(1)) {
    try { const r = JSON.parse(require("fs").readFileSync(f, "utf8")); passed += r.numPassedTests; failed += r.numFailedTests; }
    catch { failed++; console.log(`no report at ${f}`); }
  }
  console.log(`tests: ${passed} passed, ${failed} failed`);' "${reports[@]}"
exit "$status"
