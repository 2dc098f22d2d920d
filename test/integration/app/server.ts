// A podinfo-like test app: one process per version (primary v1, canary v2), on its own port.
//
//   node -r ts-node/register/transpile-only server.ts --port 0 --version 2.0.0 \
//        [--error-rate 0.1] [--latency-ms 300] [--healthz-status 503] [--seed 1]
//
// GET /          podinfo-like JSON {hostname, version, message}
// GET /healthz   liveness (status from --healthz-status; acceptance tests hit it)
// GET /readyz    readiness (always 200 once listening)
// POST /token    podinfo's token endpoint: {"token": ..., "expires_at": ...} (Flagger's acceptance
//                test `curl -sd 'test' http://podinfo-canary.test:9898/token | grep token`)
// GET /metrics   Prometheus text: requests by path and status, latency histogram
// POST /admin/faults {"errorRate":0.1,"latencyMs":300}  changes fault injection at run time
// GET /admin/faults  the current faults and request counters
//
// Errors are drawn at random: each request to / answers 500 with probability r (the error
// rate), from a small seeded PRNG (mulberry32, `--seed`, default 1). A 10% canary answers ~10%
// (binomial: a window of 50 requests sees 5 +- 2), a 1% one may well answer none in a window;
// the same seed draws the same sequence, request by request, so a run is reproducible.
// The listening port is printed as the first stdout line: `listening <port>`.
import * as http from "http";
import * as os from "os";

interface Faults {
    errorRate: number;
    latencyMs: number;
    healthzStatus: number;
}

function arg(name: string, fallback: string): string {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const version = arg("version", "1.0.0");
const faults: Faults = {
    errorRate: Number(arg("error-rate", process.env.APP_ERROR_RATE ?? "0")),
    latencyMs: Number(arg("latency-ms", process.env.APP_LATENCY_MS ?? "0")),
    healthzStatus: Number(arg("healthz-status", "200")),
};

/** mulberry32: a 32-bit seeded PRNG, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const seed = Number(arg("seed", "1"));
if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${arg("seed", "1")}`);
const random = mulberry32(seed);

const counts = new Map<string, number>(); // `${path} ${status}` -> n
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const latency = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };

function count(path: string, status: number): void {
    const k = `${path} ${status}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
}

function observe(seconds: number): void {
    BUCKETS.forEach((le, i) => { if (seconds <= le) latency.buckets[i]++; });
    latency.sum += seconds;
    latency.count++;
}

function metrics(): string {
    const lines = [
        "# HELP http_requests_total Requests served, by path and status.",
        "# TYPE http_requests_total counter",
    ];
    for (const [k, n] of counts) {
        const [p, status] = k.split(" ");
        lines.push(`http_requests_total{version="${version}",path="${p}",status="${status}"} ${n}`);
    }
    lines.push("# HELP http_request_duration_seconds Latency of /.", "# TYPE http_request_duration_seconds histogram");
    BUCKETS.forEach((le, i) => lines.push(`http_request_duration_seconds_bucket{version="${version}",le="${le}"} ${latency.buckets[i]}`));
    lines.push(`http_request_duration_seconds_bucket{version="${version}",le="+Inf"} ${latency.count}`);
    lines.push(`http_request_duration_seconds_sum{version="${version}"} ${latency.sum}`);
    lines.push(`http_request_duration_seconds_count{version="${version}"} ${latency.count}`);
    return lines.join("\n") + "\n";
}

function send(res: http.ServerResponse, path: string, status: number, body: unknown, type = "application/json"): void {
    count(path, status);
    res.writeHead(status, { "content-type": type, "x-app-version": version });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
}

const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const p = url.pathname;
    if (p === "/healthz") return send(res, p, faults.healthzStatus, { status: faults.healthzStatus === 200 ? "OK" : "failing" });
    if (p === "/readyz") return send(res, p, 200, { status: "OK" });
    if (p === "/metrics") return send(res, p, 200, metrics(), "text/plain; version=0.0.4");
    if (p === "/admin/faults") {
        if (req.method === "POST") {
            let body = "";
            req.on("data", (c: Buffer) => (body += c.toString()));
            req.on("end", () => {
                const f = JSON.parse(body === "" ? "{}" : body) as Partial<Faults>;
                if (f.errorRate !== undefined) faults.errorRate = f.errorRate;
                if (f.latencyMs !== undefined) faults.latencyMs = f.latencyMs;
                if (f.healthzStatus !== undefined) faults.healthzStatus = f.healthzStatus;
                send(res, p, 200, faults);
            });
            return;
        }
        return send(res, p, 200, { ...faults, requests: Object.fromEntries(counts) });
    }
    if (p === "/token" && req.method === "POST") {
        req.resume();
        req.on("end", () => send(res, p, 200, { token: `token-${version}-${process.pid}`, expires_at: new Date(Date.now() + 60000).toISOString() }));
        return;
    }
    if (p !== "/") return send(res, p, 404, { error: "not found" });

    const started = process.hrtime.bigint();
    const fail = random() < faults.errorRate;
    const reply = () => {
        observe(Number(process.hrtime.bigint() - started) / 1e9);
        if (fail) return send(res, p, 500, { error: "injected fault", version });
        send(res, p, 200, { hostname: os.hostname(), version, message: `greetings from podinfo v${version}`, pid: process.pid });
    };
    if (faults.latencyMs > 0) setTimeout(reply, faults.latencyMs);
    else reply();
});

server.keepAliveTimeout = 30000;
server.listen(Number(arg("port", "0")), "127.0.0.1", () => {
    const addr = server.address() as { port: number };
    process.stdout.write(`listening ${addr.port}\n`);
});
process.on("SIGTERM", () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
});
