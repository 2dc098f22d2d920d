#!/usr/bin/env bash
# npm run cluster:up: a real Kubernetes control plane on 127.0.0.1 with simulated nodes.
#
#   etcd, kube-apiserver (TLS, RBAC, service-account keys), kube-controller-manager,
#   kube-scheduler and kwok with $CLUSTER_NODES fake nodes, all from the e2e toolchain
#   (npm run toolchain), on free loopback ports. Returns once /readyz is ok and every node
#   is Ready; prints the admin kubeconfig's path on stdout (everything else goes to stderr).
#   State (certs, etcd data, logs, pids) lives in $CANARY_CLUSTER_DIR (default .tmp/cluster);
#   npm run cluster:down stops exactly the recorded pids and removes it.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib/toolchain-env.sh
source "$REPO_ROOT/scripts/lib/toolchain-env.sh"
# shellcheck source=scripts/lib/cluster-env.sh
source "$REPO_ROOT/scripts/lib/cluster-env.sh"

P=cluster-up
CLUSTER_NODES="${CLUSTER_NODES:-3}"
READY_TIMEOUT_S="${CLUSTER_READY_TIMEOUT_S:-120}"
started=$(now_s)

bash "$REPO_ROOT/scripts/toolchain.sh" --check >/dev/null ||
    die "$P" "the e2e toolchain is missing: run npm run toolchain"

for c in "${CLUSTER_COMPONENTS[@]}"; do
    if is_ours "$c"; then
        die "$P" "a cluster is already running in $CLUSTER_DIR ($c is up): run npm run cluster:down first"
    fi
done
rm -rf "$CLUSTER_DIR"
mkdir -p "$CLUSTER_DIR"/{pki,logs,etcd} "$CLUSTER_PIDS"
chmod 700 "$CLUSTER_DIR"

# On any failure: show what the components said, then stop what was started.
on_error() {
    local c
    for c in "${CLUSTER_COMPONENTS[@]}"; do
        [ -s "$CLUSTER_DIR/logs/$c.log" ] || continue
        log "$P" "---- last lines of $c.log"
        tail -n 15 "$CLUSTER_DIR/logs/$c.log" >&2
    done
    bash "$REPO_ROOT/scripts/cluster-down.sh" >&2 || true
}
trap 'on_error' ERR

# ---- certificates (openssl, P-256 keys)
pki="$CLUSTER_DIR/pki"
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/$1.key" 2>/dev/null; }

# sign NAME SUBJECT EXTENSIONS: a certificate for NAME.key signed by the cluster CA.
sign() {
    local name="$1" subject="$2" extensions="$3"
    new_key "$name"
    openssl req -new -key "$pki/$name.key" -subj "$subject" -out "$pki/$name.csr" 2>/dev/null
    printf '%s\n' "$extensions" >"$pki/$name.ext"
    openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
        -days 30 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
}

new_key ca
openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=pulumi-canary-e2e-ca" -days 30 -out "$pki/ca.crt" 2>/dev/null
client_ext=$'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth'
sign apiserver "/CN=kube-apiserver" $'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local'
sign admin "/O=system:masters/CN=pulumi-canary-e2e-admin" "$client_ext"
sign controller-manager "/CN=system:kube-controller-manager" "$client_ext"
sign scheduler "/CN=system:kube-scheduler" "$client_ext"
new_key service-account
openssl pkey -in "$pki/service-account.key" -pubout -out "$pki/service-account.pub" 2>/dev/null

# ---- ports: all on 127.0.0.1, chosen free now
etcd_port=$(free_port)
etcd_peer_port=$(free_port)
api_port=$(free_port)
cm_port=$(free_port)
scheduler_port=$(free_port)
kwok_port=$(free_port)
server="https://127.0.0.1:$api_port"

# kubeconfig FILE USER: a self-contained kubeconfig (embedded certs) for pki/USER.{crt,key}.
kubeconfig() {
    local file="$1" user="$2"
    cat >"$file" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: pulumi-canary-e2e
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$pki/$user.crt")
    client-key-data: $(base64 -w0 "$pki/$user.key")
contexts:
- name: pulumi-canary-e2e
  context:
    cluster: pulumi-canary-e2e
    user: $user
current-context: pulumi-canary-e2e
YAML
    chmod 600 "$file"
}
kubeconfig "$CLUSTER_DIR/kubeconfig" admin
kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" controller-manager
kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" scheduler

# start NAME BINARY ARGS...: run in the background in its own session (a Ctrl-C meant for the
# caller does not reach it; cluster-down stops it), record "<pid> <start time>". setsid execs
# in place here (the background job is no process-group leader), so $! is the component's pid.
start() {
    local name="$1" binary="$2" pid
    shift 2
    setsid "$TOOLCHAIN_BIN/$binary" "$@" >"$CLUSTER_DIR/logs/$name.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid $(proc_start_time "$pid")" >"$CLUSTER_PIDS/$name.pid"
}

# wait_for WHAT COMMAND...: retry COMMAND until it succeeds; fail when a component died or
# READY_TIMEOUT_S passed.
wait_for() {
    local what="$1" deadline c
    shift
    deadline=$(($(now_s) + READY_TIMEOUT_S))
    until "$@" >/dev/null 2>&1; do
        for c in "${CLUSTER_COMPONENTS[@]}"; do
            if [ -f "$CLUSTER_PIDS/$c.pid" ] && ! is_ours "$c"; then
                log "$P" "$c exited while waiting for $what"
                return 1
            fi
        done
        if [ "$(now_s)" -ge "$deadline" ]; then
            log "$P" "timed out after ${READY_TIMEOUT_S}s waiting for $what"
            return 1
        fi
        sleep 0.5
    done
}

api() {
    curl -sf --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$@"
}

start etcd etcd \
    --name e2e \
    --data-dir "$CLUSTER_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "e2e=http://127.0.0.1:$etcd_peer_port" \
    --unsafe-no-fsync
wait_for "etcd health" curl -sf "http://127.0.0.1:$etcd_port/health"

start kube-apiserver kube-apiserver \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 \
    --secure-port "$api_port" \
    --tls-cert-file "$pki/apiserver.crt" \
    --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --authorization-mode RBAC \
    --service-account-key-file "$pki/service-account.pub" \
    --service-account-signing-key-file "$pki/service-account.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range 10.96.0.0/16 \
    --allow-privileged=true
wait_for "kube-apiserver /readyz" api "$server/readyz"

start kube-controller-manager kube-controller-manager \
    --kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 \
    --secure-port "$cm_port" \
    --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file "$pki/service-account.key" \
    --root-ca-file "$pki/ca.crt"

start kube-scheduler kube-scheduler \
    --kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" \
    --authorization-kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 \
    --secure-port "$scheduler_port" \
    --leader-elect=false

# Node heartbeats through Leases: without them kwok only patches node status about every 45 s,
# past the controller-manager's 40 s grace period, and every pod turns NotReady for good.
start kwok kwok \
    --kubeconfig "$CLUSTER_DIR/kubeconfig" \
    --node-lease-duration-seconds 40 \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-ip 127.0.0.1 \
    --node-port "$kwok_port" \
    --server-address "127.0.0.1:$kwok_port" \
    --cidr 10.244.0.0/16

for i in $(seq 0 $((CLUSTER_NODES - 1))); do
    name="kwok-node-$i"
    api -X POST -H 'Content-Type: application/json' "$server/api/v1/nodes" -o /dev/null -d @- <<JSON
{"apiVersion": "v1", "kind": "Node",
 "metadata": {"name": "$name",
   "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
   "labels": {"kubernetes.io/hostname": "$name", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "kubernetes.io/role": "agent", "node-role.kubernetes.io/agent": "", "type": "kwok"}},
 "status": {"allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "nodeInfo": {"architecture": "amd64", "kubeletVersion": "fake", "kubeProxyVersion": "fake",
                         "operatingSystem": "linux"}}}
JSON
done

nodes_ready() {
    api "$server/api/v1/nodes" | node -e '
        let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
            const ready = JSON.parse(s).items.filter((n) =>
                (n.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"));
            process.exit(ready.length >= Number(process.argv[1]) ? 0 : 1);
        });' "$CLUSTER_NODES"
}
wait_for "$CLUSTER_NODES Ready nodes" nodes_ready
# The namespace controller and the service-account token controller must be running before
# a test creates a namespace and pods in it.
wait_for "the default ServiceAccount" api "$server/api/v1/namespaces/default/serviceaccounts/default"

cat >"$CLUSTER_DIR/cluster.env" <<ENV
KUBECONFIG=$CLUSTER_DIR/kubeconfig
CLUSTER_SERVER=$server
ETCD_ENDPOINT=http://127.0.0.1:$etcd_port
ENV
trap - ERR
log "$P" "ready in $(($(now_s) - started))s: $server, $CLUSTER_NODES kwok nodes, logs in $CLUSTER_DIR/logs"
log "$P" "kubeconfig (export KUBECONFIG=...):"
echo "$CLUSTER_DIR/kubeconfig"
