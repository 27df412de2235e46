#!/usr/bin/env bash
# Installs and starts what the tests need (or reuses what runs), then runs the whole suite:
# ShellCheck, ESLint, the TypeScript type check and every vitest test against the real services.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ensure_packages curl=curl shellcheck=shellcheck
ensure_node_modules
build_service
"$ROOT/scripts/infra.sh" start
"$ROOT/scripts/migrate.sh"

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
