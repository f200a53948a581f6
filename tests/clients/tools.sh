#!/usr/bin/env bash
# Installs the real clients the client tests drive, idempotently, into the
# cache outside the clone (never committed):
#   ${STREAMPLANE_CACHE:-$HOME/.cache/streamplane}/<component>-<version>
# usage: tests/clients/tools.sh [restapi|tofu|schemathesis|chromium|all]...
# Prints nothing when everything is already there. Each Go build uses its own
# GOMODCACHE/GOCACHE under the cache, so a first build is a cold build and its
# time (written to <component>-<version>/build-seconds) is the CI cold cost.
set -euo pipefail
CACHE=${STREAMPLANE_CACHE:-$HOME/.cache/streamplane}
RESTAPI_VERSION=1.20.0
TOFU_VERSION=1.12.6
TOFU_HCL=github.com/opentofu/hcl/v2@v2.20.2-0.20251021132045-587d123c2828
SCHEMATHESIS_VERSION=4.32.5
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
mkdir -p "$CACHE"

go_env() {  # go_env DIR: a private module and build cache for one component
  export GOMODCACHE="$1/gomod" GOCACHE="$1/gocache" GOFLAGS=-mod=mod GOTOOLCHAIN=local
}

restapi() {
  local d=$CACHE/restapi-$RESTAPI_VERSION
  local m=$d/mirror/registry.opentofu.org/mastercard/restapi/$RESTAPI_VERSION/linux_amd64
  [ -x "$m/terraform-provider-restapi_v$RESTAPI_VERSION" ] && return
  echo "building terraform-provider-restapi v$RESTAPI_VERSION (go install) into $d"
  mkdir -p "$d"
  local t0=$SECONDS
  # A wrapper module, not `go install pkg@v`: the proxy here serves the
  # version but not the module's version list, which go install reads.
  mkdir -p "$d/wrapper"
  ( go_env "$d"; cd "$d/wrapper"
    [ -f go.mod ] || go mod init local.streamplane/restapibin >/dev/null 2>&1
    go mod edit -require=github.com/Mastercard/terraform-provider-restapi@v$RESTAPI_VERSION
    CGO_ENABLED=0 nice go build -trimpath -o ../bin/terraform-provider-restapi github.com/Mastercard/terraform-provider-restapi )
  echo $((SECONDS - t0)) > "$d/build-seconds"
  mkdir -p "$m"
  cp "$d/bin/terraform-provider-restapi" "$m/terraform-provider-restapi_v$RESTAPI_VERSION"
  rm -rf "$d/gocache"
}

tofu() {
  local d=$CACHE/opentofu-$TOFU_VERSION
  [ -x "$d/bin/tofu" ] && return
  echo "building OpenTofu v$TOFU_VERSION (wrapper module) into $d"
  mkdir -p "$d/wrapper"
  local t0=$SECONDS
  ( go_env "$d"; cd "$d/wrapper"
    [ -f go.mod ] || go mod init local.streamplane/tofubin >/dev/null 2>&1
    go mod edit -require=github.com/opentofu/opentofu@v$TOFU_VERSION
    go mod edit -replace=github.com/hashicorp/hcl/v2@v2.20.1=$TOFU_HCL
    grep -q '^godebug' go.mod || printf 'godebug (\n\ttlsmlkem=0\n\twinsymlink=0\n)\n' >> go.mod
    CGO_ENABLED=0 nice go build -trimpath \
      -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" \
      -o ../bin/tofu github.com/opentofu/opentofu/cmd/tofu )
  echo $((SECONDS - t0)) > "$d/build-seconds"
  rm -rf "$d/gocache"
}

schemathesis() {
  local d=$CACHE/schemathesis-$SCHEMATHESIS_VERSION
  [ -x "$d/venv/bin/schemathesis" ] && return
  echo "installing schemathesis $SCHEMATHESIS_VERSION into $d/venv"
  python3 -m venv "$d/venv"
  "$d/venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
}

chromium() {
  [ -x /usr/bin/chromium ] && return
  echo "installing chromium (apt)"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
}

# One installer at a time per component (several worktrees share the cache).
locked() { ( flock 9; "$1" ) 9>"$CACHE/.$1.lock"; }

[ $# -eq 0 ] && set -- all
for c in "$@"; do
  case $c in
    all) for x in schemathesis chromium restapi tofu; do locked $x; done ;;
    restapi|tofu|schemathesis|chromium) locked "$c" ;;
    *) echo "unknown component $c" >&2; exit 2 ;;
  esac
done
