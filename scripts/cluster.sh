#!/usr/bin/env bash
# The local cluster on top of running infrastructure: N service replicas (default 3) with local settings,
# behind nginx on :8080. Replicas whose settings or build changed are restarted one at a time.
#   scripts/cluster.sh [--replicas N]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

parse_replicas "$@"
mkdir -p "$RUN"

# Local-only settings: anyone may register, cookies work over plain http, nginx's X-Forwarded-For is trusted,
# a cheaper bcrypt cost keeps a laptop responsive (production default: 12), the demo page is served at /, and
# live sockets are pinged every 5 s (production default: 30), so a killed replica's users go offline within 15 s.
cat >"$STATE/local.env" <<ENV
REGISTRATION=open
COOKIE_SECURE=false
TRUSTED_PROXIES=loopback
ALLOWED_ORIGINS=http://127.0.0.1:$LB_PORT,http://localhost:$LB_PORT
BCRYPT_COST=10
SHUTDOWN_DELAY_MS=0
SHUTDOWN_GRACE_MS=10000
DEMO_PAGE=true
WS_PING_INTERVAL_S=5
ENV

# The stamp covers the whole build, not only main.js: a change in any module restarts the replicas.
stamp=$( { cat "$STATE/service.env" "$STATE/local.env" 2>/dev/null; find "$ROOT/dist" -type f -name '*.js' -print0 | sort -z | xargs -0 cat; } | sha256sum | cut -c1-16)
for i in $("$ROOT/scripts/replicas.sh" status | awk '/pid/ {sub("replica-", "", $1); print $1}'); do
  if [ "$i" -gt "$replicas" ] || [ "$(cat "$RUN/replicas.stamp" 2>/dev/null)" != "$stamp" ]; then
    "$ROOT/scripts/replicas.sh" stop "$i"
    if [ "$i" -le "$replicas" ]; then "$ROOT/scripts/replicas.sh" start "$i"; fi
  fi
done
echo "$stamp" >"$RUN/replicas.stamp"
"$ROOT/scripts/replicas.sh" start --replicas "$replicas"
"$ROOT/scripts/lb.sh" start --replicas "$replicas"
