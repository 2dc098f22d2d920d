#!/usr/bin/env bash
# The one command that sets up and runs every test tier on a fresh Debian machine.
# It installs what is missing (Debian packages, npm packages, the Go-built toolchain),
# then runs lint, unit, integration and e2e, and ends with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n=== %s\n' "$*"; }

# Debian packages the integration and e2e tiers start for real.
# binary:package pairs; only what is missing is installed.
APT_NEEDS=(prometheus:prometheus prometheus-pushgateway:prometheus-pushgateway nginx:nginx hey:hey etcd:etcd-server openssl:openssl curl:curl setsid:util-linux)
missing=()
for pair in "${APT_NEEDS[@]}"; do
    bin=${pair%%:*} pkg=${pair##*:}
    command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || [ -x "/usr/bin/$bin" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    # a package's postinst may start a system service; tests never use those instances
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# the package's own etcd service (if a service manager started one) is not used by the tests
systemctl disable --now etcd >/dev/null 2>&1 || true
export PATH="/usr/local/go/bin:$PATH"

log "npm ci"
npm ci --no-audit --no-fund

log "toolchain (Go-built Pulumi CLI, control plane, kwok; cached outside the repo)"
bash scripts/toolchain.sh

results=$(mktemp)
trap 'rm -f "$results"' EXIT
failed_tiers=()

# Runs one mocha tier and records its passing/failing/pending counts.
tier() {
    local name=$1; shift
    log "$name"
    local out; out=$(mktemp)
    set +e
    "$@" 2>&1 | tee "$out"
    local rc=${PIPESTATUS[0]}
    set -e
    local p f s
    p=$(grep -Eo '^ *[0-9]+ passing' "$out" | tail -1 | grep -Eo '[0-9]+' || echo 0)
    f=$(grep -Eo '^ *[0-9]+ failing' "$out" | tail -1 | grep -Eo '[0-9]+' || echo 0)
    s=$(grep -Eo '^ *[0-9]+ pending' "$out" | tail -1 | grep -Eo '[0-9]+' || echo 0)
    echo "$name $p $f $s $rc" >> "$results"
    rm -f "$out"
    if [ "$rc" -ne 0 ] || [ "$p" -eq 0 ] || [ "$s" -ne 0 ]; then failed_tiers+=("$name"); fi
}

log "lint"
lint_rc=0
npm run --silent lint || lint_rc=$?
[ "$lint_rc" -eq 0 ] || failed_tiers+=(lint)

tier unit npm run --silent test:unit
tier integration npm run --silent test:integration
tier e2e npm run --silent test:e2e

log "summary"
passed=0 failed=0 skipped=0
while read -r name p f s rc; do
    printf '%-12s %4s passed %4s failed %4s skipped (exit %s)\n' "$name" "$p" "$f" "$s" "$rc"
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done < "$results"
[ "$lint_rc" -eq 0 ] || echo "lint failed (exit $lint_rc)"
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ ${#failed_tiers[@]} -gt 0 ]; then
    echo "failed: ${failed_tiers[*]}" >&2
    exit 1
fi
