# shellcheck shell=bash disable=SC2034  # sourced: its variables are used by the scripts
# Shared helpers for scripts/toolchain.sh and scripts/cluster-*.sh. Source it; do not run it.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# log PREFIX MESSAGE...: one line on stderr, so stdout stays for values a caller captures.
log() {
    local prefix="$1"
    shift
    printf '%s: %s\n' "$prefix" "$*" >&2
}

die() {
    local prefix="$1"
    shift
    printf '%s: ERROR: %s\n' "$prefix" "$*" >&2
    exit 1
}

now_s() { date +%s; }

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close();});'
}
