#!/usr/bin/env bash
# Local infrastructure on 127.0.0.1: PostgreSQL, PgBouncer (transaction pooling), a Redis master with one
# replica, and three Sentinels (quorum 2). All state lives in .state/ of the repo.
#
#   scripts/infra.sh start [component...]   start what is not running (idempotent)
#   scripts/infra.sh stop [component...]    stop what was started here
#   scripts/infra.sh kill component...      SIGKILL, as a crash or node loss would
#   scripts/infra.sh status [--json]        every component with its port and pid
#
# Components: postgres pgbouncer redis-master redis-replica sentinel-1 sentinel-2 sentinel-3 prometheus
# Prometheus scrapes the service replicas listed in .state/prometheus/targets.json (kept by replicas.sh) and
# loads dashboards/alerts.yaml.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

ALL=(postgres pgbouncer redis-master redis-replica sentinel-1 sentinel-2 sentinel-3 prometheus)

install_missing() {
  ensure_packages "$PG_BIN/postgres=postgresql" psql=postgresql-client pgbouncer=pgbouncer \
    redis-server=redis-server redis-sentinel=redis-sentinel redis-cli=redis-tools prometheus=prometheus
}

as_postgres() { runuser -u postgres -- "$@"; }

pg_dir() { echo "$STATE/postgres"; }

port_of() {
  case $1 in
    postgres) echo "$PG_PORT" ;;
    pgbouncer) echo "$PGBOUNCER_PORT" ;;
    redis-master) echo "$REDIS_MASTER_PORT" ;;
    redis-replica) echo "$REDIS_REPLICA_PORT" ;;
    sentinel-[123]) echo "${SENTINEL_PORTS[$((${1#sentinel-} - 1))]}" ;;
    prometheus) echo "$PROMETHEUS_PORT" ;;
    *) die "unknown component $1" ;;
  esac
}

pidfile_of() {
  case $1 in
    postgres) echo "$(pg_dir)/data/postmaster.pid" ;;
    pgbouncer) echo "$STATE/pgbouncer/pgbouncer.pid" ;;
    *) echo "$RUN/$1.pid" ;;
  esac
}

pid_of() {
  local f
  f=$(pidfile_of "$1")
  if pid_alive "$f" 2>/dev/null; then head -n 1 "$f"; fi
}

# PostgreSQL refuses to run as root, so the postgres user must be able to reach .state/: grant search
# (not read) permission on any ancestor directory that denies it.
ensure_postgres_can_reach() {
  local p=$1
  while [ "$p" != / ] && [ -n "$p" ]; do
    if ! runuser -u postgres -- test -x "$p"; then
      log "granting search permission on $p to the postgres user"
      chmod o+x "$p"
    fi
    p=$(dirname "$p")
  done
}

start_postgres() {
  local dir
  dir=$(pg_dir)
  mkdir -p "$dir/run"
  chown -R postgres:postgres "$dir"
  ensure_postgres_can_reach "$dir"
  if [ ! -s "$dir/data/PG_VERSION" ]; then
    log "initdb in $dir/data"
    # No password file: the superuser logs in by peer only, and the application role's password is set below.
    as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 >"$LOGS/initdb.log"
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$dir/run'
max_connections = 200
fsync = on
CONF
  fi
  log "starting postgres on 127.0.0.1:$PG_PORT"
  touch "$LOGS/postgres.log" && chown postgres "$LOGS/postgres.log"
  as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$LOGS/postgres.log" -w -t 30 start >/dev/null
  # The application role and database, created once.
  local psql=(runuser -u postgres -- psql -h "$dir/run" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qtA)
  if [ "$("${psql[@]}" -c "select 1 from pg_roles where rolname='auth'")" != 1 ]; then
    "${psql[@]}" -c "create role auth login password '$PG_PASSWORD'"
  fi
  if [ "$("${psql[@]}" -c "select 1 from pg_database where datname='auth'")" != 1 ]; then
    "${psql[@]}" -c "create database auth owner auth"
  fi
}

start_pgbouncer() {
  local dir="$STATE/pgbouncer"
  mkdir -p "$dir"
  ensure_postgres_can_reach "$dir"
  cat >"$dir/pgbouncer.ini" <<CONF
[databases]
auth = host=127.0.0.1 port=$PG_PORT dbname=auth

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 40
server_reset_query =
; Fail fast while Postgres is away, instead of holding queries for the 120 s default.
query_wait_timeout = 1
server_login_retry = 1
server_connect_timeout = 2
ignore_startup_parameters = extra_float_digits,options
pidfile = $dir/pgbouncer.pid
logfile = $LOGS/pgbouncer.log
admin_users = auth
CONF
  printf '"auth" "%s"\n' "$PG_PASSWORD" >"$dir/userlist.txt"
  chmod 600 "$dir/userlist.txt"
  chown -R postgres:postgres "$dir"
  touch "$LOGS/pgbouncer.log" && chown postgres "$LOGS/pgbouncer.log"
  log "starting pgbouncer on 127.0.0.1:$PGBOUNCER_PORT (transaction pooling)"
  as_postgres pgbouncer -d -q "$dir/pgbouncer.ini"
  wait_port "$PGBOUNCER_PORT" 10 || die "pgbouncer did not open port $PGBOUNCER_PORT (see $LOGS/pgbouncer.log)"
}

start_redis() { # name port [replicaof-port]
  local name=$1 port=$2 dir="$STATE/$1"
  mkdir -p "$dir"
  # Written once: after a failover Redis and Sentinel rewrite these files, and they must keep their roles.
  if [ ! -s "$dir/redis.conf" ]; then
    cat >"$dir/redis.conf" <<CONF
bind 127.0.0.1
port $port
dir $dir
requirepass $REDIS_PASSWORD
masterauth $REDIS_PASSWORD
appendonly yes
appendfsync everysec
save ""
protected-mode yes
CONF
    if [ -n "${3:-}" ]; then echo "replicaof 127.0.0.1 $3" >>"$dir/redis.conf"; fi
  fi
  log "starting $name on 127.0.0.1:$port"
  # Sessions keep the compact hash encoding up to a 512-byte value (a session with a long user agent); the chart
  # sets the same (docs/performance.md). On the command line, so that a state directory from before applies it too.
  redis-server "$dir/redis.conf" --daemonize yes --pidfile "$RUN/$name.pid" --logfile "$LOGS/$name.log" \
    --hash-max-listpack-value 512
  wait_port "$port" 10 || die "$name did not open port $port"
}

start_sentinel() {
  local name=$1 port dir="$STATE/$1"
  port=$(port_of "$name")
  mkdir -p "$dir"
  if [ ! -s "$dir/sentinel.conf" ]; then
    cat >"$dir/sentinel.conf" <<CONF
bind 127.0.0.1
port $port
dir $dir
requirepass $REDIS_SENTINEL_PASSWORD
sentinel sentinel-pass $REDIS_SENTINEL_PASSWORD
sentinel monitor $REDIS_MASTER_NAME 127.0.0.1 $REDIS_MASTER_PORT 2
sentinel auth-pass $REDIS_MASTER_NAME $REDIS_PASSWORD
sentinel down-after-milliseconds $REDIS_MASTER_NAME $SENTINEL_DOWN_AFTER_MS
sentinel failover-timeout $REDIS_MASTER_NAME $SENTINEL_FAILOVER_TIMEOUT_MS
sentinel parallel-syncs $REDIS_MASTER_NAME 1
CONF
  fi
  log "starting $name on 127.0.0.1:$port"
  redis-sentinel "$dir/sentinel.conf" --daemonize yes --pidfile "$RUN/$name.pid" --logfile "$LOGS/$name.log"
  wait_port "$port" 10 || die "$name did not open port $port"
}

start_prometheus() {
  local dir="$STATE/prometheus"
  mkdir -p "$dir/data"
  [ -s "$dir/targets.json" ] || echo '[]' >"$dir/targets.json"
  cat >"$dir/prometheus.yml" <<CONF
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - $ROOT/dashboards/alerts.yaml
scrape_configs:
  - job_name: auth-cluster
    file_sd_configs:
      - files: ['$dir/targets.json']
        refresh_interval: 5s
CONF
  log "starting prometheus on 127.0.0.1:$PROMETHEUS_PORT"
  nohup prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --storage.tsdb.retention.time=2d --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
    >>"$LOGS/prometheus.log" 2>&1 &
  echo $! >"$RUN/prometheus.pid"
  wait_port "$PROMETHEUS_PORT" 20 || die "prometheus did not open port $PROMETHEUS_PORT (see $LOGS/prometheus.log)"
}

start_one() {
  if [ -n "$(pid_of "$1")" ]; then log "$1 already running (pid $(pid_of "$1"))"; return 0; fi
  case $1 in
    postgres) start_postgres ;;
    pgbouncer) start_pgbouncer ;;
    redis-master) start_redis redis-master "$REDIS_MASTER_PORT" ;;
    redis-replica) start_redis redis-replica "$REDIS_REPLICA_PORT" "$REDIS_MASTER_PORT" ;;
    sentinel-*) start_sentinel "$1" ;;
    prometheus) start_prometheus ;;
    *) die "unknown component $1" ;;
  esac
}

stop_one() {
  local pid
  pid=$(pid_of "$1")
  if [ -z "$pid" ]; then return 0; fi
  log "stopping $1 (pid $pid)"
  if [ "$1" = postgres ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$(pg_dir)/data" -m fast -w stop >/dev/null
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

status() {
  local c
  for c in "${ALL[@]}"; do printf '%s|%s|%s||\n' "$c" "$(port_of "$c")" "$(pid_of "$c")"; done | print_status "${1:-}"
}

main() {
  local cmd=${1:-status}
  shift || true
  mkdir -p "$RUN" "$LOGS"
  case $cmd in
    start)
      install_missing
      load_secrets
      write_service_env
      local c
      for c in "${@:-${ALL[@]}}"; do start_one "$c"; done
      ;;
    stop)
      local c list=("${@:-${ALL[@]}}") i
      for ((i = ${#list[@]} - 1; i >= 0; i--)); do stop_one "${list[$i]}"; done
      ;;
    kill)
      local c pid
      for c in "$@"; do
        pid=$(pid_of "$c")
        if [ -n "$pid" ]; then log "killing $c (pid $pid, SIGKILL)"; kill -KILL "$pid"; fi
      done
      ;;
    status) status "${1:-}" ;;
    *) die "usage: $0 start|stop|kill|status [component...]" ;;
  esac
}

main "$@"
