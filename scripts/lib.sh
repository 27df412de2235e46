#!/usr/bin/env bash
# Shared settings and helpers for the local scripts. Sourced, never run.
# shellcheck disable=SC2034  # variables are used by the scripts that source this file

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${AUTH_STATE_DIR:-$ROOT/.state}"
RUN="$STATE/run"
LOGS="$STATE/logs"

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_PORT="${PG_PORT:-55432}"
PGBOUNCER_PORT="${PGBOUNCER_PORT:-56432}"
REDIS_MASTER_PORT="${REDIS_MASTER_PORT:-56379}"
REDIS_REPLICA_PORT="${REDIS_REPLICA_PORT:-56380}"
SENTINEL_PORTS=(56391 56392 56393)
REDIS_MASTER_NAME="${REDIS_MASTER_NAME:-auth-master}"
SENTINEL_DOWN_AFTER_MS="${SENTINEL_DOWN_AFTER_MS:-2000}"
SENTINEL_FAILOVER_TIMEOUT_MS="${SENTINEL_FAILOVER_TIMEOUT_MS:-6000}"
PROMETHEUS_PORT="${PROMETHEUS_PORT:-59090}"
LB_PORT="${LB_PORT:-8080}"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# pid_alive FILE: the pid in FILE names a live process.
pid_alive() {
  [ -s "$1" ] && kill -0 "$(head -n 1 "$1")" 2>/dev/null
}

# wait_port PORT [SECONDS]: wait until something accepts TCP connections on 127.0.0.1:PORT.
wait_port() {
  local port=$1 limit=${2:-20} i
  for ((i = 0; i < limit * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

is_debian_like() { [ -r /etc/debian_version ] && command -v apt-get >/dev/null; }

# ensure_packages CMD=PACKAGE...: install the Debian package of each missing command.
ensure_packages() {
  local missing=() pair cmd pkg
  for pair in "$@"; do
    cmd=${pair%%=*}; pkg=${pair#*=}
    if [ -x "$cmd" ] || command -v "$cmd" >/dev/null 2>&1; then continue; fi
    missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! is_debian_like || [ "$(id -u)" -ne 0 ]; then
    die "missing packages: ${missing[*]}. Install them (Debian/Ubuntu: apt-get install ${missing[*]}) and run again."
  fi
  log "installing ${missing[*]} with apt-get"
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; then
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Secrets for the local system live in $STATE/secrets.env, generated once.
load_secrets() {
  mkdir -p "$STATE"
  local f="$STATE/secrets.env"
  if [ ! -s "$f" ]; then
    umask 077
    {
      echo "PG_PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
      echo "REDIS_PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
      echo "REDIS_SENTINEL_PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    } >"$f"
  fi
  # shellcheck disable=SC1090
  . "$f"
}

# write_service_env: the environment a service replica needs to reach the local infrastructure.
write_service_env() {
  load_secrets
  local sentinels
  sentinels=$(printf '127.0.0.1:%s,' "${SENTINEL_PORTS[@]}")
  cat >"$STATE/service.env" <<ENV
REDIS_SENTINELS=${sentinels%,}
REDIS_MASTER_NAME=$REDIS_MASTER_NAME
REDIS_PASSWORD=$REDIS_PASSWORD
REDIS_SENTINEL_PASSWORD=$REDIS_SENTINEL_PASSWORD
DATABASE_URL=postgresql://auth:$PG_PASSWORD@127.0.0.1:$PGBOUNCER_PORT/auth
DIRECT_DATABASE_URL=postgresql://auth:$PG_PASSWORD@127.0.0.1:$PG_PORT/auth
ENV
  chmod 600 "$STATE/service.env"
}

# The toolchain: the pinned Node.js, and the tools the tests use (helm, hadolint, schemathesis, Kubernetes' OpenAPI).
# shellcheck source=scripts/toolchain.sh
. "$ROOT/scripts/toolchain.sh"

# bring_up_infra: what every entry point needs before the service can run here: dependencies, a build, the
# servers (started or reused) and the migrations.
bring_up_infra() {
  ensure_node_modules
  build_service
  "$ROOT/scripts/infra.sh" start
  "$ROOT/scripts/migrate.sh"
}

# print_status [--json]: the status of components, one row each on stdin, "name|port|pid|note|json fields" (pid
# empty when stopped; the note follows the pid in text, the fields join the JSON object): one line per component,
# or a JSON array. The one printer of infra.sh, lb.sh and replicas.sh (and so of status.sh).
print_status() {
  local json=${1:-} name port pid note extra first=1
  [ "$json" = --json ] && printf '['
  while IFS='|' read -r name port pid note extra; do
    if [ "$json" = --json ]; then
      [ $first -eq 1 ] || printf ','
      first=0
      printf '{"name":"%s","port":%s%s,"pid":%s,"running":%s}' "$name" "$port" "$extra" "${pid:-null}" \
        "$([ -n "$pid" ] && echo true || echo false)"
    else
      printf '%-14s 127.0.0.1:%-6s %s\n' "$name" "$port" "$([ -n "$pid" ] && echo "pid $pid$note" || echo stopped)"
    fi
  done
  if [ "$json" = --json ]; then printf ']\n'; fi
  return 0
}

# parse_replicas ARGS...: sets replicas from --replicas N (1 to 9, default 3); refuses anything else.
parse_replicas() {
  replicas=3
  while [ $# -gt 0 ]; do
    case $1 in
      --replicas) [ $# -ge 2 ] || die "--replicas needs a number"; replicas=$2; shift 2 ;;
      *) die "usage: $0 [--replicas N]" ;;
    esac
  done
  [[ $replicas =~ ^[1-9]$ ]] || die "--replicas must be 1 to 9"
}
