# shellcheck shell=bash disable=SC2034  # sourced: its variables are used by the scripts
# Where the e2e toolchain lives. Source it (after common.sh); it sets:
#   TOOLCHAIN_KEY   versions of every component plus a hash of the wrapper modules
#   TOOLCHAIN_ROOT  ${CANARY_TOOLCHAIN_DIR:-$HOME/.cache/pulumi-canary-toolchain}/$TOOLCHAIN_KEY
#   TOOLCHAIN_BIN   $TOOLCHAIN_ROOT/bin (pulumi, its language host, kube-*, etcd, kwok)
#   TOOLCHAIN_PULUMI_HOME  project-local PULUMI_HOME, outside the repo (the kubernetes plugin)
#   LANGUAGE_HOST_SRC  the Node.js language host's source (../shared/third_party, read-only)

# shellcheck source=toolchain/versions.env
source "$REPO_ROOT/toolchain/versions.env"

LANGUAGE_HOST_SRC="${CANARY_SHARED_DIR:-$REPO_ROOT/../shared}/third_party/pulumi-language-nodejs"

toolchain_hash() {
    {
        (cd "$REPO_ROOT/toolchain" && cat versions.env ./*/go.mod ./*/go.sum ./*/tools.go)
        cat "$LANGUAGE_HOST_SRC"/go.mod "$LANGUAGE_HOST_SRC"/go.sum "$LANGUAGE_HOST_SRC"/*.go 2>/dev/null
    } | sha256sum | cut -c1-10
}

TOOLCHAIN_KEY="pulumi-${PULUMI_VERSION}_k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_$(toolchain_hash)"
TOOLCHAIN_ROOT="${CANARY_TOOLCHAIN_DIR:-$HOME/.cache/pulumi-canary-toolchain}/$TOOLCHAIN_KEY"
TOOLCHAIN_BIN="$TOOLCHAIN_ROOT/bin"
TOOLCHAIN_PULUMI_HOME="$TOOLCHAIN_ROOT/pulumi-home"
TOOLCHAIN_COMPONENTS=(pulumi pulumi-language-nodejs kube-apiserver kube-controller-manager kube-scheduler etcd kwok)
