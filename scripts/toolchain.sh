#!/usr/bin/env bash
# npm run toolchain: build and cache the e2e toolchain outside the repo.
#
#   The Pulumi CLI, the Kubernetes provider (pulumi-resource-kubernetes, installed as a plugin
#   into the toolchain's PULUMI_HOME), kube-apiserver, kube-controller-manager, kube-scheduler
#   and kwok are built with the ordinary Go toolchain from the wrapper modules in toolchain/*;
#   the Node.js language host from its source in ../shared/third_party; etcd is Debian's
#   etcd-server. Everything lands in $TOOLCHAIN_ROOT/bin (see scripts/lib/toolchain-env.sh),
#   keyed by the versions in toolchain/versions.env. A second run finds everything and says so.
#
#   scripts/toolchain.sh               build what is missing
#   scripts/toolchain.sh --print-root  print the toolchain directory, build nothing
#   scripts/toolchain.sh --check       exit 1 unless the toolchain is complete
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib/toolchain-env.sh
source "$REPO_ROOT/scripts/lib/toolchain-env.sh"

P=toolchain
COMPLETE="$TOOLCHAIN_ROOT/.complete"

is_complete() {
    [ -f "$COMPLETE" ] || return 1
    local c
    for c in "${TOOLCHAIN_COMPONENTS[@]}"; do
        [ -x "$TOOLCHAIN_BIN/$c" ] || return 1
    done
    kubernetes_plugin_installed
}

kubernetes_plugin_installed() {
    [ -x "$TOOLCHAIN_PULUMI_HOME/plugins/resource-kubernetes-$PULUMI_KUBERNETES_VERSION/pulumi-resource-kubernetes" ]
}

case "${1:-}" in
    --print-root)
        echo "$TOOLCHAIN_ROOT"
        exit 0
        ;;
    --check)
        is_complete || die "$P" "not built at $TOOLCHAIN_ROOT: run npm run toolchain"
        echo "$TOOLCHAIN_ROOT"
        exit 0
        ;;
    "") ;;
    *) die "$P" "unknown argument '$1' (expected --print-root or --check)" ;;
esac

started=$(now_s)

# require_pin FILE MODULE VERSION: the wrapper go.mod must require exactly the pinned version.
require_pin() {
    local file="$1" module="$2" version="$3"
    grep -Eq "^[[:space:]]*(require[[:space:]]+)?${module//./\\.}[[:space:]]+${version//./\\.}([[:space:]]|$)" "$REPO_ROOT/toolchain/$file" ||
        die "$P" "toolchain/$file does not require $module $version as toolchain/versions.env pins it"
}

# npm_pin PACKAGE VERSION: package.json must pin the npm package to the same version.
npm_pin() {
    local package="$1" version="$2" actual
    actual=$(node -p "require('$REPO_ROOT/package.json').dependencies['$package']")
    [ "v$actual" = "$version" ] ||
        die "$P" "package.json pins $package $actual but toolchain/versions.env pins $version"
}

check_pins() {
    require_pin pulumi/go.mod github.com/pulumi/pulumi/pkg/v3 "$PULUMI_VERSION"
    require_pin kubernetes/go.mod k8s.io/kubernetes "$KUBERNETES_VERSION"
    # k8s.io/kubernetes v1.X.Y publishes its staging modules (k8s.io/api, ...) as v0.X.Y.
    require_pin kubernetes/go.mod "k8s.io/api => k8s.io/api" "v0.${KUBERNETES_VERSION#v1.}"
    require_pin kwok/go.mod sigs.k8s.io/kwok "$KWOK_VERSION"
    require_pin pulumi-kubernetes/go.mod github.com/pulumi/pulumi-kubernetes/provider/v4 "$PULUMI_KUBERNETES_MODULE_VERSION"
    require_pin pulumi-kubernetes/go.mod github.com/pulumi/pulumi-kubernetes/sdk/v4 "$PULUMI_KUBERNETES_VERSION"
    npm_pin @pulumi/pulumi "$PULUMI_VERSION"
    npm_pin @pulumi/kubernetes "$PULUMI_KUBERNETES_VERSION"
}

# go_build NAME MODULE_DIR PACKAGE LDFLAGS [OUT_DIR]: build one command into OUT_DIR (default
# the bin dir), atomically. MODULE_DIR is a folder of toolchain/, or an absolute path.
go_build() {
    local name="$1" dir="$2" package="$3" ldflags="$4" out="${5:-$TOOLCHAIN_BIN}" t
    if [ -x "$out/$name" ]; then
        log "$P" "$name: cached (0s)"
        return
    fi
    t=$(now_s)
    case "$dir" in /*) ;; *) dir="$REPO_ROOT/toolchain/$dir" ;; esac
    (
        cd "$dir"
        # go.sum is committed, so the checksum database is not needed (and not reachable here).
        GOSUMDB=off GOFLAGS="-mod=readonly -buildvcs=false" \
            go build -trimpath -ldflags "$ldflags" -o "$out/.$name.tmp" "$package"
    ) >"$TOOLCHAIN_ROOT/logs/$name.log" 2>&1 || {
        tail -n 30 "$TOOLCHAIN_ROOT/logs/$name.log" >&2
        die "$P" "$name: go build $package failed after $(($(now_s) - t))s (log: $TOOLCHAIN_ROOT/logs/$name.log)"
    }
    mv "$out/.$name.tmp" "$out/$name"
    log "$P" "$name: built in $(($(now_s) - t))s"
}

# kubernetes_provider: pulumi-resource-kubernetes from the module's cmd/pulumi-resource-kubernetes,
# built beside our wrapper go.mod (the module's own go.mod replaces sdk/v4 with a path of its
# monorepo, which does not apply to us), its schema embedded as upstream's `go generate` does,
# then installed as plugin kubernetes into PULUMI_HOME, where the CLI looks for it.
kubernetes_provider() {
    local name=pulumi-resource-kubernetes version="${PULUMI_KUBERNETES_VERSION#v}" build src t
    if kubernetes_plugin_installed; then
        log "$P" "$name: cached (0s)"
        return
    fi
    t=$(now_s)
    build="$TOOLCHAIN_ROOT/build/pulumi-kubernetes"
    # `go list -m` prints no Dir for a module not in the module cache yet (a fresh machine):
    # download it first
    src=$(cd "$REPO_ROOT/toolchain/pulumi-kubernetes" && GOSUMDB=off GOFLAGS=-mod=readonly \
        go mod download github.com/pulumi/pulumi-kubernetes/provider/v4 &&
        GOSUMDB=off GOFLAGS=-mod=readonly go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4) ||
        die "$P" "$name: go mod download / go list of the provider module failed"
    [ -n "$src" ] && [ -d "$src/cmd/pulumi-resource-kubernetes" ] ||
        die "$P" "$name: the provider module's source is not in the module cache (go list gave '$src')"
    rm -rf "$build" && mkdir -p "$build"
    cp "$REPO_ROOT/toolchain/pulumi-kubernetes/go.mod" "$REPO_ROOT/toolchain/pulumi-kubernetes/go.sum" "$build/"
    cp "$src/cmd/pulumi-resource-kubernetes/"{main.go,generate.go,schema.json,terraform-mapping.json} "$build/"
    chmod u+w "$build"/*
    (cd "$build" && VERSION="$version" GOSUMDB=off GOFLAGS="-mod=readonly -buildvcs=false" go run generate.go) \
        >"$TOOLCHAIN_ROOT/logs/$name-generate.log" 2>&1 ||
        die "$P" "$name: generate.go failed (log: $TOOLCHAIN_ROOT/logs/$name-generate.log)"
    log "$P" "$name: schema embedded in $(($(now_s) - t))s"
    go_build "$name" "$build" . \
        "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$version" "$build"
    t=$(now_s)
    # not left in the bin dir: the CLI would take it from PATH instead of the installed plugin
    PULUMI_HOME="$TOOLCHAIN_PULUMI_HOME" PULUMI_SKIP_UPDATE_CHECK=true \
        "$TOOLCHAIN_BIN/pulumi" plugin install resource kubernetes "$version" --file "$build/$name" --reinstall \
        >"$TOOLCHAIN_ROOT/logs/$name-install.log" 2>&1 ||
        die "$P" "$name: pulumi plugin install failed (log: $TOOLCHAIN_ROOT/logs/$name-install.log)"
    rm -rf "$build"
    log "$P" "$name: installed as plugin kubernetes $version into $TOOLCHAIN_PULUMI_HOME in $(($(now_s) - t))s"
}

link_etcd() {
    local t actual
    t=$(now_s)
    command -v etcd >/dev/null || die "$P" "etcd not found: install Debian's etcd-server $ETCD_VERSION (apt-get install -y etcd-server)"
    actual=$(etcd --version | sed -n 's/^etcd Version: //p')
    [ "$actual" = "$ETCD_VERSION" ] || die "$P" "etcd $actual on PATH, toolchain/versions.env pins $ETCD_VERSION"
    ln -sfn "$(command -v etcd)" "$TOOLCHAIN_BIN/etcd"
    log "$P" "etcd: Debian etcd-server $actual linked from $(command -v etcd) in $(($(now_s) - t))s"
}

if is_complete; then
    for c in "${TOOLCHAIN_COMPONENTS[@]}" pulumi-resource-kubernetes; do log "$P" "$c: cached (0s)"; done
    log "$P" "up to date at $TOOLCHAIN_ROOT, nothing to do ($(($(now_s) - started))s)"
    exit 0
fi

command -v go >/dev/null || die "$P" "go not found on PATH (the toolchain is built with the Go toolchain)"
check_pins
mkdir -p "$TOOLCHAIN_BIN" "$TOOLCHAIN_ROOT/logs" "$TOOLCHAIN_PULUMI_HOME"
log "$P" "building into $TOOLCHAIN_ROOT with $(go env GOVERSION)"

go_build pulumi pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"

# its source folder may be read-only: -mod=readonly writes nothing there
[ -f "$LANGUAGE_HOST_SRC/go.mod" ] ||
    die "$P" "the language host's source is not at $LANGUAGE_HOST_SRC (../shared beside the repo, or set CANARY_SHARED_DIR)"
go_build pulumi-language-nodejs "$LANGUAGE_HOST_SRC" . \
    "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"

kubernetes_provider

k8s_minor="${KUBERNETES_VERSION#v1.}"
k8s_minor="${k8s_minor%%.*}"
k8s_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$k8s_minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION"
for c in kube-apiserver kube-controller-manager kube-scheduler; do
    go_build "$c" kubernetes "k8s.io/kubernetes/cmd/$c" "$k8s_ldflags"
done

link_etcd

go_build kwok kwok sigs.k8s.io/kwok/cmd/kwok \
    "-s -w"

cat >"$TOOLCHAIN_ROOT/env.sh" <<ENV
# source this to use the e2e toolchain by hand
export PATH="$TOOLCHAIN_BIN:\$PATH"
export PULUMI_HOME="$TOOLCHAIN_PULUMI_HOME"
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_SKIP_UPDATE_CHECK=true
ENV
touch "$COMPLETE"
log "$P" "done in $(($(now_s) - started))s: $TOOLCHAIN_BIN (PULUMI_HOME=$TOOLCHAIN_PULUMI_HOME; source $TOOLCHAIN_ROOT/env.sh)"
