#!/usr/bin/env bash
# A real one-node Kubernetes on this machine, for the end-to-end suite (service/test/k8s), built without any
# image registry: the Kubernetes binaries, CoreDNS and metrics-server from the Go module proxy, etcd,
# containerd, runc and the CNI plugins from Debian, the images from scripts/k8s-images.sh. kind stays the way
# in for users with a network (scripts/kind-up.sh); kind's node image comes from Docker Hub.
#
#   scripts/k8s-local.sh up          install and build what is missing (once per machine), start the cluster
#   scripts/k8s-local.sh down        stop exactly what `up` started; remove the cluster's state (logs stay)
#   scripts/k8s-local.sh status      each component with its pid; exits 1 unless all run
#   scripts/k8s-local.sh env         KUBECONFIG, KUBECTL and the node's address, as shell assignments
#   scripts/k8s-local.sh load IMAGE... copy images from Docker into the node's containerd
#
# One cluster per machine: the node is the host itself (root, cgroup v1 with the cgroupfs driver), its address
# is the gateway of the pod bridge authk8s0, and NodePorts answer on 127.0.0.1. Like kind, it has a default
# StorageClass "standard" served by local-path-provisioner, and metrics-server for the HPA; both run on the node
# as processes rather than pods.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$ROOT/scripts/k8s-tools.sh"

K8S_RUN="$K8S_STATE/run"
PKI="$K8S_STATE/pki"
NODE_NAME="auth-node"
BRIDGE=authk8s0
POD_CIDR=10.244.0.0/24
NODE_IP=10.244.0.1 # the bridge's own address: the pods' gateway, and the node's InternalIP
SERVICE_CIDR=10.96.0.0/16
# Ports below Linux's ephemeral range (32768-60999): a port in it can be held by any client connection of the
# moment (the loopback suite opens thousands), and the server that wants it fails to bind.
ETCD_PORT=22379
APISERVER_PORT=26443
# shellcheck disable=SC2034  # used in k8s/local/kubelet.yaml (render)
KUBELET_PORT=20250
METRICS_SERVER_PORT=24443
# Images stay across clusters (the node's containerd root is cached per machine); everything else is fresh.
CONTAINERD_ROOT="$TOOLS/k8s-node-containerd"
CONTAINERD_SOCK="$K8S_STATE/containerd/containerd.sock"
KUBECONFIG_FILE="$K8S_STATE/kubeconfig"
# local-path-provisioner's helper pods (mkdir, rm) run in the Debian base the stand-ins are built on.
HELPER_IMAGE="auth-cluster-local/debian:bookworm"
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy coredns metrics-server local-path-provisioner)

kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" "$@"; }
ctr_() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }

# start NAME COMMAND...: runs COMMAND in the background, its output in $K8S_LOGS/NAME.log.
start() {
  local name=$1
  shift
  log "starting $name"
  setsid nohup "$@" >>"$K8S_LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$K8S_RUN/$name.pid"
}

# stop NAME [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 10).
stop() {
  local f="$K8S_RUN/$1.pid" pid i
  pid_alive "$f" || { rm -f "$f"; return 0; }
  pid=$(head -n 1 "$f")
  log "stopping $1"
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < ${2:-10} * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

# until_ok SECONDS WHAT COMMAND...: retries COMMAND until it succeeds.
until_ok() {
  local limit=$1 what=$2 i
  shift 2
  for ((i = 0; i < limit * 2; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "$what did not happen within ${limit}s (logs: $K8S_LOGS)"
}

# render FILE: k8s/local/FILE with every ${NAME} of the settings above replaced by its value.
render() {
  local text name
  text=$(<"$ROOT/k8s/local/$1")
  for name in K8S_STATE PKI NODE_IP POD_CIDR BRIDGE APISERVER_PORT KUBELET_PORT METRICS_SERVER_PORT \
    CONTAINERD_ROOT CONTAINERD_SOCK KUBECONFIG_FILE HELPER_IMAGE; do
    text=${text//"\${$name}"/${!name}}
  done
  printf '%s\n' "$text"
}

preflight() {
  [ "$(id -u)" -eq 0 ] || die "the local cluster runs its node on this machine and needs root"
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    log "warning: cgroup v2 here; the local cluster has only been run on cgroup v1 (kubelet's cgroupfs driver supports both)"
  elif [ ! -d /sys/fs/cgroup/cpu ] || [ ! -d /sys/fs/cgroup/memory ]; then
    die "no cgroup v1 cpu and memory hierarchies and no cgroup v2 under /sys/fs/cgroup: the kubelet cannot run here"
  fi
  ensure_packages containerd=containerd runc=runc etcd=etcd-server iptables=iptables conntrack=conntrack \
    openssl=openssl /usr/lib/cni/bridge=containernetworking-plugins
  ensure_k8s_binaries
  ensure_coredns
  ensure_metrics_server
  ensure_local_path_provisioner
}

pki() {
  mkdir -p "$PKI"
  local old_umask
  old_umask=$(umask)
  umask 077
  key() { openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$1.key"; }
  ca() { # ca NAME CN
    key "$1"
    openssl req -x509 -new -key "$PKI/$1.key" -subj "/CN=$2" -days 30 -out "$PKI/$1.crt" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
  }
  cert() { # cert NAME CA SUBJECT [SANS]
    key "$1"
    openssl req -new -key "$PKI/$1.key" -subj "$3" |
      openssl x509 -req -CA "$PKI/$2.crt" -CAkey "$PKI/$2.key" -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
        -days 30 -out "$PKI/$1.crt" -extfile <(
          printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n'
          [ -z "${4:-}" ] || printf 'subjectAltName=%s\n' "$4"
        ) 2>/dev/null
  }
  ca ca auth-k8s-ca
  cert apiserver ca /CN=kube-apiserver \
    "IP:$NODE_IP,IP:127.0.0.1,IP:${SERVICE_CIDR%.0/16}.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost"
  # One administrator identity for every component: a test cluster on one machine, with nobody else on it.
  cert admin ca "/O=system:masters/CN=auth-k8s-admin"
  ca front-proxy-ca auth-k8s-front-proxy-ca
  cert front-proxy-client front-proxy-ca /CN=front-proxy-client
  key sa
  openssl ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  umask "$old_umask"
  render kubeconfig >"$KUBECONFIG_FILE"
  chmod 600 "$KUBECONFIG_FILE"
}

SYSCTLS=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.ipv4.conf.all.route_localnet)

network() {
  # What this machine had, so that `down` puts it back (kube-proxy sets route_localnet for NodePorts on 127.0.0.1).
  [ -s "$K8S_STATE/sysctl.orig" ] || sysctl -e "${SYSCTLS[@]}" 2>/dev/null | sed 's/ = /=/' >"$K8S_STATE/sysctl.orig"
  sysctl -qw net.ipv4.ip_forward=1
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || log "warning: net.bridge.bridge-nf-call-iptables cannot be set"
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$NODE_IP/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  # dockerd sets the FORWARD policy to DROP; pod traffic on this bridge is let through.
  local dir
  for dir in -i -o; do
    iptables -C FORWARD "$dir" "$BRIDGE" -j ACCEPT 2>/dev/null || iptables -I FORWARD 1 "$dir" "$BRIDGE" -j ACCEPT
  done
  mkdir -p "$K8S_STATE/cni/net.d" "$K8S_STATE/cni/ipam"
  render cni.conflist >"$K8S_STATE/cni/net.d/10-authk8s.conflist"
}

control_plane() {
  start etcd etcd --name auth-local --data-dir "$K8S_STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls http://127.0.0.1:22380 --initial-advertise-peer-urls http://127.0.0.1:22380 \
    --initial-cluster auth-local=http://127.0.0.1:22380
  wait_port "$ETCD_PORT" 30 || die "etcd did not start (log: $K8S_LOGS/etcd.log)"
  start kube-apiserver "$K8S_BIN/kube-apiserver" \
    --advertise-address="$NODE_IP" --bind-address="$NODE_IP" --secure-port="$APISERVER_PORT" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" --service-cluster-ip-range="$SERVICE_CIDR" \
    --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --kubelet-client-certificate="$PKI/admin.crt" --kubelet-client-key="$PKI/admin.key" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --authorization-mode=Node,RBAC --allow-privileged=true --profiling=false \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --enable-aggregator-routing=true
  until_ok 90 "kube-apiserver ready" kc get --raw /readyz
  local auth=(--kubeconfig="$KUBECONFIG_FILE" --authentication-kubeconfig="$KUBECONFIG_FILE" --authorization-kubeconfig="$KUBECONFIG_FILE")
  start kube-controller-manager "$K8S_BIN/kube-controller-manager" "${auth[@]}" \
    --bind-address=127.0.0.1 --secure-port=20257 --leader-elect=false \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --use-service-account-credentials=true
  start kube-scheduler "$K8S_BIN/kube-scheduler" "${auth[@]}" --bind-address=127.0.0.1 --secure-port=20259 --leader-elect=false
}

start_containerd() {
  mkdir -p "$K8S_STATE/containerd" "$CONTAINERD_ROOT"
  render containerd.toml >"$K8S_STATE/containerd/config.toml"
  start containerd containerd --config "$K8S_STATE/containerd/config.toml"
  until_ok 30 "containerd answering" ctr_ version
  remove_containers
}

# remove_containers: tasks and containers left in the node's containerd (by an earlier cluster).
remove_containers() {
  local ids id
  ids=$(ctr_ tasks ls -q 2>/dev/null || true)
  for id in $ids; do ctr_ tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
  for id in $ids; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do ctr_ tasks delete "$id" >/dev/null 2>&1 && break; sleep 0.3; done
  done
  ids=$(ctr_ containers ls -q 2>/dev/null || true)
  for id in $ids; do ctr_ containers delete "$id" >/dev/null 2>&1 || true; done
}

# load IMAGE...: from Docker into the node's containerd, skipping images it already holds at the same id.
load_images() {
  local img id have list=()
  mkdir -p "$CONTAINERD_ROOT"
  for img in "$@"; do
    id=$(docker image inspect -f '{{.Id}}' "$img" 2>/dev/null) || die "image $img is not in Docker (scripts/k8s-images.sh builds it)"
    have=$(sed -n "s|^$img ||p" "$CONTAINERD_ROOT/loaded" 2>/dev/null | tail -n 1 || true)
    if [ "$have" = "$id" ] && ctr_ images ls -q 2>/dev/null | grep -q "/${img}$\|^${img}$"; then continue; fi
    list+=("$img")
  done
  [ ${#list[@]} -eq 0 ] && return 0
  log "loading into the node: ${list[*]}"
  docker save "${list[@]}" | ctr_ images import - >/dev/null
  for img in "${list[@]}"; do
    echo "$img $(docker image inspect -f '{{.Id}}' "$img")" >>"$CONTAINERD_ROOT/loaded"
  done
}

node_components() {
  mkdir -p "$K8S_STATE/kubelet"
  render kubelet.yaml >"$K8S_STATE/kubelet.yaml"
  start kubelet "$K8S_BIN/kubelet" --config="$K8S_STATE/kubelet.yaml" --kubeconfig="$KUBECONFIG_FILE" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --root-dir="$K8S_STATE/kubelet" \
    --cert-dir="$K8S_STATE/kubelet/pki"
  start kube-proxy "$K8S_BIN/kube-proxy" --kubeconfig="$KUBECONFIG_FILE" --hostname-override="$NODE_NAME" \
    --proxy-mode=iptables --cluster-cidr="$POD_CIDR" --conntrack-max-per-core=0 \
    --nodeport-addresses="127.0.0.0/8,$NODE_IP/32" \
    --healthz-bind-address=127.0.0.1:20256 --metrics-bind-address=127.0.0.1:20249
  render Corefile >"$K8S_STATE/Corefile"
  start coredns "$TOOLS/coredns-$COREDNS_VERSION/coredns" -conf "$K8S_STATE/Corefile"
  mkdir -p "$K8S_STATE/metrics-server"
  start metrics-server "$TOOLS/metrics-server-$METRICS_SERVER_VERSION/metrics-server" \
    --kubeconfig="$KUBECONFIG_FILE" --authentication-kubeconfig="$KUBECONFIG_FILE" --authorization-kubeconfig="$KUBECONFIG_FILE" \
    --bind-address="$NODE_IP" --secure-port="$METRICS_SERVER_PORT" --cert-dir="$K8S_STATE/metrics-server" \
    --kubelet-insecure-tls --kubelet-preferred-address-types=InternalIP --kubelet-use-node-status-port \
    --metric-resolution=15s
}

# Cluster objects (k8s/local/cluster.yaml), and local-path-provisioner, which serves the default StorageClass.
bootstrap_objects() {
  mkdir -p "$K8S_STATE/volumes"
  render cluster.yaml | kc apply -f - >/dev/null
  until_ok 60 "the default service account of local-path-storage" kc -n local-path-storage get serviceaccount default
  start local-path-provisioner "$TOOLS/local-path-provisioner-$LOCAL_PATH_PROVISIONER_VERSION/local-path-provisioner" \
    start --kubeconfig "$KUBECONFIG_FILE" --namespace local-path-storage --configmap-name local-path-config \
    --helper-image "$HELPER_IMAGE" --service-account-name default --provisioner-name rancher.io/local-path
}

node_ready() { [ "$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
metrics_available() { kc get --raw /apis/metrics.k8s.io/v1beta1/nodes; }

running() {
  local c
  for c in "${COMPONENTS[@]}"; do pid_alive "$K8S_RUN/$c.pid" || return 1; done
}

up() {
  preflight
  if running; then
    log "the local cluster already runs (KUBECONFIG=$KUBECONFIG_FILE)"
    return 0
  fi
  [ -d "$K8S_RUN" ] && { log "a partial cluster is left over; removing it first"; down_cluster; }
  ensure_docker
  "$ROOT/scripts/k8s-images.sh" stand-ins
  local t0=$SECONDS
  mkdir -p "$K8S_RUN" "$K8S_LOGS"
  network
  pki
  control_plane
  start_containerd
  # shellcheck disable=SC2046  # one image name per line
  load_images registry.k8s.io/pause:3.10 "$HELPER_IMAGE" $("$ROOT/scripts/k8s-images.sh" names)
  node_components
  bootstrap_objects
  until_ok 120 "node $NODE_NAME Ready" node_ready
  until_ok 120 "metrics.k8s.io answering" metrics_available
  log "local cluster up in $((SECONDS - t0)) s: export KUBECONFIG=$KUBECONFIG_FILE (kubectl: $KUBECTL)"
}

# remove_kube_rules: the KUBE-* chains and jumps the kubelet and kube-proxy leave behind (kube-proxy --cleanup
# removes only its own service rules), in both iptables backends.
remove_kube_rules() {
  local bin table rule chain
  for bin in iptables iptables-legacy; do
    command -v "$bin" >/dev/null || continue
    for table in filter nat mangle; do
      while read -r rule; do
        # shellcheck disable=SC2086  # the rule's own words, as iptables -S printed them
        eval "$bin -t $table $rule" 2>/dev/null || true
      done < <("$bin" -t "$table" -S 2>/dev/null | grep -E '^-A .*-j KUBE-' | sed 's/^-A /-D /')
      while read -r chain; do
        "$bin" -t "$table" -F "$chain" 2>/dev/null || true
        "$bin" -t "$table" -X "$chain" 2>/dev/null || true
      done < <("$bin" -t "$table" -S 2>/dev/null | sed -n 's/^-N \(KUBE-[^ ]*\)$/\1/p')
    done
  done
}

# down_cluster: every component `up` started, stopped in an order that lets the kubelet tear pods down.
down_cluster() {
  if pid_alive "$K8S_RUN/kube-apiserver.pid" && pid_alive "$K8S_RUN/kubelet.pid"; then
    stop kube-controller-manager
    stop kube-scheduler
    log "deleting every pod"
    kc delete pods --all --all-namespaces --force --grace-period=0 --wait=false >/dev/null 2>&1 || true
    local i
    for ((i = 0; i < 120; i++)); do
      [ -z "$(ctr_ tasks ls -q 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  stop kubelet
  if pid_alive "$K8S_RUN/containerd.pid"; then remove_containers; fi
  stop kube-proxy
  "$K8S_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  local c
  for c in local-path-provisioner metrics-server coredns kube-controller-manager kube-scheduler kube-apiserver etcd containerd; do stop "$c"; done
  # Shims of this containerd outlive it when a task could not be deleted.
  pkill -9 -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" 2>/dev/null || true
  # Volume mounts of pods (tmpfs secrets, bind mounts) and the sandboxes' network namespaces.
  local m
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v s="$K8S_STATE/" 'index($2, s) == 1 {print $2}' /proc/mounts | sort -r)
  for m in /var/run/netns/cni-*; do
    [ -e "$m" ] || continue
    umount "$m" 2>/dev/null || true
    rm -f "$m"
  done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link delete "$BRIDGE"; fi
  local dir
  for dir in -i -o; do
    while iptables -D FORWARD "$dir" "$BRIDGE" -j ACCEPT 2>/dev/null; do :; done
  done
  remove_kube_rules
  if [ -s "$K8S_STATE/sysctl.orig" ]; then sysctl -q -p "$K8S_STATE/sysctl.orig" >/dev/null 2>&1 || true; fi
  if [ -d "$K8S_STATE" ]; then
    find "$K8S_STATE" -mindepth 1 -maxdepth 1 ! -name logs ! -name dockerd.pid -exec rm -rf {} +
  fi
}

down() {
  down_cluster
  stop_docker_if_ours
  log "local cluster stopped (logs kept in $K8S_LOGS)"
}

status() {
  local c ok=0
  for c in "${COMPONENTS[@]}"; do
    if pid_alive "$K8S_RUN/$c.pid"; then
      printf '%-24s running  pid %s\n' "$c" "$(head -n 1 "$K8S_RUN/$c.pid")"
    else
      printf '%-24s stopped\n' "$c"
      ok=1
    fi
  done
  [ "$ok" -eq 0 ] && printf 'KUBECONFIG=%s\n' "$KUBECONFIG_FILE"
  return "$ok"
}

print_env() {
  printf 'KUBECONFIG=%q\nKUBECTL=%q\nK8S_NODE_IP=%q\nK8S_CONTAINERD_SOCK=%q\n' \
    "$KUBECONFIG_FILE" "$KUBECTL" "$NODE_IP" "$CONTAINERD_SOCK"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  env) print_env ;;
  load) shift; [ $# -gt 0 ] || die "usage: $0 load IMAGE..."; load_images "$@" ;;
  *) die "usage: $0 up | down | status | env | load IMAGE..." ;;
esac
