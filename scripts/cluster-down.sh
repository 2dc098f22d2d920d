#!/usr/bin/env bash
# npm run cluster:down: stop exactly the processes npm run cluster:up recorded (by pid and
# start time, never by name), then remove the cluster's directory. Safe to run twice.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib/cluster-env.sh
source "$REPO_ROOT/scripts/lib/cluster-env.sh"

P=cluster-down
STOP_TIMEOUT_S=10
started=$(now_s)

if [ ! -d "$CLUSTER_DIR" ]; then
    log "$P" "nothing to stop: $CLUSTER_DIR does not exist"
    exit 0
fi

# stop NAME: SIGTERM the recorded process, SIGKILL it if it is still there after the timeout.
stop() {
    local name="$1" pid start deadline
    if ! is_ours "$name"; then
        [ -f "$CLUSTER_PIDS/$name.pid" ] && log "$P" "$name: already gone"
        return 0
    fi
    read -r pid start <"$CLUSTER_PIDS/$name.pid"
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$(($(now_s) + STOP_TIMEOUT_S))
    while is_ours "$name" && [ "$(now_s)" -lt "$deadline" ]; do sleep 0.2; done
    if is_ours "$name"; then
        log "$P" "$name (pid $pid): still running after ${STOP_TIMEOUT_S}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        while is_ours "$name"; do sleep 0.1; done
    fi
    log "$P" "$name (pid $pid): stopped"
}

for ((i = ${#CLUSTER_COMPONENTS[@]} - 1; i >= 0; i--)); do
    stop "${CLUSTER_COMPONENTS[$i]}"
done
rm -rf "$CLUSTER_DIR"
log "$P" "removed $CLUSTER_DIR ($(($(now_s) - started))s)"
