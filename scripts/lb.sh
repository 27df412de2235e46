#!/usr/bin/env bash
# nginx as the load balancer on 127.0.0.1:8080 in front of the service replicas: round robin, passive health
# checks, and a retry on another replica when a connection to one fails.
#
#   scripts/lb.sh start [--replicas N]   (re)write the config for replicas 1..N and start or reload nginx
#   scripts/lb.sh stop
#   scripts/lb.sh status [--json]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$STATE/nginx"
PIDFILE="$RUN/nginx.pid"

write_config() {
  local n=$1 i servers="" sockets=""
  for i in $(seq 1 "$n"); do
    # One failed connection takes a replica out for 2 s; nginx then tries it again.
    servers+="    server 127.0.0.1:$((3000 + i)) max_fails=1 fail_timeout=2s;"$'\n'
    # No passive failure marks for upgrades: nginx clears a mark only when a request through that replica
    # completes, which an open WebSocket never does, so after a restart every replica would stay marked and
    # take one new socket per fail_timeout. A refused connection still moves on to the next replica.
    sockets+="    server 127.0.0.1:$((3000 + i)) max_fails=0;"$'\n'
  done
  mkdir -p "$DIR/tmp"
  chown -R nobody:nogroup "$DIR/tmp" 2>/dev/null || chmod -R 777 "$DIR/tmp"
  cat >"$DIR/nginx.conf" <<CONF
worker_processes 1;
pid $PIDFILE;
error_log $LOGS/nginx-error.log warn;
events { worker_connections 4096; }
http {
  # The caller's X-Request-Id when it is valid (the service's own rule), else nginx's: one id end to end.
  map \$http_x_request_id \$auth_request_id {
    "~^[A-Za-z0-9._:-]{1,128}\$" \$http_x_request_id;
    default \$request_id;
  }
  log_format auth_cluster '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent '
                          '\$request_time \$upstream_addr request_id=\$auth_request_id';
  access_log $LOGS/nginx-access.log auth_cluster;
  client_body_temp_path $DIR/tmp/body;
  proxy_temp_path $DIR/tmp/proxy;
  fastcgi_temp_path $DIR/tmp/fastcgi;
  uwsgi_temp_path $DIR/tmp/uwsgi;
  scgi_temp_path $DIR/tmp/scgi;
  upstream auth_cluster {
$servers  }
  upstream auth_cluster_sockets {
$sockets  }
  server {
    listen 127.0.0.1:$LB_PORT;
    # nginx refuses a client's TRACE itself, with an HTML 405 and no Allow header; hand it to a replica instead,
    # which answers as for any method a path lacks (405 method_not_allowed with Allow, or 404).
    error_page 405 = @method_not_allowed;
    location @method_not_allowed {
      proxy_pass http://auth_cluster;
      proxy_method TRACE;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Request-Id \$auth_request_id;
      proxy_connect_timeout 1s;
    }
    # Live session events: the WebSocket upgrade goes through; the socket stays open between the server's pings
    # (WS_PING_INTERVAL_S, 30 s), so the read timeout is well above that.
    location = /v1/events {
      proxy_pass http://auth_cluster_sockets;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Request-Id \$auth_request_id;
      proxy_connect_timeout 1s;
      proxy_read_timeout 90s;
      proxy_send_timeout 90s;
      proxy_next_upstream error timeout;
      proxy_next_upstream_tries 3;
    }
    location / {
      proxy_pass http://auth_cluster;
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Request-Id \$auth_request_id;
      proxy_connect_timeout 1s;
      proxy_read_timeout 60s;
      # Retry on another replica only when the connection failed or timed out. nginx never resends a
      # non-idempotent request (POST) that reached a replica, so a login is never performed twice.
      proxy_next_upstream error timeout;
      proxy_next_upstream_tries 3;
    }
  }
}
CONF
}

main() {
  local cmd=${1:-status} n=3
  shift || true
  while [ $# -gt 0 ]; do
    case $1 in
      --replicas) n=$2; shift 2 ;;
      --json) json=1; shift ;;
      *) die "usage: $0 start [--replicas N] | stop | status [--json]" ;;
    esac
  done
  mkdir -p "$RUN" "$LOGS"
  case $cmd in
    start)
      ensure_packages nginx=nginx-light
      write_config "$n"
      nginx -t -q -c "$DIR/nginx.conf" -p "$DIR"
      if pid_alive "$PIDFILE"; then
        log "reloading nginx for $n replicas"
        nginx -s reload -c "$DIR/nginx.conf" -p "$DIR"
      else
        log "starting nginx on 127.0.0.1:$LB_PORT for $n replicas"
        nginx -c "$DIR/nginx.conf" -p "$DIR"
      fi
      wait_port "$LB_PORT" 10 || die "nginx did not open port $LB_PORT"
      ;;
    stop)
      if pid_alive "$PIDFILE"; then
        log "stopping nginx (pid $(head -n 1 "$PIDFILE"))"
        nginx -s quit -c "$DIR/nginx.conf" -p "$DIR" || true
        for _ in $(seq 1 50); do pid_alive "$PIDFILE" || break; sleep 0.1; done
      fi
      ;;
    status)
      local pid=""
      if pid_alive "$PIDFILE"; then pid=$(head -n 1 "$PIDFILE"); fi
      printf 'nginx|%s|%s||\n' "$LB_PORT" "$pid" | print_status "$([ "${json:-0}" = 1 ] && echo --json)"
      ;;
    *) die "usage: $0 start [--replicas N] | stop | status [--json]" ;;
  esac
}

main "$@"
