# Builds and engines for the local Kubernetes (scripts/k8s-local.sh, scripts/k8s-images.sh). Sourced after
# lib.sh, never run. Everything here is built once per machine into $TOOLS from the Go module proxy or
# installed from Debian's packages: no image registry and no other download.
# shellcheck shell=bash
# shellcheck disable=SC2034,SC2153  # variables are used by the scripts that source this file; TOOLS comes from lib.sh

K8S_LOCAL_VERSION=v1.32.13
# k8s.io/endpointslice v0.32.13 is missing on the Go module proxy (403); the previous patch release builds.
K8S_ENDPOINTSLICE_VERSION=v0.32.12
COREDNS_VERSION=v1.12.1
METRICS_SERVER_VERSION=v0.7.2
LOCAL_PATH_PROVISIONER_VERSION=v0.0.30
K8S_BIN="$TOOLS/k8s-$K8S_LOCAL_VERSION"
KUBECTL="$K8S_BIN/kubectl"

# go_build DIR OUT PKG...: `go build` in the scratch module DIR, static, into OUT (a folder).
go_build() {
  local dir=$1 out=$2
  shift 2
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "${GO_LDFLAGS:--s -w}" -o "$out/" "$@") >&2
}

need_go() {
  command -v go >/dev/null || die "Go >= 1.23 is required to build $1 from the Go module proxy (https://go.dev/dl)"
}

# ensure_k8s_binaries: kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and kubectl
# at K8S_LOCAL_VERSION. `go install k8s.io/kubernetes/cmd/...` refuses the module's replace directives, so a
# scratch module requires k8s.io/kubernetes and points every staging module at its published version.
ensure_k8s_binaries() {
  local tools=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl) t missing=0
  for t in "${tools[@]}"; do [ -x "$K8S_BIN/$t" ] || missing=1; done
  [ "$missing" -eq 0 ] && return 0
  need_go "Kubernetes $K8S_LOCAL_VERSION"
  log "building Kubernetes $K8S_LOCAL_VERSION from the Go module proxy (once per machine; about 7 minutes cold)"
  local src="$TOOLS/src/kubernetes-$K8S_LOCAL_VERSION" modfile staging minor=${K8S_LOCAL_VERSION#v1.}
  minor=${minor%%.*}
  mkdir -p "$src"
  modfile=$(cd "$src" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_LOCAL_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
  [ -s "$modfile" ] || die "could not download k8s.io/kubernetes@$K8S_LOCAL_VERSION from the Go module proxy"
  staging=$(sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$modfile")
  {
    printf 'module local/kubernetes\n\ngo 1.23.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_LOCAL_VERSION"
    for m in $staging; do
      if [ "$m" = k8s.io/endpointslice ]; then
        printf '\t%s => %s %s\n' "$m" "$m" "$K8S_ENDPOINTSLICE_VERSION"
      else
        printf '\t%s => %s v0.%s\n' "$m" "$m" "${K8S_LOCAL_VERSION#v1.}"
      fi
    done
    printf ')\n'
  } >"$src/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for t in "${tools[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$t"; done
    printf ')\n'
  } >"$src/tools.go"
  (cd "$src" && GOFLAGS=-mod=mod go mod tidy) >&2
  # The version the binaries report (kubectl version, node info, Helm's .Capabilities.KubeVersion).
  local v=k8s.io/component-base/version c=k8s.io/client-go/pkg/version
  GO_LDFLAGS="-s -w -X $v.gitVersion=$K8S_LOCAL_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean \
-X $c.gitVersion=$K8S_LOCAL_VERSION -X $c.gitMajor=1 -X $c.gitMinor=$minor -X $c.gitTreeState=clean" \
    go_build "$src" "$K8S_BIN.tmp" "${tools[@]/#/k8s.io/kubernetes/cmd/}"
  rm -rf "$K8S_BIN" && mv "$K8S_BIN.tmp" "$K8S_BIN"
}

# ensure_coredns: CoreDNS built as a library with only the plugins the local Corefile uses.
ensure_coredns() {
  local out="$TOOLS/coredns-$COREDNS_VERSION" src="$TOOLS/src/coredns-$COREDNS_VERSION"
  [ -x "$out/coredns" ] && return 0
  need_go "CoreDNS $COREDNS_VERSION"
  log "building CoreDNS $COREDNS_VERSION from the Go module proxy (once per machine)"
  mkdir -p "$src"
  printf 'module local/coredns\n\ngo 1.23.0\n\nrequire github.com/coredns/coredns %s\n' "$COREDNS_VERSION" >"$src/go.mod"
  cp "$ROOT/k8s/local/coredns.go" "$src/main.go"
  (cd "$src" && GOFLAGS=-mod=mod go mod tidy) >&2
  go_build "$src" "$out.tmp" .
  rm -rf "$out" && mv "$out.tmp" "$out"
}

# ensure_go_tool NAME VERSION PACKAGE: a program `go install` builds, once per machine, into $TOOLS/NAME-VERSION.
ensure_go_tool() {
  local name=$1 version=$2 pkg=$3 out="$TOOLS/$1-$2"
  [ -x "$out/$name" ] && return 0
  need_go "$name $version"
  log "building $name $version from the Go module proxy (once per machine)"
  (cd /tmp && CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$out.tmp" go install -trimpath -ldflags "-s -w" "$pkg@$version") >&2
  rm -rf "$out" && mv "$out.tmp" "$out"
}

# The HPA's source of pod CPU (metrics.k8s.io), as kind users install it.
ensure_metrics_server() { ensure_go_tool metrics-server "$METRICS_SERVER_VERSION" sigs.k8s.io/metrics-server/cmd/metrics-server; }
# The volume provisioner behind kind's default StorageClass ("standard").
ensure_local_path_provisioner() {
  ensure_go_tool local-path-provisioner "$LOCAL_PATH_PROVISIONER_VERSION" github.com/rancher/local-path-provisioner
}

# ensure_docker: a Docker engine answers on the default socket. Installs Debian's docker.io when missing and
# starts dockerd when none runs; records that it did, so that `k8s-local.sh down` stops only what it started.
K8S_STATE=${AUTH_K8S_STATE:-/var/lib/auth-cluster-k8s}
K8S_LOGS="$K8S_STATE/logs"
DOCKERD_MARK="$K8S_STATE/dockerd.pid"
ensure_docker() {
  if docker info >/dev/null 2>&1; then return 0; fi
  ensure_packages dockerd=docker.io
  command -v docker >/dev/null || die "the docker CLI is missing (apt-get install docker.io)"
  if pgrep -x dockerd >/dev/null; then
    die "dockerd runs but does not answer (docker info failed); fix it or stop it, then run again"
  fi
  log "starting dockerd (Debian's docker.io); k8s-local.sh down stops it again"
  mkdir -p "$K8S_LOGS"
  setsid nohup dockerd >>"$K8S_LOGS/dockerd.log" 2>&1 </dev/null &
  echo $! >"$DOCKERD_MARK"
  local i
  for ((i = 0; i < 60; i++)); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "dockerd did not start; see $K8S_LOGS/dockerd.log"
}

# stop_docker_if_ours: stops dockerd when ensure_docker started it.
stop_docker_if_ours() {
  pid_alive "$DOCKERD_MARK" || { rm -f "$DOCKERD_MARK"; return 0; }
  log "stopping dockerd (started by k8s-local.sh)"
  local pid i
  pid=$(head -n 1 "$DOCKERD_MARK")
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  rm -f "$DOCKERD_MARK"
}
