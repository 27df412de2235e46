#!/usr/bin/env bash
# Installs and starts what the tests need (or reuses what runs), then runs the whole suite:
# ShellCheck, ESLint, the TypeScript type check and every vitest test: the service against the real servers,
# the survival suite through nginx, the dashboards on a real Prometheus, the chart with real helm 4 and 3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ensure_packages curl=curl shellcheck=shellcheck
ensure_node_modules
build_service
"$ROOT/scripts/infra.sh" start
"$ROOT/scripts/migrate.sh"

# Tools for the chart and image checks, built or installed once per machine.
HELM4_BIN=$(ensure_helm "$HELM4_VERSION")
HELM3_BIN=$(ensure_helm "$HELM3_VERSION")
K8S_OPENAPI=$(ensure_k8s_openapi)
HADOLINT_BIN=$(ensure_hadolint)
export HELM4_BIN HELM3_BIN K8S_OPENAPI HADOLINT_BIN K8S_VERSION

log "shellcheck"
shellcheck "$ROOT"/scripts/*.sh "$ROOT"/.ci/run
log "eslint"
(cd "$ROOT" && npx --no-install eslint .)
log "typecheck"
(cd "$ROOT" && npx --no-install tsc -p tsconfig.json --noEmit)
log "vitest"
cd "$ROOT"
report="$STATE/vitest-report.json"
rm -f "$report"
status=0
npx --no-install vitest run --reporter=default --reporter=json --outputFile="$report" "$@" || status=$?
# One plain closing line that any CI can read.
if [ -s "$report" ]; then
  # shellcheck disable=SC2016  # the template literal is JavaScript
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);' "$report"
fi
exit "$status"
