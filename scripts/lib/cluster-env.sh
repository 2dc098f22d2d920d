# shellcheck shell=bash disable=SC2034  # sourced: its variables are used by the scripts
# Where the e2e cluster keeps its state. Source it (after common.sh); it sets:
#   CLUSTER_DIR   ${CANARY_CLUSTER_DIR:-$REPO_ROOT/.tmp/cluster}: certs, data, logs, pids, kubeconfig
#   CLUSTER_PIDS  $CLUSTER_DIR/pids: one "<pid> <start time>" file per process cluster-up started
CLUSTER_DIR="${CANARY_CLUSTER_DIR:-$REPO_ROOT/.tmp/cluster}"
CLUSTER_PIDS="$CLUSTER_DIR/pids"
# Start order; cluster-down stops in reverse.
CLUSTER_COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

# proc_stat PID: "<state> <start time>" of a process from /proc/PID/stat (fields 3 and 22).
# The start time is recorded with the pid so that a reused pid is never mistaken for ours.
proc_stat() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    # the command name (field 2) may contain spaces: keep what follows its closing parenthesis
    stat="${stat##*) }"
    # shellcheck disable=SC2086
    set -- $stat
    echo "$1 ${20}"
}

proc_start_time() {
    local state start
    read -r state start < <(proc_stat "$1") || return 1
    echo "$start"
}

# is_ours NAME: the recorded process is alive (not a zombie) and is the one we started.
is_ours() {
    local file="$CLUSTER_PIDS/$1.pid" pid start state now
    [ -f "$file" ] || return 1
    read -r pid start <"$file"
    read -r state now < <(proc_stat "$pid") || return 1
    [ "$state" != Z ] && [ "$now" = "$start" ]
}
